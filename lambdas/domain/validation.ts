/**
 * What a zod schema's issues say to a caller: the 400 every route and the WebSocket API answer for
 * input that failed its schema, and seed 000's parameter violations for `param_values`. In the
 * domain because the domain validates too (model runs in a batch, messages on the socket), and the
 * HTTP layer imports it from here.
 */
import type { z } from 'zod';
import type { ParamViolation } from '../../contracts/generators.ts';
import { DomainError } from './errors.ts';

export interface IssueDetail {
  /** Dotted path of the offending field, e.g. `job_runs.0.name`; empty for the whole part. */
  parameter: string;
  message: string;
  /** The zod issue code, e.g. `invalid_type`, `too_big`. */
  constraint: string;
  /** The offending value when it is short enough to echo back. */
  value?: unknown;
}

const MAX_ISSUES = 20;

export function describeIssues(error: z.ZodError, input: unknown): IssueDetail[] {
  return error.issues.slice(0, MAX_ISSUES).map((issue) => {
    const path = issue.path.map(String);
    const detail: IssueDetail = { parameter: path.join('.'), message: issue.message, constraint: issue.code };
    const value = valueAt(input, issue.path);
    if (value === null || ['number', 'boolean'].includes(typeof value)) detail.value = value;
    else if (typeof value === 'string')
      detail.value = value.length <= 100 ? value : `${value.slice(0, 100)}…`;
    return detail;
  });
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.hasOwn(current, key)) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/**
 * The first problem in seed 001's shape (`details: {parameter, value, constraint}`), with the
 * constraint written for a person: `64 <= width <= 1024` rather than a zod code.
 */
export function firstIssue(error: z.ZodError, input: unknown): Record<string, unknown> | undefined {
  const issue = error.issues[0];
  const detail = describeIssues(error, input)[0];
  if (!issue || !detail) return undefined;
  return {
    parameter: detail.parameter,
    ...('value' in detail ? { value: detail.value } : {}),
    constraint: readableConstraint(issue, detail.parameter || 'value'),
  };
}

/** Infinity's kind of a parameter problem, for a zod issue. */
const VIOLATION_KIND: Partial<Record<z.core.$ZodIssue['code'], ParamViolation['kind']>> = {
  too_big: 'range',
  too_small: 'range',
  not_multiple_of: 'range',
  invalid_value: 'choice',
  unrecognized_keys: 'unsupported',
};

/**
 * Every issue as seed 000's parameter violations (`{parameter, kind, value, constraint, message}`),
 * for `param_values` checked by a zod schema rather than a generator's parameter specs. An unknown
 * key is reported once per key, under its own name, as the specs' validation does.
 */
export function paramViolations(error: z.ZodError, input: unknown): ParamViolation[] {
  return error.issues.flatMap((issue): ParamViolation[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        parameter: key,
        kind: 'unsupported',
        value: valueAt(input, [key]),
        constraint: 'a parameter of this generator',
        message: `${key} is not a parameter of this generator`,
      }));
    }
    const parameter = issue.path.map(String).join('.');
    return [
      {
        parameter,
        kind: VIOLATION_KIND[issue.code] ?? 'type',
        value: valueAt(input, issue.path),
        constraint: readableConstraint(issue, parameter || 'value'),
        message: issue.message,
      },
    ];
  });
}

function readableConstraint(issue: z.core.$ZodIssue, name: string): string {
  switch (issue.code) {
    case 'too_big':
      return `${name} ${issue.inclusive === false ? '<' : '<='} ${issue.maximum}`;
    case 'too_small':
      return `${name} ${issue.inclusive === false ? '>' : '>='} ${issue.minimum}`;
    case 'not_multiple_of':
      return `${name} a multiple of ${issue.divisor}`;
    case 'invalid_type':
      return `${name} is a ${issue.expected}`;
    case 'invalid_value':
      return `${name} is one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'unrecognized_keys':
      return `no other keys than the documented ones (${issue.keys.join(', ')} is not one)`;
    default:
      return issue.message;
  }
}

/**
 * The 400 for input that failed its schema, as every route (and the WebSocket API) answers it (seed
 * 002's routes answer it as a 422 `validation_error`: contracts/vocabulary.ts `ErrorFormat`). A
 * message that already names its parameter (the seed 001 contracts' own) reads as the seed's
 * example does: "Invalid parameter: width must be between 64 and 1024".
 */
export function invalidInput(
  error: z.ZodError,
  input: unknown,
  location: 'path' | 'query' | 'body' | 'header' | 'message',
): DomainError {
  const issues = describeIssues(error, input);
  const first = issues[0];
  const named = first?.parameter && first.message.startsWith(first.parameter);
  const message = !first
    ? `invalid ${location}`
    : named
      ? `Invalid parameter: ${first.message}`
      : `invalid ${location}: ${first.parameter || location}: ${first.message}`;
  return new DomainError('INVALID_PARAMETERS', message, { location, ...firstIssue(error, input), issues });
}
