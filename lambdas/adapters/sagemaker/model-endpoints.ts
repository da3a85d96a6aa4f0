/**
 * Model endpoints on SageMaker asynchronous inference: queue an inference over an S3 input, and
 * read how many instances serve. The local platform points both clients at its endpoint host.
 */
import { DescribeEndpointCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointAsyncCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { ModelEndpoints } from '../../domain/ports.ts';

export interface SageMakerModelEndpointsOptions {
  /** The bucket holding the request objects. */
  bucket: string;
  /**
   * How long an endpoint's description is reused, per container. DescribeEndpoint is a control-plane
   * call with a low request rate, and every status poll and every invocation of a batch reads it;
   * an instance count a few seconds old only delays a `warming` becoming `generating`. Default 5 s.
   */
  describeCacheMs?: number;
}

type EndpointDescription = { status: string; instances: number };

/** Errors that mean "not now": SageMaker throttles with these, some as a 400 without a message. */
const THROTTLING = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
]);

export class SageMakerModelEndpoints implements ModelEndpoints {
  /** Descriptions read, or being read, per endpoint: concurrent callers share one call. */
  readonly #described = new Map<
    string,
    { at: number; description: Promise<EndpointDescription | undefined> }
  >();

  constructor(
    private readonly runtime: SageMakerRuntimeClient,
    private readonly control: SageMakerClient,
    private readonly options: SageMakerModelEndpointsOptions,
  ) {}

  async invokeAsync(request: Parameters<ModelEndpoints['invokeAsync']>[0]): Promise<void> {
    try {
      await this.runtime.send(
        new InvokeEndpointAsyncCommand({
          EndpointName: request.endpointName,
          InputLocation: `s3://${this.options.bucket}/${request.inputKey}`,
          ContentType: 'application/json',
          Accept: 'image/png',
          InferenceId: request.inferenceId,
          InvocationTimeoutSeconds: request.invocationTimeoutSeconds,
          RequestTTLSeconds: request.requestTtlSeconds,
        }),
      );
    } catch (error) {
      throw classify(error);
    }
  }

  describe(endpointName: string): Promise<EndpointDescription | undefined> {
    const now = Date.now();
    const cached = this.#described.get(endpointName);
    if (cached && now - cached.at < (this.options.describeCacheMs ?? 5000)) return cached.description;
    const description = this.#describe(endpointName);
    this.#described.set(endpointName, { at: now, description });
    // A failed read is not kept: the next caller asks again.
    description.catch(() => this.#described.delete(endpointName));
    return description;
  }

  async #describe(endpointName: string): Promise<EndpointDescription | undefined> {
    try {
      const output = await this.control.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
      const instances = (output.ProductionVariants ?? []).reduce(
        (sum, variant) => sum + (variant.CurrentInstanceCount ?? 0),
        0,
      );
      return { status: output.EndpointStatus ?? 'Unknown', instances };
    } catch (error) {
      if (isMissingEndpoint(error)) return undefined;
      throw error;
    }
  }
}

/**
 * The error the workflow's Retry and Catch match by name: `EndpointThrottled` is retried with
 * backoff; `EndpointUnavailable` fails the item (not the batch).
 */
export function classify(error: unknown): Error {
  const failure = error as {
    name?: string;
    message?: string | null;
    $metadata?: { httpStatusCode?: number };
  };
  const status = failure.$metadata?.httpStatusCode;
  // SageMaker throttles some callers with a bare 400 `{"message":null}`, not a 429
  // (opensearch-project/ml-commons#2429).
  const bareThrottle =
    status === 400 &&
    (failure.message === null || failure.message === '' || failure.message === 'UnknownError');
  const named = (name: string, message: string) => Object.assign(new Error(message), { name });
  if (THROTTLING.has(failure.name ?? '') || status === 429 || bareThrottle) {
    return named('EndpointThrottled', `the endpoint is throttling: ${failure.name ?? status}`);
  }
  return named(
    'EndpointUnavailable',
    `the endpoint refused the invocation: ${failure.name ?? 'error'}: ${failure.message ?? ''}`,
  );
}

function isMissingEndpoint(error: unknown): boolean {
  const failure = error as { name?: string; message?: string };
  return failure.name === 'ValidationException' || failure.name === 'ValidationError'
    ? /could not find|not found/i.test(failure.message ?? '')
    : false;
}
