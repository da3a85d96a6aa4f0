/**
 * The contract's plain values, free of zod: the workflow tasks, the authorizer and the job store
 * use them without loading the schema library (about 700 KB of a Lambda bundle). The schemas in
 * jobs.ts and errors.ts are built from these, so each list is still written once.
 */
import { familyOfRoutes, type RouteFamily } from './families/index.ts';

/** The one lifecycle every asynchronous operation shares: one jobs engine for every family. */
export const JOB_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

/** Families of jobs, from the registered families (contracts/families/): `image` is one text-to-image job. */
export { JOB_KINDS, type JobKind } from './families/index.ts';

/**
 * Machine-readable error codes. The HTTP status of each is fixed here, once, so that handlers,
 * the OpenAPI document and the SDK agree on it.
 */
export const ERROR_STATUS = {
  INVALID_PARAMETERS: 400,
  INVALID_REQUEST: 400,
  /** Seed 002's routes: input that fails the schema (FastAPI's 422). */
  VALIDATION_ERROR: 422,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ILLEGAL_STATE: 409,
  REQUEST_IN_FLIGHT: 409,
  PAYLOAD_TOO_LARGE: 413,
  IDEMPOTENCY_KEY_REUSED: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  /** The model behind an endpoint failed on this request (its reason in the message). */
  MODEL_ERROR: 502,
  UNAVAILABLE: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * How a family of routes writes its errors (each family keeps its seed's documented shape).
 * `envelope`: seed 001's `{"error": {"code", "message", "details"}}`. `seed002`: LaxAI's
 * `{"error": "<type>", "message", "details"}`, the type being the code in lower case
 * (`validation_error`, `not_found`), and every input that fails its schema (a body that is not JSON
 * included) a 422, as FastAPI answers it. `seed003`: the inference routes' `{time, request, error}`
 * wrapper, with the code in lower case beside the message; a model's failure is the seed's 500.
 * `seed004`: the avatars API's FastAPI `{"detail": {"message", "code", "details"}}`, which the
 * avatars client reads (`detail.message`).
 */
export type ErrorFormat = 'envelope' | 'seed002' | 'seed003' | 'seed004';

/** The error format of a route family (contracts/routes.ts `RouteFamily`): its family's. */
export const errorFormatOf = (routeFamily: RouteFamily): ErrorFormat =>
  familyOfRoutes(routeFamily).errorFormat;

/** Codes a format answers as another code (and so another status). */
const ERROR_CODE_IN_FORMAT: Readonly<Record<ErrorFormat, Partial<Record<ErrorCode, ErrorCode>>>> = {
  envelope: {},
  seed002: { INVALID_PARAMETERS: 'VALIDATION_ERROR', INVALID_REQUEST: 'VALIDATION_ERROR' },
  seed003: { MODEL_ERROR: 'INTERNAL' },
  seed004: {},
};

/** The code an error is answered with in a format, and so its status (`ERROR_STATUS`). */
export const codeInFormat = (code: ErrorCode, format: ErrorFormat): ErrorCode =>
  ERROR_CODE_IN_FORMAT[format][code] ?? code;

/** A job id: 26 Crockford base32 characters (a ULID). */
export const JOB_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Seed 001's WebSocket endpoint: `ws(s)://<host>/api/v1/ws/generation?api_key=<key>`. */
export const WEBSOCKET_PATH = '/api/v1/ws/generation';

/**
 * API Gateway's documented WebSocket quotas, which the local platform applies too: a frame
 * holds at most 32 KB (every server message fits in one), a client message at most 128 KB (a larger
 * one closes the connection with 1009), a connection lives at most 2 h and is closed after 10 min
 * without a message from the client.
 */
export const WEBSOCKET_LIMITS = {
  maxServerMessageBytes: 32 * 1024,
  maxClientMessageBytes: 128 * 1024,
  connectionSeconds: 2 * 60 * 60,
  idleSeconds: 10 * 60,
} as const;
