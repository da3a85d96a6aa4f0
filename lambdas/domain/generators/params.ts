/**
 * Parameter handling in Infinity's format (seed 000): defaults, validation with one
 * violation per problem, and random sampling. Pure functions over a generator's schema.
 */
import type { ParameterSpec, ParamValues, ParamViolation } from '../../../contracts/generators.ts';
import type { GeneratorSchema, OrderedPair } from './generator.ts';
import type { Rng } from './rng.ts';

type Scalar = string | number | boolean;

const TYPE_RULES: Readonly<
  Record<ParameterSpec['type'], { constraint: string; accepts(value: unknown): boolean }>
> = {
  // JSON types are checked strictly: "512" is not an int, 1.5 is not an int, 1 is not a bool.
  int: { constraint: 'an integer', accepts: (value) => typeof value === 'number' && Number.isInteger(value) },
  float: {
    constraint: 'a finite number',
    accepts: (value) => typeof value === 'number' && Number.isFinite(value),
  },
  str: { constraint: 'a string', accepts: (value) => typeof value === 'string' },
  bool: { constraint: 'a boolean', accepts: (value) => typeof value === 'boolean' },
};

/** Every parameter of the generator, in schema order: the given value where there is one, else the default. */
export function applyDefaults(generator: GeneratorSchema, values: ParamValues): ParamValues {
  const complete: ParamValues = {};
  for (const spec of generator.parameters) {
    const given = ownValue(values, spec.name);
    complete[spec.name] = given === undefined ? spec.default_value : given;
  }
  return complete;
}

/**
 * Every problem with one job's parameter values, or null when they are valid. Unspecified
 * parameters are fine (they take their defaults). Cross-field rules are checked only once every
 * parameter is valid on its own, so that they never report on a value that is already wrong.
 * Ordered pairs are no rule: either order is valid (see OrderedPair).
 */
export function validateParams(generator: GeneratorSchema, values: unknown): ParamViolation[] | null {
  const own = valueViolations(generator, values);
  if (own) return own;
  const complete = applyDefaults(generator, values as ParamValues);
  const violations = generator.validate?.(complete) ?? [];
  return violations.length > 0 ? violations : null;
}

/**
 * The first half of validateParams: the problems of each value on its own (not an object, an
 * unknown name, a wrong type, out of range, not a choice), without the rules across parameters.
 */
export function valueViolations(generator: GeneratorSchema, values: unknown): ParamViolation[] | null {
  if (!isRecord(values)) return [notAnObject(values)];
  const specs = new Map(generator.parameters.map((spec) => [spec.name, spec]));
  const violations: ParamViolation[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const spec = specs.get(name);
    const violation = spec ? checkOwnValue(generator, spec, value) : unsupported(generator, name, value);
    if (violation) violations.push(violation);
  }
  return violations.length > 0 ? violations : null;
}

/** Infinity's `validate` shape: one entry per job, null for a valid one. */
export function validateJobs(
  generator: GeneratorSchema,
  jobs: readonly unknown[],
): (ParamViolation[] | null)[] {
  return jobs.map((values) => validateParams(generator, values));
}

/** A complete, valid set of values drawn uniformly from each parameter's range or choices. */
export function randomParams(generator: GeneratorSchema, rng: Rng): ParamValues {
  return randomizeUnspecified(generator, {}, rng);
}

/**
 * The user's values over random ones. Every parameter is sampled, given or not, so that the value
 * drawn for one parameter does not depend on which others the user fixed. Ordered pairs are then
 * drawn in order around the user's values (min_objects fixed at 40 draws max_objects from [40, 50]):
 * a swapped pair is valid, but a user who fixes one bound means it as that bound.
 *
 * The result passes validateParams whenever some draw does, or the user's values completed with
 * defaults do. Otherwise it holds the user's values (unknown keys included) so that validation
 * still reports them; callers that promise valid sets use drawParamSets.
 */
export function randomizeUnspecified(generator: GeneratorSchema, values: ParamValues, rng: Rng): ParamValues {
  // A generator's validate hook may only see values that are each valid on their own (it reads
  // them as typed values), so wrong values get one draw and no retries against the hook.
  if (valueViolations(generator, values) !== null) return drawOnce(generator, values, rng);
  return drawValid(generator, values, rng).set;
}

/**
 * A set that keeps `values` (each valid on its own) and passes validateParams: a generator's own
 * cross-field rule (e.g. a pixel budget) is met by drawing again, and when the draws keep missing a
 * rule few random sets meet, the user's values with defaults may meet it. When neither does, the
 * last draw, marked invalid, so that validation can say why.
 */
function drawValid(
  generator: GeneratorSchema,
  values: ParamValues,
  rng: Rng,
): { set: ParamValues; valid: boolean } {
  let drawn: ParamValues = {};
  for (let attempt = 0; attempt < MAX_DRAWS; attempt++) {
    drawn = drawOnce(generator, values, rng);
    if (validateParams(generator, drawn) === null) return { set: drawn, valid: true };
  }
  const completed = applyDefaults(generator, values);
  if (validateParams(generator, completed) === null) return { set: completed, valid: true };
  return { set: drawn, valid: false };
}

/** `n` valid sets keeping the user's values, or why they cannot be kept. */
export type ParamSetsDraw = { sets: ParamValues[] } | { violations: ParamViolation[] };

/**
 * `n` random complete sets that keep the user's values and each pass validateParams; or, when
 * no valid set can keep them, the violations validateParams reports for them, which are exactly
 * what a job run submitted with these values is refused with. Values that a submission refuses
 * only for a rule across parameters (crops over the crop budget with the default crop_size) are
 * kept when a draw meets the rule with the rest.
 */
export function drawParamSets(generator: GeneratorSchema, kept: unknown, n: number, rng: Rng): ParamSetsDraw {
  const wrong = valueViolations(generator, kept);
  if (wrong) return { violations: wrong };
  const values = kept as ParamValues;
  const sets: ParamValues[] = [];
  for (let index = 0; index < n; index++) {
    const { set, valid } = drawValid(generator, values, rng);
    // Neither the draws nor the defaults meet the rules across parameters with these values.
    if (!valid)
      return { violations: validateParams(generator, values) ?? validateParams(generator, set) ?? [] };
    sets.push(set);
  }
  return { sets };
}

const MAX_DRAWS = 64;

function drawOnce(generator: GeneratorSchema, values: ParamValues, rng: Rng): ParamValues {
  const sampled: ParamValues = {};
  for (const spec of generator.parameters) sampled[spec.name] = sampleValue(spec, rng);

  const fixed = new Set(Object.keys(values).filter((name) => values[name] !== undefined));
  const merged: ParamValues = { ...sampled };
  for (const name of fixed) setOwn(merged, name, values[name]);
  for (const pair of generator.orderedPairs ?? []) repairPair(generator, pair, merged, fixed, rng);
  return merged;
}

function sampleValue(spec: ParameterSpec, rng: Rng): Scalar {
  const { min, max, choices } = spec.options ?? {};
  if (choices && choices.length > 0) return rng.pick(choices);
  if (spec.type === 'bool') return rng.pick([true, false]);
  if (min !== undefined && max !== undefined) return sampleNumber(spec, min, max, rng);
  // An open range has no uniform distribution; the default is the only honest sample.
  return spec.default_value;
}

function sampleNumber(spec: ParameterSpec, min: number, max: number, rng: Rng): number {
  return spec.type === 'int' ? rng.int(Math.ceil(min), Math.floor(max)) : rng.between(min, max);
}

function repairPair(
  generator: GeneratorSchema,
  pair: OrderedPair,
  values: ParamValues,
  fixed: ReadonlySet<string>,
  rng: Rng,
): void {
  const lower = values[pair.lower];
  const upper = values[pair.upper];
  if (typeof lower !== 'number' || typeof upper !== 'number' || lower <= upper) return;

  const lowerFixed = fixed.has(pair.lower);
  const upperFixed = fixed.has(pair.upper);
  if (!lowerFixed && !upperFixed) {
    values[pair.lower] = upper;
    values[pair.upper] = lower;
    return;
  }
  if (lowerFixed && upperFixed) return; // the user's own conflict: validation reports it
  const free = lowerFixed ? pair.upper : pair.lower;
  const spec = generator.parameters.find((candidate) => candidate.name === free);
  if (!spec) return;
  const min = lowerFixed ? lower : (spec.options?.min ?? upper);
  const max = lowerFixed ? (spec.options?.max ?? lower) : upper;
  if (min <= max) values[free] = sampleNumber(spec, min, max, rng);
}

/** The generator's own check for a parameter that has one, else its declared type's. */
function checkOwnValue(
  generator: GeneratorSchema,
  spec: ParameterSpec,
  value: unknown,
): ParamViolation | undefined {
  const own = generator.valueChecks?.get(spec.name);
  return own ? own(value) : checkValue(spec, value);
}

function checkValue(spec: ParameterSpec, value: unknown): ParamViolation | undefined {
  const rule = TYPE_RULES[spec.type];
  if (!rule.accepts(value)) {
    // JSON has no infinities, but a number beyond a double's range (1e400) parses to one, which
    // JSON would write back as null: the answer names it as text.
    const reported = typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
    return violation(spec.name, 'type', reported, rule.constraint, describeJson(value));
  }
  const { min, max, choices } = spec.options ?? {};
  if (
    typeof value === 'number' &&
    ((min !== undefined && value < min) || (max !== undefined && value > max))
  ) {
    return violation(spec.name, 'range', value, rangeConstraint(min, max), show(value));
  }
  if (choices && !choices.includes(value as Scalar)) {
    return violation(spec.name, 'choice', value, `one of: ${choices.join(', ')}`, show(value));
  }
  return undefined;
}

function unsupported(generator: GeneratorSchema, name: string, value: unknown): ParamViolation {
  const known = generator.parameters.map((spec) => spec.name).join(', ');
  return {
    parameter: name,
    kind: 'unsupported',
    value,
    constraint: `one of: ${known}`,
    message: `${name} is not a parameter of ${generator.name} (got ${show(value)}); known parameters: ${known}`,
  };
}

function notAnObject(value: unknown): ParamViolation {
  const constraint = 'an object of parameter values';
  return {
    parameter: '',
    kind: 'type',
    value,
    constraint,
    message: `parameter values must be ${constraint}, got ${describeJson(value)}`,
  };
}

function violation(
  parameter: string,
  kind: ParamViolation['kind'],
  value: unknown,
  constraint: string,
  shown: string,
): ParamViolation {
  return { parameter, kind, value, constraint, message: `${parameter} must be ${constraint}, got ${shown}` };
}

function rangeConstraint(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `>= ${min} and <= ${max}`;
  return min !== undefined ? `>= ${min}` : `<= ${max}`;
}

const MAX_SHOWN_CHARS = 60;

/** The value as it appeared in JSON, cut short so that a huge value cannot flood the message. */
function show(value: unknown): string {
  const text = typeof value === 'number' || typeof value === 'bigint' ? String(value) : jsonText(value);
  return text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS)}…` : text;
}

/** JSON text where there is one; callers inside the process can pass values JSON cannot write. */
function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function describeJson(value: unknown): string {
  return `${show(value)} (${jsonType(value)})`;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return "a number beyond a double's range";
    return Number.isInteger(value) ? 'an integer' : 'a number';
  }
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Plain assignment would treat a user's "__proto__" key as the prototype and lose it. */
function setOwn(record: ParamValues, name: string, value: unknown): void {
  Object.defineProperty(record, name, { value, enumerable: true, writable: true, configurable: true });
}

function ownValue(values: ParamValues, name: string): unknown {
  return Object.hasOwn(values, name) ? values[name] : undefined;
}
