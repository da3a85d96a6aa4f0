import type { z } from 'zod';

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
