/**
 * The inference machine's step (statemachines/inference.asl.json): `runInference` runs an
 * asynchronous job's model call, the same call as the route's, with a deadline of minutes, and ends
 * the job: completed with the answer stored next to its request, or failed with the error the route
 * would have answered (seed 003's message). What it cannot record (a crash, the function's own
 * timeout) the machine's FailJob step records.
 */
import type { InferenceResponse, ModelInput } from '../../../contracts/inference.ts';
import { DomainError } from '../errors.ts';
import type { JobsEngine } from '../jobs/engine.ts';
import { isJobOfKind, type JobStatus } from '../jobs/model.ts';
import type { BlobStore, TransitionOutcome } from '../ports.ts';
import { inferenceKeys } from './execution.ts';
import { type InferenceJobRecord, isStoredModelInput } from './job-record.ts';
import type { InferenceService } from './service.ts';

export interface InferenceTaskDeps {
  engine: JobsEngine;
  /** The requests and answers of the jobs. */
  blobs: Pick<BlobStore, 'get' | 'put'>;
  /** The gateway: the job's call is the one its route makes, checks included. */
  inference: InferenceService;
  /**
   * True once the platform is stopping (locally): a call it cut off is no answer of the model's, so
   * the job stays running, to be called again on the next start, instead of failing.
   */
  stopping?: () => boolean;
}

/** The job a step is for; a job of another kind is no task of this machine. */
async function inferenceJob(
  engine: JobsEngine,
  input: { tenant: string; jobId: string },
): Promise<InferenceJobRecord> {
  const job = await engine.get(input.tenant, input.jobId);
  if (!isJobOfKind(job, 'inference'))
    throw new Error(`job ${job.id} is a ${job.kind} job, not an inference job`);
  return job;
}

/** How the step ended the job, or the status it found it in. */
export interface RunInferenceResult {
  status: string;
}

export async function runInference(
  deps: InferenceTaskDeps,
  input: { tenant: string; jobId: string },
): Promise<RunInferenceResult> {
  const { engine, blobs, inference } = deps;
  const job = await inferenceJob(engine, input);
  // Cancelled before it ran, or ended by an earlier attempt of this step.
  if (job.status !== 'pending' && job.status !== 'running') return { status: job.status };
  const { model_key: key, provider } = job.params;

  const request = await storedRequest(blobs, inferenceKeys(job.tenant, job.id).request);
  if (!request) {
    return fail(engine, job, { code: 'REQUEST_MISSING', message: 'the stored request could not be read' });
  }

  const calling = `calling model ${key}`;
  if (job.status === 'pending') {
    const outcome = await engine.transition(job.tenant, job.id, 'running', { message: calling }, calling);
    if (!outcome.applied) return { status: statusAfter(outcome, 'running') };
  } else {
    // Running already: the attempt before this one was cut off (a restart, a retried invocation).
    await engine.log(job.tenant, job.id, 'info', `${calling} again: the previous attempt did not finish`);
  }

  let answer: InferenceResponse;
  try {
    answer = await inference.infer(job.tenant, key, request, provider, { async: true });
  } catch (error) {
    if (!(error instanceof DomainError) || deps.stopping?.()) throw error;
    return fail(engine, job, { code: error.code, message: error.message });
  }

  // A job cancelled while its model answered keeps no answer.
  const current = await engine.get(job.tenant, job.id);
  if (current.status !== 'running') return { status: current.status };
  const body = new TextEncoder().encode(JSON.stringify(answer));
  const resultKey = inferenceKeys(job.tenant, job.id).result;
  await blobs.put(resultKey, body, 'application/json');
  const summary = answered(answer);
  const outcome = await engine.transition(
    job.tenant,
    job.id,
    'completed',
    {
      progress: 100,
      message: summary,
      result: { key: resultKey, bytes: body.length, contentType: 'application/json' },
    },
    summary,
  );
  return { status: statusAfter(outcome, 'completed') };
}

/** The job's request as the route stored it; undefined when it is gone or not one. */
async function storedRequest(
  blobs: InferenceTaskDeps['blobs'],
  key: string,
): Promise<ModelInput | undefined> {
  const bytes = await blobs.get(key);
  if (!bytes) return undefined;
  try {
    const request: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return isStoredModelInput(request) ? request : undefined;
  } catch {
    return undefined;
  }
}

/** The status a transition left the job in: `to` when it applied, else the one it found. */
function statusAfter(outcome: TransitionOutcome, to: JobStatus): string {
  if (outcome.applied) return to;
  return outcome.reason === 'illegal' ? outcome.job.status : 'missing';
}

/** Which model answered (the local model where it stands in for the named one), and what it took. */
function answered({ model, response, latency_ms }: InferenceResponse): string {
  const who = model.emulated ? `${model.answered_by}, standing in for ${model.model_id}` : model.answered_by;
  const { input_tokens: input, output_tokens: output } = response.usage;
  return `model ${model.key} answered (${who}): ${input} input and ${output} output tokens in ${latency_ms} ms`;
}

async function fail(
  engine: JobsEngine,
  job: InferenceJobRecord,
  error: { code: string; message: string },
): Promise<RunInferenceResult> {
  const outcome = await engine.transition(
    job.tenant,
    job.id,
    'failed',
    { error, message: error.message },
    `failed: ${error.message}`,
  );
  return { status: statusAfter(outcome, 'failed') };
}
