/**
 * What a call to one route takes and gives, derived from the route table: the inputs are the
 * `z.input` of the route's params, query and body schemas, the output the `z.output` of its response
 * schema. Nothing here restates a shape; a change to a contract changes these types with it.
 */
import type { z } from 'zod';
import type { RouteDef } from '../../contracts/routes.ts';

/** Any route of the table. */
export type AnyRoute = RouteDef;

type Present<S> = Exclude<S, undefined>;
type InputOf<S> = [Present<S>] extends [never] ? never : z.input<Present<S> & z.ZodType>;

/**
 * A query value as the caller writes it. Coerced schemas (`z.coerce.number()`) accept `unknown`;
 * a query string can only carry scalars, so that is what the type asks for.
 */
type QueryValue<T> = unknown extends T ? string | number | boolean | undefined : T;
type QueryInput<T> = [T] extends [never] ? never : { [K in keyof T]: QueryValue<T[K]> };

/** The path parameters of a route (`{ id }` for `/api/v1/jobs/{id}`); never when it has none. */
export type ParamsOf<R extends AnyRoute> = InputOf<R['params']>;
/** The query parameters of a route; never when it takes none. */
export type QueryOf<R extends AnyRoute> = QueryInput<InputOf<R['query']>>;
/** The JSON body of a route; never when it takes none. */
export type BodyOf<R extends AnyRoute> = InputOf<R['body']>;
/**
 * The parsed success answer of a route: its 200/202 body, or for a route that may also answer 202
 * (`accepted`, e.g. `POST /generate` when the image is not ready in time) either body.
 */
export type ResponseOf<R extends AnyRoute> = z.output<R['response']['schema']> | AcceptedOf<R>;

type AcceptedOf<R extends AnyRoute> = [NonNullable<R['accepted']>] extends [never]
  ? never
  : NonNullable<R['accepted']> extends { schema: infer S extends z.ZodType }
    ? z.output<S>
    : never;

/** Options any call accepts. */
export interface CallOptions {
  /**
   * Makes a submission safe to retry. The client generates one for every idempotent route; pass your
   * own to make a retry of the whole program (not only of one request) replay the first answer, or
   * `null` to send none (a request then is not retried after the server may have acted on it).
   */
  idempotencyKey?: string | null;
  /** Cancels the call, including its retries and their waits. */
  signal?: AbortSignal;
  /** This call's per-attempt timeout, instead of the client's. */
  timeoutMs?: number;
}

/** An input with nothing in it: what an all-optional part accepts. */
type EmptyInput = Record<never, never>;

/** A part of the input: required when its schema requires something, optional when all of it is optional, absent when the route has none. */
type Part<K extends string, T> = [T] extends [never]
  ? { [P in K]?: undefined }
  : EmptyInput extends T
    ? { [P in K]?: T }
    : { [P in K]: T };

/** Everything one call of route `R` takes. */
export type RouteInput<R extends AnyRoute> = Part<'params', ParamsOf<R>> &
  Part<'query', QueryOf<R>> &
  Part<'body', BodyOf<R>> &
  CallOptions;

/** The input as a rest argument: optional when the route needs nothing, required otherwise. */
export type RouteArgs<R extends AnyRoute> =
  EmptyInput extends RouteInput<R> ? [input?: RouteInput<R>] : [input: RouteInput<R>];
