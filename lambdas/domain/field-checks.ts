/**
 * Checks of a value's fields, for reading what another process wrote (a stored job record, the
 * settings the stack passes a function) as its type. `FieldChecks<T>` asks for one check per field of
 * `T`, an `optional(...)` one exactly for the fields `T` may lack, so that a field added to a type
 * without its check fails to compile rather than being read unchecked. Free of zod: the workflow
 * tasks read job records and settings without the schema library.
 */

/** Whether a value is a `T`. */
export type Guard<T> = (value: unknown) => value is T;

/** The check of a field that may be absent: absent, or it passes `present`. */
export interface Optional<T> {
  readonly present: Guard<T>;
}

/** One check per field of `T`: `optional(guard)` for a field that may be absent, else a guard. */
export type FieldChecks<T> = {
  readonly [K in keyof T]-?: Record<never, never> extends Pick<T, K>
    ? Optional<Exclude<T[K], undefined>>
    : Guard<T[K]>;
};

type AnyCheck = Guard<unknown> | Optional<unknown>;

export const optional = <T>(present: Guard<T>): Optional<T> => ({ present });

export const isString: Guard<string> = (value): value is string => typeof value === 'string';
export const isNumber: Guard<number> = (value): value is number => typeof value === 'number';
export const isBoolean: Guard<boolean> = (value): value is boolean => typeof value === 'boolean';
export const isPlainObject: Guard<Record<string, unknown>> = (value): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** One of `values` (a kind, a status). */
export const oneOf =
  <const L extends string>(values: readonly L[]): Guard<L> =>
  (value): value is L =>
    typeof value === 'string' && (values as readonly string[]).includes(value);

export const arrayOf =
  <T>(item: Guard<T>): Guard<T[]> =>
  (value): value is T[] =>
    Array.isArray(value) && value.every(item);

/** An object whose every field passes its check. */
export const objectWith =
  <T>(checks: FieldChecks<T>): Guard<T> =>
  (value): value is T =>
    objectProblem(value, checks) === undefined;

/**
 * An object whose fields the contract's schema checked before it was stored (a request's nested
 * settings, such as seed 002's `training_kwargs`): read back, it is checked to be an object, and
 * its fields are the request's as they were accepted.
 */
export const parsedObject =
  <T extends object>(): Guard<T> =>
  (value): value is T =>
    isPlainObject(value);

/** What objectProblem says of a value that is no object (null, an array, a string). */
export const NOT_AN_OBJECT = '(not an object)';

/**
 * Why `value` is not an object whose every field passes its check: the first field that fails, or
 * NOT_AN_OBJECT; undefined when it is one. For the message of a reader that refuses it.
 */
export function objectProblem(
  value: unknown,
  checks: Readonly<Record<string, AnyCheck>>,
): string | undefined {
  return isPlainObject(value) ? invalidField(value, checks) : NOT_AN_OBJECT;
}

/** The first field of `value` that fails its check, or undefined when every one passes. */
export function invalidField(
  value: Readonly<Record<string, unknown>>,
  checks: Readonly<Record<string, AnyCheck>>,
): string | undefined {
  for (const [field, check] of Object.entries(checks)) {
    const fieldValue = value[field];
    const passes =
      typeof check === 'function' ? check(fieldValue) : fieldValue === undefined || check.present(fieldValue);
    if (!passes) return field;
  }
  return undefined;
}
