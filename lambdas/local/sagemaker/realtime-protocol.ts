/**
 * The wire side of SageMaker's real-time inference with inference components, as the AWS SDK v3
 * clients speak it (the server and the async operations are wire-protocol.ts'; what the operations
 * do is realtime-endpoints.ts'):
 *
 * - SageMaker Runtime `InvokeEndpoint` (restJson1): `POST /endpoints/{EndpointName}/invocations`, the
 *   payload as the body, `Content-Type`, `Accept`, `X-Amzn-SageMaker-Custom-Attributes` and
 *   `X-Amzn-SageMaker-Inference-Component` headers. 200 carries the model's body and `Content-Type`,
 *   `x-Amzn-Invoked-Production-Variant`, and the custom attributes the model answered with.
 * - `InvokeEndpointWithResponseStream`: `POST /endpoints/{EndpointName}/invocations-response-stream`,
 *   the accept in `X-Amzn-SageMaker-Accept`. 200 is `application/vnd.amazon.eventstream`, the model's
 *   content type in `X-Amzn-SageMaker-Content-Type`; each chunk the model writes is one `PayloadPart`
 *   event (raw bytes, `application/octet-stream`), written as it arrives. A failure after the 200 is
 *   an exception event (`ModelStreamError {Message, ErrorCode}` or `InternalStreamFailure`), which
 *   the SDK throws from the stream's iterator, and ends the stream.
 * - A body over 6 MB: 413 with no error type, "HTTP content length exceeded 6291456 bytes.", as
 *   SageMaker answers; the JS SDK names it `Unknown` (status 413), boto3 "An error occurred (413)".
 * - SageMaker (awsJson1_1, `X-Amz-Target: SageMaker.<Op>`): `DescribeInferenceComponent`,
 *   `ListInferenceComponents`, `UpdateInferenceComponentRuntimeConfig`. Their validation errors are
 *   `ValidationException` with AWS's "1 validation error detected: ..." wording.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constraintMessage, NOT_NULL } from '../support/aws-validation.ts';
import { EVENT_STREAM_CONTENT_TYPE, encodeEvent, encodeException } from '../support/event-stream.ts';
import { AwsError, optional, sendJson } from './wire-protocol.ts';

/** SageMaker's cap on an InvokeEndpoint request body. */
export const MAX_INVOKE_BODY_BYTES = 6 * 1024 * 1024;

/** One InvokeEndpoint or InvokeEndpointWithResponseStream request. */
export interface RealtimeInvocation {
  endpointName: string;
  /** `InferenceComponentName`. */
  componentName?: string;
  contentType?: string;
  accept?: string;
  customAttributes?: string;
  body: Buffer;
  /** Aborted when the caller's connection closes before its answer is complete. */
  signal: AbortSignal;
  /** Settles once the answer is written, or the connection is gone. */
  answered: Promise<void>;
}

/** The headers of a 200. */
export interface RealtimeAnswerHeaders {
  contentType: string;
  invokedVariant: string;
  customAttributes?: string;
}

export interface RealtimeAnswer extends RealtimeAnswerHeaders {
  body: Uint8Array;
}

export interface RealtimeStream extends RealtimeAnswerHeaders {
  /** The model's chunks as they arrive; throwing a StreamFailure ends the stream with that event. */
  parts: AsyncIterable<Uint8Array>;
}

/** A failure after a stream's 200, sent as the stream's last event. */
export class StreamFailure extends Error {
  constructor(
    readonly type: 'ModelStreamError' | 'InternalStreamFailure',
    message: string,
    /** ModelStreamError's `ErrorCode`: `StreamBroken`, `ModelInvocationTimeExceeded`. */
    readonly errorCode?: string,
  ) {
    super(message);
    this.name = type;
  }
}

export interface ListInferenceComponentsInput {
  endpointNameEquals?: string;
  variantNameEquals?: string;
  statusEquals?: string;
  nameContains?: string;
  sortBy: 'Name' | 'CreationTime' | 'Status';
  sortOrder: 'Ascending' | 'Descending';
  maxResults: number;
  nextToken?: string;
}

/** What the real-time routes answer; each throws an AwsError to answer with it. */
export interface RealtimeOperations {
  invokeEndpoint(invocation: RealtimeInvocation): Promise<RealtimeAnswer>;
  invokeEndpointWithResponseStream(invocation: RealtimeInvocation): Promise<RealtimeStream>;
  describeInferenceComponent(name: string): unknown;
  listInferenceComponents(input: ListInferenceComponentsInput): unknown;
  updateInferenceComponentRuntimeConfig(name: string, copyCount: number): unknown;
}

/**
 * Answers the request when it is a real-time operation (see the module comment) and resolves true;
 * false leaves it to the other routes. Errors thrown as AwsError are the caller's to send.
 */
export async function routeRealtime(
  operations: RealtimeOperations,
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
  body: Buffer,
): Promise<boolean> {
  const invoke = /^\/endpoints\/([^/]+)\/(invocations|invocations-response-stream)$/.exec(path);
  if (request.method === 'POST' && invoke) {
    if (body.length > MAX_INVOKE_BODY_BYTES) {
      // SageMaker's front end answers this one without an error type.
      const message = `HTTP content length exceeded ${MAX_INVOKE_BODY_BYTES} bytes.`;
      sendJson(response, 413, 'application/json', JSON.stringify({ message }));
      return true;
    }
    const stream = invoke[2] === 'invocations-response-stream';
    const invocation = parseInvocation(decodeURIComponent(invoke[1] ?? ''), request, response, body, stream);
    if (stream) await writeStream(response, await operations.invokeEndpointWithResponseStream(invocation));
    else writeAnswer(response, await operations.invokeEndpoint(invocation));
    return true;
  }
  const target = request.headers['x-amz-target'];
  if (request.method !== 'POST' || path !== '/' || typeof target !== 'string') return false;
  const answer = control(operations, target.replace(/^SageMaker\./, ''), body);
  if (answer === undefined) return false;
  sendJson(response, 200, 'application/x-amz-json-1.1', JSON.stringify(answer));
  return true;
}

function parseInvocation(
  endpointName: string,
  request: IncomingMessage,
  response: ServerResponse,
  body: Buffer,
  stream: boolean,
): RealtimeInvocation {
  const header = (name: string) => {
    const value = request.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  const gone = new AbortController();
  const answered = new Promise<void>((resolve) => {
    response.once('close', () => {
      if (!response.writableFinished) gone.abort(new Error('the caller closed the connection'));
      resolve();
    });
  });
  return {
    endpointName,
    ...optional('componentName', header('x-amzn-sagemaker-inference-component')),
    ...optional('contentType', header('content-type')),
    ...optional('accept', header(stream ? 'x-amzn-sagemaker-accept' : 'accept')),
    ...optional('customAttributes', header('x-amzn-sagemaker-custom-attributes')),
    body,
    signal: gone.signal,
    answered,
  };
}

function answerHeaders(answer: RealtimeAnswerHeaders): Record<string, string> {
  return {
    'x-Amzn-Invoked-Production-Variant': answer.invokedVariant,
    'x-amzn-RequestId': randomUUID(),
    ...optional('X-Amzn-SageMaker-Custom-Attributes', answer.customAttributes),
  };
}

function writeAnswer(response: ServerResponse, answer: RealtimeAnswer): void {
  response.writeHead(200, {
    'Content-Type': answer.contentType,
    'Content-Length': answer.body.length,
    ...answerHeaders(answer),
  });
  response.end(answer.body);
}

/** Writes each part as a PayloadPart event as it comes, and a failure as the last event. */
async function writeStream(response: ServerResponse, stream: RealtimeStream): Promise<void> {
  response.writeHead(200, {
    'Content-Type': EVENT_STREAM_CONTENT_TYPE,
    'X-Amzn-SageMaker-Content-Type': stream.contentType,
    ...answerHeaders(stream),
  });
  // The caller sees the 200 before the first part, however long the model takes to write it.
  response.flushHeaders();
  try {
    for await (const part of stream.parts) {
      if (part.length === 0) continue;
      // A caller that went away ends the loop, which closes the model's side too.
      if (!(await write(response, encodeEvent('PayloadPart', part, 'application/octet-stream')))) return;
    }
  } catch (error) {
    const failure =
      error instanceof StreamFailure
        ? error
        : new StreamFailure(
            'InternalStreamFailure',
            'An internal error occurred while streaming the response.',
          );
    await write(
      response,
      encodeException(failure.type, {
        Message: failure.message,
        ...optional('ErrorCode', failure.errorCode),
      }),
    );
  }
  response.end();
}

/** Writes a chunk, waiting out backpressure; false when the connection is gone. */
function write(response: ServerResponse, chunk: Uint8Array): Promise<boolean> {
  if (response.destroyed || response.writableEnded) return Promise.resolve(false);
  if (response.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (written: boolean) => () => {
      response.off('drain', onDrain);
      response.off('close', onClose);
      resolve(written);
    };
    const onDrain = done(true);
    const onClose = done(false);
    response.once('drain', onDrain);
    response.once('close', onClose);
  });
}

/** The control-plane operations of this file; undefined for any other target. */
function control(operations: RealtimeOperations, operation: string, body: Buffer): unknown {
  switch (operation) {
    case 'DescribeInferenceComponent':
      return operations.describeInferenceComponent(requiredString(parseJson(body), 'InferenceComponentName'));
    case 'ListInferenceComponents':
      return operations.listInferenceComponents(parseList(parseJson(body)));
    case 'UpdateInferenceComponentRuntimeConfig': {
      const input = parseJson(body);
      const name = requiredString(input, 'InferenceComponentName');
      const config = input.DesiredRuntimeConfig;
      const copyCount =
        typeof config === 'object' && config !== null
          ? (config as Record<string, unknown>).CopyCount
          : undefined;
      if (config === undefined || config === null) throw notNull('desiredRuntimeConfig');
      if (copyCount === undefined || copyCount === null) throw notNull('desiredRuntimeConfig.copyCount');
      if (typeof copyCount !== 'number' || !Number.isInteger(copyCount) || copyCount < 0) {
        throw jsonConstraint(
          'desiredRuntimeConfig.copyCount',
          String(copyCount),
          'Member must have value greater than or equal to 0',
        );
      }
      return operations.updateInferenceComponentRuntimeConfig(name, copyCount);
    }
    default:
      return undefined;
  }
}

function parseList(input: Record<string, unknown>): ListInferenceComponentsInput {
  const text = (member: string) => {
    const value = input[member];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string')
      throw jsonConstraint(lowerFirst(member), String(value), 'Member must be a string');
    return value;
  };
  const sortBy = text('SortBy') ?? 'CreationTime';
  if (!['Name', 'CreationTime', 'Status'].includes(sortBy)) {
    throw jsonConstraint(
      'sortBy',
      sortBy,
      'Member must satisfy enum value set: [Name, CreationTime, Status]',
    );
  }
  const sortOrder = text('SortOrder') ?? 'Descending';
  if (!['Ascending', 'Descending'].includes(sortOrder)) {
    throw jsonConstraint(
      'sortOrder',
      sortOrder,
      'Member must satisfy enum value set: [Ascending, Descending]',
    );
  }
  const maxResults = input.MaxResults ?? 10;
  if (typeof maxResults !== 'number' || !Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100) {
    throw jsonConstraint(
      'maxResults',
      String(maxResults),
      'Member must have value greater than or equal to 1 and less than or equal to 100',
    );
  }
  return {
    ...optional('endpointNameEquals', text('EndpointNameEquals')),
    ...optional('variantNameEquals', text('VariantNameEquals')),
    ...optional('statusEquals', text('StatusEquals')),
    ...optional('nameContains', text('NameContains')),
    sortBy: sortBy as ListInferenceComponentsInput['sortBy'],
    sortOrder: sortOrder as ListInferenceComponentsInput['sortOrder'],
    maxResults,
    ...optional('nextToken', text('NextToken')),
  };
}

function parseJson(body: Buffer): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8') || '{}');
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // Answered below, as a body that is not a JSON object.
  }
  throw new AwsError(400, 'SerializationException', 'the request body is not a JSON object', 'json');
}

function requiredString(input: Record<string, unknown>, member: string): string {
  const value = input[member];
  if (value === undefined || value === null) throw notNull(lowerFirst(member));
  if (typeof value !== 'string')
    throw jsonConstraint(lowerFirst(member), String(value), 'Member must be a string');
  return value;
}

function notNull(member: string): AwsError {
  return new AwsError(400, 'ValidationException', constraintMessage(member, null, NOT_NULL), 'json');
}

function jsonConstraint(member: string, value: string, rule: string): AwsError {
  return new AwsError(400, 'ValidationException', constraintMessage(member, value, rule), 'json');
}

const lowerFirst = (member: string) => member.charAt(0).toLowerCase() + member.slice(1);
