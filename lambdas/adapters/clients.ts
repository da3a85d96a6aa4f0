import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsClientOptions {
  region: string;
  /** Endpoint overrides, for the local emulators. A service left out talks to AWS. */
  endpoints?: {
    dynamodb?: string;
    s3?: string;
    sfn?: string;
    eventbridge?: string;
    /** SageMaker's control plane and runtime: the local endpoint host answers both. */
    sagemaker?: string;
    /** Bedrock Runtime (Converse): the local emulator, which serves HTTP/2 as Bedrock does. */
    bedrock?: string;
  };
  /**
   * Explicit credentials. Without them a client with an endpoint override signs with the
   * emulators' dummy credentials, and every other client uses the default provider chain.
   */
  credentials?: AwsCredentials;
  /** Per attempt. Defaults suit API handlers; a worker that moves large objects may allow more. */
  timeouts?: { connectionMs?: number; requestMs?: number };
}

export interface AwsClients {
  dynamo: DynamoDBDocumentClient;
  s3: S3Client;
  sfn: SFNClient;
  eventBridge: EventBridgeClient;
  sageMaker: SageMakerClient;
  sageMakerRuntime: SageMakerRuntimeClient;
  /** SageMaker's runtime for the inference gateway's real-time calls (see `modelCallSettings`). */
  sageMakerRealtime: SageMakerRuntimeClient;
  /**
   * A client only some functions need, made by `make` with these options on first use (once per
   * `make`) and destroyed with the others. Its SDK package is then bundled only where `make` is
   * imported: Bedrock Runtime's client (adapters/bedrock/client.ts) would add about 75 KB gzipped
   * to every bundle as a member here.
   */
  own<T extends { destroy(): void }>(make: (options: AwsClientOptions) => T): T;
  /** Closes the clients' keep-alive sockets, so that a test or the local platform can exit. */
  destroy(): void;
}

/** s3rver checks signatures against these; dynalite accepts anything. */
export const EMULATOR_CREDENTIALS: AwsCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * With the defaults every call gives up inside API Gateway's 29 s: 3 attempts of at most 8 s each
 * (the request timer runs from the start, connecting included), and the SDK's backoff between
 * attempts stays under a second.
 */
const DEFAULT_CONNECTION_TIMEOUT_MS = 3_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 8_000;
const MAX_ATTEMPTS = 3;

/** Settings every client shares: region, retries, timeouts, and the endpoint and credentials. */
export function clientSettings(options: AwsClientOptions, endpoint: string | undefined) {
  return {
    region: options.region,
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: options.timeouts?.connectionMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      requestTimeout: options.timeouts?.requestMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      // Without it a breached requestTimeout only logs a warning and the call keeps waiting.
      throwOnRequestTimeout: true,
    },
    ...(endpoint === undefined ? {} : { endpoint }),
    ...credentialsFor(endpoint, options.credentials),
  };
}

/**
 * The inference gateway's model calls are settled by the caller, not the SDK:
 * - One attempt. The gateway retries throttles and outages itself, with jitter, within the deadline
 *   of the request (lambdas/domain/inference); the SDK's own retries would multiply its attempts and
 *   spend that deadline where it cannot see.
 * - A timer long enough for any answer (Lambda's 15 minutes): the gateway aborts a call at its
 *   deadline through the call's AbortSignal, and an answer may take a minute or more. Bedrock's
 *   HTTP/2 handler times a silent stream (a Converse is silent until its whole answer); SageMaker's
 *   times the wait for the response. `options.timeouts.requestMs` does not apply to them.
 */
export const MODEL_CALL_TIMEOUT_MS = 15 * 60_000;

export function modelCallSettings(options: AwsClientOptions, endpoint: string | undefined) {
  const settings = clientSettings(options, endpoint);
  return {
    ...settings,
    maxAttempts: 1,
    requestHandler: { ...settings.requestHandler, requestTimeout: MODEL_CALL_TIMEOUT_MS },
  };
}

/**
 * The DynamoDB document client alone. A function that needs nothing else (the authorizer) builds
 * only this, so its bundle carries no other SDK client.
 */
export function createDynamoClients(options: AwsClientOptions): {
  dynamoDb: DynamoDBClient;
  dynamo: DynamoDBDocumentClient;
} {
  const dynamoDb = new DynamoDBClient(clientSettings(options, options.endpoints?.dynamodb));
  const dynamo = DynamoDBDocumentClient.from(dynamoDb, {
    marshallOptions: {
      // Optional record fields are left undefined rather than deleted.
      removeUndefinedValues: true,
      // A Date or class instance in a record is a bug: fail instead of storing it as an empty map.
      convertClassInstanceToMap: false,
    },
  });
  return { dynamoDb, dynamo };
}

/**
 * The SDK clients, each built on first use (a function given only some services never constructs
 * the others), for a Lambda's cold start or the local platform.
 */
export function createAwsClients(options: AwsClientOptions): AwsClients {
  const endpoints = options.endpoints ?? {};
  let dynamo: ReturnType<typeof createDynamoClients> | undefined;
  let s3: S3Client | undefined;
  let sfn: SFNClient | undefined;
  let eventBridge: EventBridgeClient | undefined;
  let sageMaker: SageMakerClient | undefined;
  let sageMakerRuntime: SageMakerRuntimeClient | undefined;
  let sageMakerRealtime: SageMakerRuntimeClient | undefined;
  const owned = new Map<(options: AwsClientOptions) => { destroy(): void }, { destroy(): void }>();
  return {
    get dynamo() {
      dynamo ??= createDynamoClients(options);
      return dynamo.dynamo;
    },
    get s3() {
      s3 ??= new S3Client({
        ...clientSettings(options, endpoints.s3),
        // `http://localhost:PORT` would otherwise become `bucket.localhost`, which does not resolve.
        forcePathStyle: true,
        // Also in production: under WHEN_SUPPORTED, presigned PUT URLs carry the checksum of an empty
        // body (real S3 rejects the upload) and s3rver stores stream bodies with their aws-chunked framing.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      return s3;
    },
    get sfn() {
      sfn ??= new SFNClient(clientSettings(options, endpoints.sfn));
      return sfn;
    },
    get eventBridge() {
      eventBridge ??= new EventBridgeClient(clientSettings(options, endpoints.eventbridge));
      return eventBridge;
    },
    get sageMaker() {
      sageMaker ??= new SageMakerClient(clientSettings(options, endpoints.sagemaker));
      return sageMaker;
    },
    get sageMakerRuntime() {
      sageMakerRuntime ??= new SageMakerRuntimeClient(clientSettings(options, endpoints.sagemaker));
      return sageMakerRuntime;
    },
    get sageMakerRealtime() {
      sageMakerRealtime ??= new SageMakerRuntimeClient(modelCallSettings(options, endpoints.sagemaker));
      return sageMakerRealtime;
    },
    own<T extends { destroy(): void }>(make: (options: AwsClientOptions) => T): T {
      let client = owned.get(make);
      if (client === undefined) {
        client = make(options);
        owned.set(make, client);
      }
      return client as T;
    },
    destroy() {
      // The document client's own destroy() is a no-op: the sockets belong to the client it wraps.
      dynamo?.dynamoDb.destroy();
      s3?.destroy();
      sfn?.destroy();
      eventBridge?.destroy();
      sageMaker?.destroy();
      sageMakerRuntime?.destroy();
      sageMakerRealtime?.destroy();
      for (const client of owned.values()) client.destroy();
    },
  };
}

/** Clients for the local emulators (`startEmulators()` returns this shape). */
export function awsClientsFor(emulators: {
  region: string;
  dynamoEndpoint: string;
  s3Endpoint: string;
}): AwsClients {
  return createAwsClients({
    region: emulators.region,
    endpoints: { dynamodb: emulators.dynamoEndpoint, s3: emulators.s3Endpoint },
  });
}

function credentialsFor(
  endpoint: string | undefined,
  credentials: AwsCredentials | undefined,
): { credentials?: AwsCredentials } {
  if (credentials !== undefined) return { credentials };
  return endpoint === undefined ? {} : { credentials: EMULATOR_CREDENTIALS };
}
