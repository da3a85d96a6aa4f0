/**
 * Reads job parameters for `batch submit --params`: JSON Lines (one object per job, blank lines
 * allowed), or one JSON array of objects. Every problem names its line, so a 1,000-line file can be
 * fixed without guessing.
 */
import type { ParamValues } from '../resources.ts';
import { UsageError } from './exit-codes.ts';
import { plural } from './format.ts';

/** One job's parameters and the line of the file it came from (1-based). */
export interface ParamsEntry {
  line: number;
  values: ParamValues;
}

export function parseParamsText(text: string, source: string): ParamsEntry[] {
  const body = text.replace(/^\uFEFF/, '');
  const entries = body.trimStart().startsWith('[') ? parseArray(body, source) : parseLines(body, source);
  if (entries.length === 0) throw new UsageError(`${source} holds no job parameters`);
  return entries;
}

function parseLines(text: string, source: string): ParamsEntry[] {
  const entries: ParamsEntry[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      problems.push(`${source}:${line}: not JSON (${(error as Error).message})`);
      return;
    }
    if (!isObject(value)) {
      problems.push(`${source}:${line}: expected an object of parameter values, got ${describe(value)}`);
      return;
    }
    entries.push({ line, values: value });
  });
  if (problems.length > 0)
    throw new UsageError(`${source} has ${plural(problems.length, 'bad line')}`, problems);
  return entries;
}

function parseArray(text: string, source: string): ParamsEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${source} starts with '[' but is not a JSON array: ${(error as Error).message}`);
  }
  if (!Array.isArray(value)) throw new UsageError(`${source} is not a JSON array`);
  const problems = value.flatMap((item, index) =>
    isObject(item)
      ? []
      : [`${source}[${index}]: expected an object of parameter values, got ${describe(item)}`],
  );
  if (problems.length > 0)
    throw new UsageError(`${source} has ${plural(problems.length, 'bad entry', 'bad entries')}`, problems);
  // In an array the "line" is the entry's position, so messages still point at the right job.
  return (value as ParamValues[]).map((values, index) => ({ line: index + 1, values }));
}

function isObject(value: unknown): value is ParamValues {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? 'a string' : `a ${typeof value}`;
}
