/**
 * The image workflow's two halves of one wait (statemachines/image-generation.asl.json):
 * `invokeModel` runs as the InvokeModel step (`lambda:invoke.waitForTaskToken`): it records the task
 * token on the job and queues the inference; `handleEndpointNotification` runs when the endpoint's
 * SNS notification arrives: it moves the image under the job's key (steered toward the job's
 * profile when it has one), ends the job and sends the token back, which resumes the step. Nothing
 * polls.
 */

import { withoutAwsIdentifiers } from '../errors.ts';
import type { JobsEngine } from '../jobs/engine.ts';
import { assertTenantName } from '../keys.ts';
import type { BlobStore, Clock, ColdStartStore, ModelEndpoints, TaskCallbacks } from '../ports.ts';
import type { ImageJobRecord, ImageProfile } from './job-record.ts';
import type { ImageModels } from './models.ts';
import { steerPng, UnreadableImageError } from './profile.ts';
import { gpuSecondsPerImage, imageKeys } from './service.ts';

export interface ImageTaskDeps {
  engine: JobsEngine;
  blobs: BlobStore;
  endpoints: ModelEndpoints;
  callbacks: TaskCallbacks;
  models: ImageModels;
  coldStarts: ColdStartStore;
  clock: Clock;
  /** How long a queued request may wait for an instance before SageMaker drops it (`RequestTTLSeconds`). */
  requestTtlSeconds: number;
  report: (message: string, details: Record<string, unknown>) => void;
}

export interface InvokeModelInput {
  tenant: string;
  batchId: string;
  jobId: string;
  taskToken: string;
}

/** An error Step Functions matches by name in the InvokeModel step's Retry and Catch. */
class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * Records the task token on the job and queues the inference. A retried step (throttled, or a
 * crash after the record) records its new token and invokes again; a job that has ended (cancelled)
 * sends its token back at once so that the step does not wait for nothing.
 */
export async function invokeModel(deps: ImageTaskDeps, input: InvokeModelInput): Promise<{ status: string }> {
  const { engine, endpoints, models, clock } = deps;
  const job = await engine.get(input.tenant, input.jobId);
  // Its batch may have ended without closing it (a crash in the middle of a cancel).
  const current = (await engine.closeIfBatchEnded(job)) ?? job;
  if (current.status !== 'pending' && current.status !== 'running') {
    await deps.callbacks.succeed(input.taskToken, { status: current.status });
    return { status: current.status };
  }
  const model = job.generator ? models.byName(job.generator) : undefined;
  if (!model) throw new NamedError('EndpointUnavailable', `no deployed model serves ${job.generator}`);
  const endpoint = await endpoints.describe(model.endpointName);
  if (!endpoint) throw new NamedError('EndpointUnavailable', `endpoint ${model.endpointName} does not exist`);
  const inference = {
    endpointName: model.endpointName,
    taskToken: input.taskToken,
    invokedAt: clock.now().toISOString(),
    instancesAtInvoke: endpoint.instances,
  };
  const coldStart =
    endpoint.instances === 0
      ? ((await deps.coldStarts.estimate(input.tenant, model.endpointName).catch(() => undefined)) ??
        model.coldStartSeconds)
      : 0;
  const message =
    endpoint.instances === 0
      ? `warming: ${model.modelId} is starting an instance (about ${Math.max(1, Math.round(coldStart / 60))} min)`
      : `generating on ${model.modelId}`;
  // The token is on the job before the endpoint can answer: a fast notification must find it.
  const recorded =
    job.status === 'pending'
      ? await engine.transition(
          input.tenant,
          input.jobId,
          'running',
          { inference, progress: 10, message },
          message,
        )
      : {
          applied:
            (await engine.store.update(input.tenant, input.jobId, { inference, message })) !== undefined,
        };
  if (!recorded.applied) {
    const now = await engine.get(input.tenant, input.jobId);
    await deps.callbacks.succeed(input.taskToken, { status: now.status });
    return { status: now.status };
  }
  await endpoints.invokeAsync({
    endpointName: model.endpointName,
    inputKey: imageKeys(input.tenant, input.jobId).request,
    inferenceId: input.jobId,
    invocationTimeoutSeconds: model.invocationTimeoutSeconds,
    requestTtlSeconds: deps.requestTtlSeconds,
  });
  return { status: 'running' };
}

/** The notification SageMaker publishes when an asynchronous inference ends (the parts used here). */
export interface EndpointNotification {
  invocationStatus: string;
  inferenceId?: string;
  failureReason?: string;
  requestParameters?: { endpointName?: string; inputLocation?: string };
  responseParameters?: {
    contentType?: string;
    /** Where the answer is; AWS's examples name it `sageMakerOutputLocation` or `outputLocation`. */
    sageMakerOutputLocation?: string;
    outputLocation?: string;
    /** Where the endpoint wrote a failed request's error (when its configuration has a failure path). */
    failureLocation?: string;
  };
}

/** `s3://bucket/<tenant>/jobs/<jobId>/request.json` → the tenant and job, or undefined. */
export function jobOfInput(
  inputLocation: string | undefined,
  bucket: string,
): { tenant: string; jobId: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/([^/]+)\/jobs\/([0-9A-HJKMNP-TV-Z]{26})\/request\.json$/.exec(
    inputLocation ?? '',
  );
  if (!match || match[1] !== bucket) return undefined;
  try {
    assertTenantName(match[2] as string);
    return { tenant: match[2] as string, jobId: match[3] as string };
  } catch {
    return undefined;
  }
}

/** `s3://bucket/key` → key, when it is in this bucket. */
function keyOf(location: string | undefined, bucket: string): string | undefined {
  const prefix = `s3://${bucket}/`;
  return location?.startsWith(prefix) ? location.slice(prefix.length) : undefined;
}

/**
 * Ends the job an endpoint notification is about and resumes its workflow step. A notification for
 * a job that has already ended (cancelled meanwhile, or delivered twice) changes nothing but the
 * staging object, which is removed either way.
 */
export async function handleEndpointNotification(
  deps: ImageTaskDeps,
  notification: EndpointNotification,
): Promise<{ outcome: 'completed' | 'failed' | 'ignored'; jobId?: string }> {
  const { engine, blobs, callbacks } = deps;
  const target = jobOfInput(notification.requestParameters?.inputLocation, blobs.bucket);
  const response = notification.responseParameters;
  const outputKey = keyOf(response?.sageMakerOutputLocation ?? response?.outputLocation, blobs.bucket);
  const failureKey = keyOf(response?.failureLocation, blobs.bucket);
  // The staged objects are the endpoint's, not the job's: once the job has taken what it needs, they go.
  const removeStaged = async (...keys: (string | undefined)[]) => {
    for (const key of keys) if (key) await blobs.delete(key).catch(() => undefined);
  };
  if (!target) {
    deps.report('an endpoint notification names no job of this stack', { notification });
    return { outcome: 'ignored' };
  }
  const job = await engine.store.get(target.tenant, target.jobId);
  const token = job?.inference?.taskToken;
  if (job?.kind !== 'image' || job.status !== 'running' || !token) {
    await removeStaged(outputKey, failureKey);
    return { outcome: 'ignored', jobId: target.jobId };
  }
  const resume = (action: () => Promise<void>) =>
    // The step may be gone (its execution stopped, or timed out): the job record is the outcome.
    action().catch((error) => deps.report('could not resume the waiting step', { jobId: job.id, error }));

  const fail = async (why: string) => {
    const reason = sanitize(why);
    await engine.transition(
      job.tenant,
      job.id,
      'failed',
      { error: { code: 'MODEL_ERROR', message: reason } },
      `failed: ${reason}`,
    );
    await removeStaged(outputKey, failureKey);
    await resume(() => callbacks.fail(token, 'ModelError', reason));
    return { outcome: 'failed' as const, jobId: job.id };
  };

  if (notification.invocationStatus !== 'Completed' || !outputKey) {
    return fail(notification.failureReason ?? `the endpoint answered ${notification.invocationStatus}`);
  }
  const key = imageKeys(job.tenant, job.id).image;
  const stored = await storeImage(blobs, outputKey, key, job.params.profile);
  if ('problem' in stored) return fail(stored.problem);
  const { bytes } = stored;
  await removeStaged(outputKey, failureKey);
  const result = { key, bytes, frames: 1, contentType: 'image/png' };
  await engine.transition(
    job.tenant,
    job.id,
    'completed',
    { result, progress: 100 },
    `completed: ${bytes} bytes`,
  );
  await recordColdStart(deps, job);
  await resume(() => callbacks.succeed(token, { status: 'completed', bytes }));
  return { outcome: 'completed', jobId: job.id };
}

/**
 * The endpoint's image under the job's key: copied as it is, or, for a job with a profile, read,
 * steered toward the profile and written. An answer that is no readable PNG is the model's
 * failure, not a reason to keep an image that ignores the profile. A staged image that cannot be
 * read at all throws, so that SNS delivers the notification again.
 */
async function storeImage(
  blobs: BlobStore,
  outputKey: string,
  key: string,
  profile: ImageProfile | undefined,
): Promise<{ bytes: number } | { problem: string }> {
  if (!profile) return blobs.copy(outputKey, key, 'image/png');
  const staged = await blobs.get(outputKey);
  if (!staged) throw new Error(`the endpoint's answer ${outputKey} is not in the bucket`);
  let steered: Uint8Array;
  try {
    steered = steerPng(staged, profile);
  } catch (error) {
    if (!(error instanceof UnreadableImageError)) throw error;
    return { problem: `${error.message}: it cannot be steered toward profile ${profile.name}` };
  }
  await blobs.put(key, steered, 'image/png');
  return { bytes: steered.byteLength };
}

/** An endpoint's reason, safe to show a tenant: no ARN, no account id, bounded. */
function sanitize(reason: string): string {
  return withoutAwsIdentifiers(reason).slice(0, 500);
}

/**
 * A job invoked at zero instances waited for a cold start: how long, less its own inference, refines
 * the tenant's `warming` estimate for the endpoint. Best effort: the image is what matters.
 */
async function recordColdStart(deps: ImageTaskDeps, job: ImageJobRecord): Promise<void> {
  const inference = job.inference;
  const model = job.generator ? deps.models.byName(job.generator) : undefined;
  if (inference?.instancesAtInvoke !== 0 || !model) return;
  const waited = (deps.clock.now().getTime() - Date.parse(inference.invokedAt)) / 1000;
  const inferring = gpuSecondsPerImage(model, job.params);
  await deps.coldStarts
    .record(job.tenant, inference.endpointName, Math.max(0, waited - inferring), deps.clock.now())
    .catch((error) => deps.report('could not record a cold start', { jobId: job.id, error }));
}
