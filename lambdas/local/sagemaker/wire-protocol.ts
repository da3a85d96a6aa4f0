/**
 * SageMaker's wire protocols, as the AWS SDK v3 clients serialize and deserialize them: one HTTP
 * server on 127.0.0.1 that the clients reach through an `endpoint` override, its routing, the
 * parsing and validation of requests, and errors shaped the way SageMaker sends them. What the
 * operations do is the host's (host.ts); this file only speaks the protocols.
 *
 * - SageMaker Runtime `InvokeEndpointAsync` (restJson1): `POST /endpoints/{EndpointName}/async-invocations`,
 *   its members in `X-Amzn-SageMaker-*` headers and an optional inline body.
 * - SageMaker `DescribeEndpoint` (awsJson1_1): `POST /` with `X-Amz-Target: SageMaker.DescribeEndpoint`
 *   and `{"EndpointName": ...}`.
 * - Errors: restJson1 names the error type in `x-amzn-ErrorType` and sends `{"message": ...}`;
 *   awsJson1_1 puts it in the body as `__type`. A throttle is 400 `ThrottlingException` with the body
 *   `{"message":null}`, as SageMaker answers one, which the SDK surfaces as an error of that name with
 *   status 400 and retries as a throttle. Validation failures use AWS's own wording
 *   ("1 validation error detected: Value ... at ... failed to satisfy constraint: ...").
 *
 * Real-time inference (InvokeEndpoint, its response stream, the inference-component operations) is
 * routed through `SageMakerOperations.route` to realtime-protocol.ts, on this same server.
 *
 * Not emulated: SigV4 checks, `IncludeInferenceResponseIn`.
 */
import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { constraintMessage, NOT_NULL } from '../support/aws-validation.ts';
import { tryParseS3Uri } from '../support/s3.ts';

/** Every local server of the emulated SageMaker listens here. */
export const HOST = '127.0.0.1';
/** SageMaker's limits and defaults for InvokeEndpointAsync. */
const MAX_INLINE_BODY_BYTES = 128_000;
const DEFAULT_TTL_SECONDS = 21_600;
const MIN_TTL_SECONDS = 60;
const DEFAULT_INVOCATION_TIMEOUT_SECONDS = 900;
const MAX_INVOCATION_TIMEOUT_SECONDS = 3600;
const MAX_INFERENCE_ID_CHARS = 64;
/** SageMaker's pattern for endpoint names. */
export const ENDPOINT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

export class AwsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    /** The body's `message`; SageMaker's throttle sends null. */
    readonly bodyMessage: string | null,
    /** awsJson1_1 names the type in the body (`__type`); restJson1 in `x-amzn-ErrorType`. */
    readonly protocol: 'rest' | 'json' = 'rest',
    /** The error's other members, beside `message` (ModelError's `OriginalStatusCode`...). */
    readonly members: Record<string, unknown> = {},
  ) {
    super(bodyMessage ?? type);
    this.name = type;
  }
}

/** InvokeEndpointAsync's members, as its headers and body carry them, validated. */
export interface InvokeEndpointAsyncInput {
  inferenceId: string;
  accept?: string;
  contentType?: string;
  customAttributes?: string;
  inputLocation?: string;
  inlineBody?: Uint8Array;
  ttlSeconds: number;
  timeoutSeconds: number;
  outputPathExtension?: string;
  filename?: string;
}

/** The 202 InvokeEndpointAsync answers with, once the request is queued. */
export interface InvokeEndpointAsyncOutput {
  inferenceId: string;
  outputLocation: string;
  failureLocation?: string;
  /** Called once the 202 is written: the request's work starts after its answer. */
  answered?: () => void;
}

/** What the server answers; each operation throws an AwsError to answer with it. */
export interface SageMakerOperations {
  /**
   * Operations routed elsewhere (real-time inference, realtime-protocol.ts): answers the request and
   * resolves true when it is one of them; tried before the routes here.
   */
  route?(request: IncomingMessage, response: ServerResponse, path: string, body: Buffer): Promise<boolean>;
  invokeEndpointAsync(name: string, headers: IncomingHttpHeaders, body: Buffer): InvokeEndpointAsyncOutput;
  /** DescribeEndpoint's answer, serialized as it is. */
  describeEndpoint(name: string): unknown;
}

/** The emulator's HTTP server: routes each request to its operation and writes the answer or the error. */
export function createSageMakerServer(
  operations: SageMakerOperations,
  log: (message: string, details?: Record<string, unknown>) => void,
): Server {
  return createServer((request, response) => {
    route(operations, request, response).catch((error: unknown) => {
      log('request failed', { error: String(error) });
      if (!response.headersSent)
        sendAwsError(response, new AwsError(500, 'InternalFailure', 'internal error'));
      else response.destroy();
    });
  });
}

async function route(
  operations: SageMakerOperations,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const body = await readBody(request);
  const path = (request.url ?? '/').split('?')[0] ?? '/';
  try {
    if (await operations.route?.(request, response, path, body)) return;
    const invoke = /^\/endpoints\/([^/]+)\/async-invocations$/.exec(path);
    if (request.method === 'POST' && invoke) {
      const output = operations.invokeEndpointAsync(
        decodeURIComponent(invoke[1] ?? ''),
        request.headers,
        body,
      );
      sendJson(response, 202, 'application/json', JSON.stringify({ InferenceId: output.inferenceId }), {
        'X-Amzn-SageMaker-OutputLocation': output.outputLocation,
        ...(output.failureLocation === undefined
          ? {}
          : { 'X-Amzn-SageMaker-FailureLocation': output.failureLocation }),
      });
      output.answered?.();
      return;
    }
    const target = request.headers['x-amz-target'];
    if (request.method === 'POST' && path === '/' && typeof target === 'string') {
      if (target !== 'SageMaker.DescribeEndpoint') {
        throw new AwsError(400, 'UnknownOperationException', `${target} is not emulated here`, 'json');
      }
      const answer = operations.describeEndpoint(parseDescribeEndpoint(body));
      sendJson(response, 200, 'application/x-amz-json-1.1', JSON.stringify(answer));
      return;
    }
    throw new AwsError(404, 'UnknownOperationException', `${request.method} ${path} is not emulated here`);
  } catch (error) {
    if (!(error instanceof AwsError)) throw error;
    sendAwsError(response, error);
  }
}

/**
 * InvokeEndpointAsync's headers and body as the request's members, validated as SageMaker validates
 * them: exactly one of an S3 input location and an inline body (at most 128,000 bytes), the TTL and
 * timeout within their ranges, an inference id of at most 64 characters (a fresh one when absent).
 */
export function parseInvokeEndpointAsync(
  headers: IncomingHttpHeaders,
  body: Buffer,
): InvokeEndpointAsyncInput {
  const header = (suffix: string) => {
    const value = headers[`x-amzn-sagemaker-${suffix}`];
    return typeof value === 'string' ? value : undefined;
  };
  const inputLocation = header('inputlocation');
  const inlineBody = body.length > 0 ? new Uint8Array(body) : undefined;
  if (inputLocation === undefined && inlineBody === undefined) {
    throw validation('Either InputLocation or Body must be provided.');
  }
  if (inputLocation !== undefined && inlineBody !== undefined) {
    throw validation('InputLocation and Body are mutually exclusive: provide exactly one of them.');
  }
  if (inlineBody && inlineBody.length > MAX_INLINE_BODY_BYTES) {
    throw validation(`Body must be at most ${MAX_INLINE_BODY_BYTES} bytes; put larger inputs in S3.`);
  }
  if (inputLocation !== undefined && !tryParseS3Uri(inputLocation)) {
    throw validation(`InputLocation must be an s3:// URI here, got ${inputLocation}`);
  }
  const ttlSeconds = secondsHeader(
    header('requestttlseconds'),
    'requestTTLSeconds',
    MIN_TTL_SECONDS,
    DEFAULT_TTL_SECONDS,
  );
  const timeoutSeconds = secondsHeader(
    header('invocationtimeoutseconds'),
    'invocationTimeoutSeconds',
    1,
    MAX_INVOCATION_TIMEOUT_SECONDS,
  );
  const inferenceId = header('inference-id') ?? randomUUID();
  if (inferenceId.length > MAX_INFERENCE_ID_CHARS) {
    throw constraint(
      'inferenceId',
      inferenceId,
      `Member must have length less than or equal to ${MAX_INFERENCE_ID_CHARS}`,
    );
  }
  return {
    inferenceId,
    ...optional('accept', header('accept')),
    ...optional('contentType', header('content-type')),
    ...optional('customAttributes', header('custom-attributes')),
    ...optional('inputLocation', inputLocation),
    ...optional('inlineBody', inlineBody),
    ttlSeconds: ttlSeconds ?? DEFAULT_TTL_SECONDS,
    timeoutSeconds: timeoutSeconds ?? DEFAULT_INVOCATION_TIMEOUT_SECONDS,
    ...optional('outputPathExtension', header('s3outputpathextension')),
    ...optional('filename', header('filename')),
  };
}

/** DescribeEndpoint's `EndpointName`. */
function parseDescribeEndpoint(body: Buffer): string {
  let name: unknown;
  try {
    name = (JSON.parse(body.toString('utf8') || '{}') as { EndpointName?: unknown }).EndpointName;
  } catch {
    throw new AwsError(400, 'SerializationException', 'the request body is not JSON', 'json');
  }
  if (typeof name !== 'string') {
    throw new AwsError(400, 'ValidationException', constraintMessage('endpointName', null, NOT_NULL), 'json');
  }
  return name;
}

function validation(message: string): AwsError {
  return new AwsError(400, 'ValidationError', message);
}

/** The message AWS's request validation gives for a member outside its constraint. */
function constraint(member: string, value: string | number, rule: string): AwsError {
  return validation(constraintMessage(member, String(value), rule));
}

function secondsHeader(
  value: string | undefined,
  member: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!Number.isInteger(seconds)) throw constraint(member, value, 'Member must be an integer');
  if (seconds < min)
    throw constraint(member, seconds, `Member must have value greater than or equal to ${min}`);
  if (seconds > max) throw constraint(member, seconds, `Member must have value less than or equal to ${max}`);
  return seconds;
}

export function sendJson(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': randomUUID(),
    ...headers,
  });
  response.end(body);
}

function sendAwsError(response: ServerResponse, error: AwsError): void {
  const json = error.protocol === 'json';
  sendJson(
    response,
    error.status,
    json ? 'application/x-amz-json-1.1' : 'application/json',
    JSON.stringify(
      json
        ? { __type: error.type, message: error.bodyMessage, ...error.members }
        : { message: error.bodyMessage, ...error.members },
    ),
    json ? {} : { 'x-amzn-ErrorType': error.type },
  );
}

/** `{ key: value }`, or nothing when the value is absent: optional members stay out of the JSON. */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
