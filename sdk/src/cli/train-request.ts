/**
 * The request of `train start`: a JSON file (or stdin) and the flags for its common fields, merged,
 * then checked here against the contract's own `TrainRequest` schema, so that a bad value is reported
 * with its parameter's name and costs no request.
 */
import type { z } from 'zod';
import { TrainRequest } from '../../../contracts/training.ts';
import type { TrainRequest as TrainRequestInput } from '../resources.ts';
import { UsageError } from './exit-codes.ts';

/** The flags of `train start` that shape the request. */
export interface TrainRequestFlags {
  name?: string | undefined;
  batch?: string | undefined;
  prefix?: string | undefined;
  epochs?: string | undefined;
  set?: string[] | undefined;
  tag?: string[] | undefined;
  resume?: boolean | undefined;
  'no-resume'?: boolean | undefined;
}

type JsonObject = Record<string, unknown>;

/** Short names of the request's sections in `--set` (`training.margin`, `model.embedding_dim`). */
const SECTION_ALIASES: Record<string, string> = { training: 'training_kwargs', model: 'model_kwargs' };

/** Names that would reach an object's prototype rather than the request. */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** One problem of the request: its parameter's dotted path and what is wrong with it. */
export interface TrainRequestProblem {
  parameter: string;
  message: string;
}

/**
 * The request the file (`base`, already parsed) and the flags describe: the flags win over the
 * file; `--tag` adds to its tags. Only mistakes in the flags' own syntax are thrown here; values are
 * checked by `checkTrainRequest`.
 */
export function buildTrainRequest(base: JsonObject, flags: TrainRequestFlags): JsonObject {
  const request: JsonObject = structuredClone(base);
  if (flags.name !== undefined) request.custom_name = flags.name;
  if (flags.batch !== undefined && flags.prefix !== undefined) {
    throw new UsageError('give the dataset with one of --batch ID and --prefix datasets/…/, not both');
  }
  if (flags.batch !== undefined) request.dataset = { batch_id: flags.batch };
  if (flags.prefix !== undefined) request.dataset = { s3_prefix: flags.prefix };
  if (flags.epochs !== undefined)
    setPath(request, ['training_kwargs', 'num_epochs'], looseValue(flags.epochs));
  for (const assignment of flags.set ?? []) {
    const equals = assignment.indexOf('=');
    const key = assignment.slice(0, Math.max(0, equals));
    if (equals <= 0 || key.split('.').some((part) => part === '')) {
      throw new UsageError(
        `--set takes SECTION.NAME=VALUE (training.margin=0.3, model.embedding_dim=128), got ${JSON.stringify(assignment)}`,
      );
    }
    const [section = '', ...rest] = key.split('.');
    if ([section, ...rest].some((part) => UNSAFE_KEYS.has(part))) {
      throw new UsageError(`--set cannot set ${JSON.stringify(key)}`);
    }
    const path = [SECTION_ALIASES[section] ?? section, ...rest];
    setPath(request, path, valueFor(path, assignment.slice(equals + 1)));
  }
  if (flags.tag !== undefined && flags.tag.length > 0) {
    const kept = Array.isArray(request.wandb_tags) ? request.wandb_tags : [];
    request.wandb_tags = [...new Set([...kept, ...flags.tag])];
  }
  if (flags.resume && flags['no-resume']) throw new UsageError('give one of --resume and --no-resume');
  if (flags.resume) request.resume_from_checkpoint = true;
  if (flags['no-resume']) request.resume_from_checkpoint = false;
  return request;
}

/**
 * Checks a request with the schema the server parses it with: the request as given (to send) and as
 * the server will read it (every default filled in), or every problem, each under its parameter.
 */
export function checkTrainRequest(
  request: JsonObject,
):
  | { ok: true; request: TrainRequestInput; parsed: TrainRequest }
  | { ok: false; problems: TrainRequestProblem[] } {
  const parsed = TrainRequest.safeParse(request);
  if (parsed.success) return { ok: true, request: request as TrainRequestInput, parsed: parsed.data };
  return { ok: false, problems: parsed.error.issues.flatMap((issue) => problemsOf(issue)) };
}

function problemsOf(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[] = []): TrainRequestProblem[] {
  const path = [...prefix, ...issue.path].map(String);
  if (issue.code === 'unrecognized_keys') {
    const where = path.length > 0 ? path.join('.') : 'the request';
    return issue.keys.map((key) => ({
      parameter: [...path, key].join('.'),
      message: `not a parameter of ${where}`,
    }));
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // The alternative that came closest (fewest problems) says best what is wrong.
    const closest = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? [];
    if (closest.length > 0) return closest.flatMap((inner) => problemsOf(inner, path));
  }
  return [{ parameter: path.join('.') || '(request)', message: issue.message }];
}

/** A `--set` value: JSON when it parses, else the text; a comma list where the contract wants a list. */
function valueFor(path: readonly string[], raw: string): unknown {
  const value = looseValue(raw);
  if (typeof value === 'string' && expectsArray(path)) {
    return value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }
  return value;
}

function looseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Whether the contract's field at `path` is a list (`model_kwargs.attention_layers`, `wandb_tags`). */
function expectsArray(path: readonly string[]): boolean {
  let schema: unknown = TrainRequest;
  for (const key of path) {
    schema = unwrap(schema);
    const shape = (schema as { shape?: Record<string, unknown> }).shape;
    if (!shape || !(key in shape)) return false;
    schema = shape[key];
  }
  return (unwrap(schema) as { def?: { type?: string } }).def?.type === 'array';
}

/** A schema without its `.default()` / `.optional()` wrappers. */
function unwrap(schema: unknown): unknown {
  let current = schema as { def?: { type?: string; innerType?: unknown } };
  while (current.def && ['default', 'optional', 'nullable', 'prefault'].includes(current.def.type ?? '')) {
    current = current.def.innerType as typeof current;
  }
  return current;
}

/** Sets `target[path…]`, making (or replacing non-object) sections on the way. */
function setPath(target: JsonObject, path: readonly string[], value: unknown): void {
  let current = target;
  for (const key of path.slice(0, -1)) {
    const next = current[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) current[key] = {};
    current = current[key] as JsonObject;
  }
  current[path.at(-1) ?? ''] = value;
}

/** The request read from `--file` text: one JSON object. */
export function parseTrainRequestText(text: string, source: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new UsageError(`${source} is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${source} must hold one JSON object: the training request`);
  }
  return value as JsonObject;
}
