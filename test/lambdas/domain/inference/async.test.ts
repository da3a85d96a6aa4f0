/**
 * `"async": true` (seed 003, issue 13) over fake models and the real state table: a request is
 * checked exactly as the immediate route checks it before anything is stored, then stored in S3 and
 * run as an `inference` job; RunInference makes the route's call with a deadline of minutes and
 * completes the job with the answer, or fails it with the route's error.
 */
import { describe, expect, it } from 'vitest';
import { InferenceAccepted, InferenceResponse } from '../../../../contracts/inference.ts';
import { newJobId } from '../../../../lambdas/adapters/ids.ts';
import type { InferenceExecutionInput } from '../../../../lambdas/domain/inference/execution.ts';
import { inferenceKeys } from '../../../../lambdas/domain/inference/execution.ts';
import { ModelCallError } from '../../../../lambdas/domain/inference/ports.ts';
import { runInference } from '../../../../lambdas/domain/inference/workflow-tasks.ts';
import type { JobsEngine } from '../../../../lambdas/domain/jobs/engine.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aTenant, engineOver } from '../../../support/jobs.ts';
import {
  aBedrock,
  anImage,
  aReply,
  aRequest,
  aSageMaker,
  aService,
  base64,
  failure,
  type HarnessOptions,
} from './fakes.ts';

const fixture = useEmulators();

/** The service over fake models with the jobs engine on the real state table and a recorded workflow. */
function anAsyncService(options: HarnessOptions = {}, start?: () => Promise<{ executionId: string }>) {
  const engine = engineOver(fixture);
  const started: InferenceExecutionInput[] = [];
  const workflow = {
    start: async (input: InferenceExecutionInput) => {
      started.push(input);
      return start ? start() : { executionId: `arn:execution:${input.jobId}` };
    },
    executionIdOf: (jobId: string) => `arn:execution:${jobId}`,
    stop: async () => undefined,
  };
  const harness = aService({
    ...options,
    deps: { jobs: { engine, workflow }, newId: () => newJobId(new Date()), ...options.deps },
  });
  const tasks = { engine, blobs: harness.blobs, inference: harness.service };
  return { ...harness, engine, started, tasks };
}

/** A job's log, oldest first. */
const logOf = async (engine: JobsEngine, tenant: string, id: string) =>
  (await engine.store.tailLog(tenant, id, 50)).map((entry) => entry.message);

describe('InferenceService.submit', () => {
  it('stores the request in S3 and the job with its execution, then starts it; answers the job', async () => {
    // Prepare
    const { service, engine, blobs, started } = anAsyncService();
    const tenant = aTenant();
    const png = await anImage('png');

    // Act
    const accepted = await service.submit(
      tenant,
      'nova',
      aRequest({ frames: [base64(png)], max_tokens: 64 }),
      'bedrock',
    );

    // Assess: the answer, as the route's 202 documents it.
    expect(InferenceAccepted.parse(accepted)).toEqual(accepted);
    expect(accepted).toMatchObject({
      status: 'submitted',
      request: { text: 'What is in this image?', frames_count: 1, media_type: 'image', max_tokens: 64 },
      job: {
        kind: 'inference',
        status: 'pending',
        name: 'nova',
        // The request's key is storage, never shown.
        param_values: { model_key: 'nova', provider: 'bedrock' },
      },
    });
    const id = accepted.job.id;
    // The request as accepted (defaults applied, `async` dropped), frames and all, under the tenant.
    const stored = JSON.parse(
      new TextDecoder().decode(blobs.objects.get(inferenceKeys(tenant, id).request)),
    ) as unknown;
    expect(stored).toEqual({ ...aRequest({ frames: [base64(png)], max_tokens: 64 }) });
    expect(await engine.get(tenant, id)).toMatchObject({
      kind: 'inference',
      status: 'pending',
      executionId: `arn:execution:${id}`,
      params: {
        model_key: 'nova',
        provider: 'bedrock',
      },
    });
    expect(started).toEqual([{ tenant, jobId: id }]);
    expect(await logOf(engine, tenant, id)).toEqual([
      'asked model nova (us.amazon.nova-pro-v1:0): 1 frame (image), max_tokens 64',
    ]);
  });

  it.each([
    ['an unknown key', 'gpt-5', undefined, {}, 400],
    ['a Bedrock model on the EMD route', 'claude4', 'sagemaker' as const, {}, 400],
    [
      'a frame that is not an image',
      'qwen2-vl-7b',
      'sagemaker' as const,
      { frames: ['bm90IGFuIGltYWdl'] },
      400,
    ],
    ['a model not deployed in the stage', 'gemma-3-4b', 'sagemaker' as const, {}, 503],
  ])(
    'refuses %s exactly as the immediate route does, storing and starting nothing',
    async (_case, key, provider, overrides, status) => {
      // Prepare
      const { service, engine, blobs, started, bedrock, sagemaker } = anAsyncService();
      const tenant = aTenant();
      const request = aRequest(overrides);

      // Act
      const refused = await failure(service.submit(tenant, key, request, provider));
      const immediate = await failure(service.infer(tenant, key, request, provider));

      // Assess
      expect(refused.status).toBe(status);
      expect({ code: refused.code, message: refused.message }).toEqual({
        code: immediate.code,
        message: immediate.message,
      });
      expect(blobs.objects.size).toBe(0);
      expect(started).toEqual([]);
      expect((await engine.store.list(tenant, { limit: 10 })).items).toEqual([]);
      expect([...bedrock.calls, ...sagemaker.calls]).toEqual([]);
    },
  );

  it('fails the job it stored when its workflow cannot start, and answers 503', async () => {
    // Prepare
    const { service, engine } = anAsyncService({}, async () => {
      throw new Error('ServiceUnavailable');
    });
    const tenant = aTenant();

    // Act
    const refused = await failure(service.submit(tenant, 'claude4', aRequest()));

    // Assess
    expect(refused.status).toBe(503);
    const [job] = (await engine.store.list(tenant, { limit: 10 })).items;
    expect(job).toMatchObject({ status: 'failed', error: { code: 'WORKFLOW_UNAVAILABLE' } });
  });
});

describe('runInference', () => {
  /** A submitted job of `key`, and what running it takes. */
  async function aSubmittedJob(
    key: string,
    options: HarnessOptions = {},
    provider?: 'bedrock' | 'sagemaker',
  ) {
    const harness = anAsyncService(options);
    const tenant = aTenant();
    const png = await anImage('png');
    const accepted = await harness.service.submit(tenant, key, aRequest({ frames: [base64(png)] }), provider);
    return { ...harness, tenant, id: accepted.job.id };
  }

  it('completes the job with the answer stored as the route would have answered it, and says who answered', async () => {
    // Prepare
    const { tasks, engine, blobs, tenant, id } = await aSubmittedJob('nova', {
      bedrock: aBedrock({ nova: [aReply('a green rectangle', { answeredBy: 'synthforge/local-vision' })] }),
    });

    // Act
    const outcome = await runInference(tasks, { tenant, jobId: id });

    // Assess
    expect(outcome).toEqual({ status: 'completed' });
    const key = inferenceKeys(tenant, id).result;
    const body = blobs.objects.get(key) ?? new Uint8Array();
    const answer = InferenceResponse.parse(JSON.parse(new TextDecoder().decode(body)));
    expect(answer.response.content[0]?.text).toBe('a green rectangle');
    expect(answer.request.frames_count).toBe(1);
    expect(answer.model).toMatchObject({
      key: 'nova',
      answered_by: 'synthforge/local-vision',
      emulated: true,
    });
    const job = await engine.get(tenant, id);
    expect(job).toMatchObject({
      status: 'completed',
      progress: 100,
      result: { key, bytes: body.length, contentType: 'application/json' },
    });
    const log = await logOf(engine, tenant, id);
    expect(log).toContain('calling model nova');
    expect(log.at(-1)).toMatch(
      /^model nova answered \(synthforge\/local-vision, standing in for us\.amazon\.nova-pro-v1:0\): 1000 input and 500 output tokens in \d+ ms$/,
    );
  });

  it('fails the job with the route’s message when the model fails on the request', async () => {
    // Prepare
    const { tasks, engine, blobs, tenant, id } = await aSubmittedJob('nova', {
      bedrock: aBedrock({
        nova: [
          new ModelCallError('model_error', 'The model could not read the video', 'ModelErrorException'),
        ],
      }),
    });

    // Act
    const outcome = await runInference(tasks, { tenant, jobId: id });

    // Assess
    expect(outcome).toEqual({ status: 'failed' });
    expect(await engine.get(tenant, id)).toMatchObject({
      status: 'failed',
      error: {
        code: 'MODEL_ERROR',
        message: 'model nova failed on this request: The model could not read the video',
      },
    });
    expect(blobs.objects.has(inferenceKeys(tenant, id).result)).toBe(false);
  });

  it('waits for a model waking from zero, where the route would answer 503 at once', async () => {
    // Prepare
    const noCapacity = () => new ModelCallError('no_capacity', 'no capacity', 'ValidationError');
    const { tasks, engine, tenant, id, sagemaker, time } = await aSubmittedJob(
      'qwen2-vl-7b',
      {
        sagemaker: aSageMaker({ 'qwen2-vl-7b': [noCapacity(), noCapacity(), noCapacity(), aReply('awake')] }),
      },
      'sagemaker',
    );

    // Act
    const outcome = await runInference(tasks, { tenant, jobId: id });

    // Assess
    expect(outcome).toEqual({ status: 'completed' });
    expect(sagemaker.callsOf('qwen2-vl-7b')).toHaveLength(4);
    expect(time.sleeps).toHaveLength(3);
    expect((await engine.get(tenant, id)).status).toBe('completed');
  });

  it('calls no model for a job cancelled before it ran', async () => {
    // Prepare
    const { tasks, engine, tenant, id, bedrock } = await aSubmittedJob('claude4');
    await engine.cancel(tenant, id);

    // Act
    const outcome = await runInference(tasks, { tenant, jobId: id });

    // Assess
    expect(outcome).toEqual({ status: 'cancelled' });
    expect(bedrock.calls).toEqual([]);
  });

  it('keeps no answer for a job cancelled while its model answered', async () => {
    // Prepare: the model answers after the cancel.
    const harness = await aSubmittedJob('claude4', {
      bedrock: aBedrock({ claude4: [{ afterMs: 50, outcome: aReply() }] }),
    });
    const { tasks, engine, blobs, tenant, id } = harness;

    // Act: cancelled once the call is in flight.
    const running = runInference(tasks, { tenant, jobId: id });
    while (harness.bedrock.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    await engine.cancel(tenant, id);
    const outcome = await running;

    // Assess
    expect(outcome).toEqual({ status: 'cancelled' });
    expect(blobs.objects.has(inferenceKeys(tenant, id).result)).toBe(false);
  });

  it('leaves the job running when the platform stopping cut its call off, to be called again', async () => {
    // Prepare
    const { tasks, engine, tenant, id } = await aSubmittedJob('claude4', {
      bedrock: aBedrock({ claude4: [new ModelCallError('unavailable', 'connection closed')] }),
    });

    // Act
    const interrupted = runInference({ ...tasks, stopping: () => true }, { tenant, jobId: id });

    // Assess
    await expect(interrupted).rejects.toThrow(/briefly unavailable/);
    expect((await engine.get(tenant, id)).status).toBe('running');
  });

  it('fails a job whose stored request is gone', async () => {
    // Prepare
    const { tasks, engine, blobs, tenant, id } = await aSubmittedJob('claude4');
    blobs.objects.delete(inferenceKeys(tenant, id).request);

    // Act
    const outcome = await runInference(tasks, { tenant, jobId: id });

    // Assess
    expect(outcome).toEqual({ status: 'failed' });
    expect((await engine.get(tenant, id)).error?.code).toBe('REQUEST_MISSING');
  });
});
