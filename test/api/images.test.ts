/**
 * Seed 001's generation routes end to end on the local platform: the image workflow's ASL runs on
 * aws-local-stepfunctions, its InvokeModel step waits on a task token, the shapes container serves
 * the local asynchronous endpoint, and the endpoint's notification resumes the step. Success, a
 * model error, throttling, a lost heartbeat, cancel, and the documented bad inputs.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { PNG } from 'pngjs';
import { describe, expect, it, vi } from 'vitest';
import type { z } from 'zod';
import type { GenerateResponse as GenerateResponseSchema } from '../../contracts/images.ts';

type GenerateResponse = z.output<typeof GenerateResponseSchema>;

import type { PlatformRuntime } from '../../lambdas/local/platform.ts';
import type { TaskFunction } from '../../lambdas/local/stepfunctions/runner.ts';
import { expectError, usePlatform } from '../support/platform.ts';

const ENDPOINT = 'synthforge-local-shapes';
const SHAPES_MODEL = 'synthforge/shapes';
/** A prompt whose InvokeModel step reaches no endpoint: nothing will answer it, or heartbeat it. */
const UNANSWERED = 'nobody answers this prompt';
const fixture = usePlatform({
  // 4,500 s of HeartbeatSeconds become 9 s: a lost notification is seen within a test, and a cold
  // start of the local endpoint (a child process) stays well inside it.
  heartbeatScale: 0.002,
  wrapTask: (placeholder, task): TaskFunction<PlatformRuntime> =>
    placeholder !== 'InvokeModelFunctionArn'
      ? task
      : async (runtime, event: { tenant: string; jobId: string }) => {
          const job = await runtime.engine.get(event.tenant, event.jobId);
          const unanswered = job.kind === 'image' && job.params.prompt === UNANSWERED;
          return unanswered ? { status: job.status } : task(runtime, event);
        },
});

/** What the local endpoint has staged under its output or failure path (`_endpoints/<endpoint>/…`). */
async function stagedKeys(path: 'output' | 'failures'): Promise<string[]> {
  const listed = await fixture.platform.runtime.clients.s3.send(
    new ListObjectsV2Command({
      Bucket: fixture.platform.emulators.bucketName,
      Prefix: `_endpoints/${ENDPOINT}/${path}/`,
    }),
  );
  return (listed.Contents ?? []).map((object) => object.Key ?? '');
}

async function decodePng(url: string): Promise<PNG> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return PNG.sync.read(Buffer.from(await response.arrayBuffer()));
}

async function jobCount(): Promise<number> {
  const page = await fixture.api.get<{ jobs: unknown[] }>('/api/v1/jobs', { limit: 100 });
  return page.body.jobs.length;
}

async function pollImage(jobId: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await fixture.api.get<GenerateResponse & { status?: string }>(`/api/v1/generate/${jobId}`);
    if (answer.status !== 202 || Date.now() > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function pollSummary(batchId: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const summary = await fixture.api.get<{
      status: string;
      job_runs: { id: string; status: string; result_url: string | null }[];
    }>(`/api/v1/batches/${batchId}/summary`);
    if (['completed', 'failed', 'cancelled'].includes(summary.body.status) || Date.now() > deadline) {
      return summary.body;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('POST /api/v1/generate', () => {
  it('answers 200 with the image, its S3 path, a link, every parameter and the cost', async () => {
    // Act
    const answer = await fixture.api.post<GenerateResponse>('/api/v1/generate', {
      prompt: 'pastel stars and circles',
      width: 128,
      height: 96,
      seed: 42,
    });

    // Assess
    expect(answer.status, answer.text).toBe(200);
    const body = answer.body;
    expect(body.image_path).toBe(
      `s3://${fixture.platform.emulators.bucketName}/dev/jobs/${body.job_id}/image.png`,
    );
    expect(body.parameters).toEqual({
      model_id: SHAPES_MODEL,
      width: 128,
      height: 96,
      num_inference_steps: 20,
      guidance_scale: 7.5,
      seed: 42,
    });
    expect(body.prompt).toBe('pastel stars and circles');
    expect(body.cost.gpu_seconds).toBeGreaterThan(0);
    expect(body.cost.instance_type).toBe('ml.m5.large');
    const png = await decodePng(body.image_url);
    expect([png.width, png.height]).toEqual([128, 96]);
    const job = await fixture.api.get<{ kind: string; status: string }>(`/api/v1/jobs/${body.job_id}`);
    expect(job.body).toMatchObject({ kind: 'image', status: 'completed' });
    // The first image of the file woke the endpoint from zero: its cold start refines the estimate.
    const observed = await fixture.platform.runtime.imageTasks.coldStarts.estimate('dev', ENDPOINT);
    expect(observed).toBeGreaterThanOrEqual(0);
    expect(observed).toBeLessThan(60);
  });

  it('gives the same image for the same seed', async () => {
    const request = { prompt: 'dark triangles', width: 64, height: 64, seed: 7 };
    const [first, second] = await Promise.all([
      fixture.api.post<GenerateResponse>('/api/v1/generate', request),
      fixture.api.post<GenerateResponse>('/api/v1/generate', request),
    ]);
    const [a, b] = await Promise.all([decodePng(first.body.image_url), decodePng(second.body.image_url)]);
    expect(Buffer.compare(a.data, b.data)).toBe(0);
  });

  it.each([
    [{ prompt: 'x', width: 2048 }, 'width', 'width must be between 64 and 1024'],
    [{ prompt: 'x', width: 'wide' }, 'width', 'width must be a whole number of pixels'],
    [{ prompt: 'x', height: 100 }, 'height', 'height must be a multiple of 8'],
    [
      { prompt: 'x', num_inference_steps: 151 },
      'num_inference_steps',
      'num_inference_steps must be between 1 and 150',
    ],
    [{ prompt: 'x', guidance_scale: 0.5 }, 'guidance_scale', 'guidance_scale must be between 1 and 20'],
    [{ width: 512 }, 'prompt', 'prompt is required and must be a string'],
    [{ prompt: 'x', seed: -1 }, 'seed', 'seed must be between 0 and 4294967295'],
  ])('refuses %j with 400 naming %s, and stores nothing', async (body, parameter, message) => {
    // The seed's own example: width 2048 → {parameter: width, value: 2048, constraint: width <= 1024}.
    // Prepare
    const before = await jobCount();

    // Act
    const answer = await fixture.api.post<{
      error: { message: string; details: { issues: { parameter: string }[] } };
    }>('/api/v1/generate', body);

    // Assess: seed 001's shape, "Invalid parameter: ..." with the parameter, value and constraint.
    expectError(answer, 400, 'INVALID_PARAMETERS');
    expect(answer.body.error.message).toBe(`Invalid parameter: ${message}`);
    expect(answer.body.error.details).toMatchObject({
      parameter,
      constraint: expect.stringContaining(parameter),
    });
    expect(answer.body.error.details.issues[0]?.parameter).toBe(parameter);
    expect(await jobCount()).toBe(before);
  });

  it('refuses an unknown model with 400 and a model that cannot serve here with 503, storing nothing', async () => {
    // Prepare
    const before = await jobCount();

    // Act
    const unknown = await fixture.api.post('/api/v1/generate', { prompt: 'x', model_id: 'nobody/nothing' });
    const gpu = await fixture.api.post<{ error: { details: { reason: string } } }>('/api/v1/generate', {
      prompt: 'x',
      model_id: 'runwayml/stable-diffusion-v1-5',
    });

    // Assess
    expectError(unknown, 400, 'INVALID_PARAMETERS');
    expect(unknown.text).toContain(SHAPES_MODEL);
    expectError(gpu, 503, 'UNAVAILABLE');
    expect(gpu.body.error.details.reason).toMatch(/deployed stack/);
    expect(await jobCount()).toBe(before);
  });

  it('answers 502 with the reason when the model fails', async () => {
    // Prepare
    fixture.platform.sageMaker.failNextInvocations(ENDPOINT, 1, {
      status: 500,
      body: '{"message":"CUDA out of memory"}',
    });

    // Act
    const answer = await fixture.api.post<{ error: { details: { job_id: string } } }>('/api/v1/generate', {
      prompt: 'x',
      width: 64,
      height: 64,
    });

    // Assess
    expectError(answer, 502, 'MODEL_ERROR');
    const job = await fixture.api.get<{ status: string; error: { code: string } }>(
      `/api/v1/jobs/${answer.body.error.details.job_id}`,
    );
    expect(job.body).toMatchObject({ status: 'failed', error: { code: 'MODEL_ERROR' } });
    // The endpoint's failure object is staging: once the job holds the reason, it goes.
    await vi.waitFor(async () => expect(await stagedKeys('failures')).toEqual([]));
  });

  it('retries a throttled endpoint and then makes the image', async () => {
    // Prepare
    fixture.platform.sageMaker.throttleNext(ENDPOINT, 2);

    // Act
    const answer = await fixture.api.post<GenerateResponse>('/api/v1/generate', {
      prompt: 'x',
      width: 64,
      height: 64,
    });

    // Assess
    expect(answer.status, answer.text).toBe(200);
    expect((await decodePng(answer.body.image_url)).width).toBe(64);
  });
});

describe('GET /api/v1/generate/{job_id}', () => {
  it('fails a job whose step hears no heartbeat, as Step Functions does', async () => {
    // Prepare: no wait, so the answer is the 202 with where to poll.
    const submitted = await fixture.platform.runtime.images.generate('dev', {
      prompt: UNANSWERED,
      width: 64,
      height: 64,
      guidance_scale: 7.5,
    });

    // Act
    const answer = await pollImage(submitted.job.id);

    // Assess
    expectError(answer, 502, 'MODEL_ERROR');
    const stored = await fixture.api.get<{ status: string; error: { code: string } }>(
      `/api/v1/jobs/${submitted.job.id}`,
    );
    expect(stored.body).toMatchObject({ status: 'failed', error: { code: 'States.HeartbeatTimeout' } });
  });

  it('answers 202 with the phase while the job is not done', async () => {
    // Prepare
    const submitted = await fixture.platform.runtime.images.generate('dev', {
      prompt: UNANSWERED,
      width: 64,
      height: 64,
      guidance_scale: 7.5,
    });

    // Act
    const answer = await fixture.api.get<{ status: string; phase: string; job_id: string }>(
      `/api/v1/generate/${submitted.job.id}`,
    );

    // Assess
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ job_id: submitted.job.id, phase: 'queued' });
    expect(answer.headers.get('location')).toMatch(new RegExp(`/api/v1/generate/${submitted.job.id}$`));
  });
});

describe('cancel', () => {
  it('stops an image batch whose job waits on its endpoint: the job ends cancelled, its token unanswered', async () => {
    // Prepare
    const submitted = await fixture.platform.runtime.images.generate('dev', {
      prompt: UNANSWERED,
      width: 64,
      height: 64,
      guidance_scale: 7.5,
    });
    const deadline = Date.now() + 5_000;
    while (
      (await fixture.api.get<{ status: string }>(`/api/v1/jobs/${submitted.batch.id}`)).body.status !==
      'running'
    ) {
      if (Date.now() > deadline) throw new Error('the image batch did not start');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    // Act
    const cancelled = await fixture.api.delete<{ status: string }>(`/api/v1/jobs/${submitted.batch.id}`);

    // Assess
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    const job = await fixture.api.get<{ status: string }>(`/api/v1/jobs/${submitted.job.id}`);
    expect(job.body.status).toBe('cancelled');
    const answer = await fixture.api.get(`/api/v1/generate/${submitted.job.id}`);
    expectError(answer, 409, 'ILLEGAL_STATE');
  });
});

describe('POST /api/v1/generate/batch', () => {
  it('answers 202 with where to poll, then the images in seed 001 shape', async () => {
    // Act
    const accepted = await fixture.api.post<{ batch_id: string; jobs: { job_id: string; prompt: string }[] }>(
      '/api/v1/generate/batch',
      { prompts: ['vivid circles', 'muted stars'], batch_size: 2, width: 96, height: 64, seed: 100 },
    );
    let result = await fixture.api.get<{
      status: string;
      images: { status: string; image_url?: string; prompt: string; seed: number }[];
    }>(`/api/v1/generate/batch/${accepted.body.batch_id}`);
    const deadline = Date.now() + 20_000;
    while (result.body.status !== 'completed' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      result = await fixture.api.get(`/api/v1/generate/batch/${accepted.body.batch_id}`);
    }

    // Assess
    expect(accepted.status, accepted.text).toBe(202);
    expect(accepted.headers.get('location')).toMatch(
      new RegExp(`/api/v1/generate/batch/${accepted.body.batch_id}$`),
    );
    expect(accepted.body.jobs.map((job) => job.prompt)).toEqual(['vivid circles', 'muted stars']);
    expect(result.body.status).toBe('completed');
    expect(result.body.images.map((image) => [image.prompt, image.seed, image.status])).toEqual([
      ['vivid circles', 100, 'completed'],
      ['muted stars', 101, 'completed'],
    ]);
    for (const image of result.body.images) {
      const png = await decodePng(image.image_url ?? '');
      expect([png.width, png.height]).toEqual([96, 64]);
    }
  });

  it('refuses a batch_size that is not the number of prompts', async () => {
    const answer = await fixture.api.post('/api/v1/generate/batch', { prompts: ['a', 'b'], batch_size: 3 });
    expectError(answer, 400, 'INVALID_PARAMETERS');
    expect(answer.text).toContain('batch_size must equal the number of prompts');
  });
});

describe('POST /api/v1/batches with models as generators', () => {
  const modelRun = (param_values: Record<string, unknown>) => ({ name: 'shapes-endpoint', param_values });

  it('runs each job run of a model as an image job, and links each PNG from the summary', async () => {
    // Act
    const accepted = await fixture.api.post<{
      id: string;
      job_runs: { name: string; param_values: object }[];
    }>('/api/v1/batches', {
      name: 'models through seed 000',
      job_runs: [
        modelRun({ prompt: 'bold stars', width: 96, height: 64, seed: 5 }),
        modelRun({ prompt: 'soft circles', width: 80, height: 64 }),
      ],
    });
    const summary = await pollSummary(accepted.body.id);

    // Assess
    expect(accepted.status, accepted.text).toBe(202);
    expect(accepted.body.job_runs[0]).toMatchObject({
      name: 'shapes-endpoint',
      param_values: { prompt: 'bold stars', width: 96, height: 64, seed: 5, model_id: SHAPES_MODEL },
    });
    expect(summary.status).toBe('completed');
    const sizes = [];
    for (const job of summary.job_runs) {
      expect(decodeURIComponent(job.result_url ?? '')).toContain(`${job.id}.png`);
      const png = await decodePng(job.result_url ?? '');
      sizes.push([png.width, png.height]);
    }
    expect(sizes).toEqual([
      [96, 64],
      [80, 64],
    ]);
    const asImages = await fixture.api.get<{ images: { prompt: string }[] }>(
      `/api/v1/generate/batch/${accepted.body.id}`,
    );
    expect(asImages.body.images.map((image) => image.prompt)).toEqual(['bold stars', 'soft circles']);
  });

  it('estimates instance seconds and their price for models, and none for procedural generators', async () => {
    // Act
    const gpu = await fixture.api.post<{
      gpu_seconds: number;
      items: number;
      cost_breakdown: { compute_usd: number };
      assumptions: Record<string, string | number>;
    }>('/api/v1/batches/estimate', {
      job_runs: [
        modelRun({ prompt: 'a', width: 512, height: 512, num_inference_steps: 50 }),
        modelRun({ prompt: 'b', width: 1024, height: 512, num_inference_steps: 25 }),
      ],
    });
    const cpu = await fixture.api.post<{ gpu_seconds: number }>('/api/v1/batches/estimate', {
      job_runs: [{ name: 'shapes' }],
    });

    // Assess
    const model = fixture.platform.runtime.images.deps.models.byName('shapes-endpoint');
    if (!model) throw new Error('the local platform serves shapes-endpoint');
    // 512² at 50 steps is one `secondsPerImage`; twice the pixels at half the steps is one more.
    expect(gpu.status, gpu.text).toBe(200);
    expect(gpu.body.items).toBe(2);
    expect(gpu.body.gpu_seconds).toBeCloseTo(2 * model.secondsPerImage, 2);
    expect(gpu.body.cost_breakdown.compute_usd).toBeCloseTo(
      ((2 * model.secondsPerImage) / 3600) * model.usdPerHour,
      6,
    );
    expect(gpu.body.assumptions.instance_types).toBe(model.instanceType);
    expect(cpu.body.gpu_seconds).toBe(0);
  });

  it("lists every run's problems in one 400, by the seed 001 rules, and stores nothing", async () => {
    // Prepare
    const before = await jobCount();

    // Act
    const answer = await fixture.api.post<{
      error: {
        details: { job_runs: { index: number; violations: { parameter: string; kind: string }[] }[] };
      };
    }>('/api/v1/batches', {
      job_runs: [
        modelRun({ prompt: 'fine' }),
        modelRun({ width: 2048 }),
        modelRun({ prompt: 'x', height: 100, model_id: SHAPES_MODEL }),
      ],
    });
    const validated = await fixture.api.post<{ valid: boolean; results: ({ parameter: string }[] | null)[] }>(
      '/api/v1/generators/shapes-endpoint/validate',
      { job_params: [{ prompt: 'fine' }, { prompt: 'x', height: 100 }] },
    );

    // Assess
    expectError(answer, 400, 'INVALID_PARAMETERS');
    expect(
      answer.body.error.details.job_runs.map((run) => [
        run.index,
        run.violations.map((violation) => `${violation.parameter}:${violation.kind}`).sort(),
      ]),
    ).toEqual([
      [1, ['prompt:type', 'width:range']],
      [2, ['height:range', 'model_id:unsupported']],
    ]);
    expect(validated.body.valid).toBe(false);
    expect(validated.body.results[0]).toBeNull();
    expect(validated.body.results[1]?.map((violation) => violation.parameter)).toEqual(['height']);
    expect(await jobCount()).toBe(before);
  });

  it('refuses a batch that mixes Lambda and endpoint generators, and a model that cannot serve here', async () => {
    // Prepare
    const before = await jobCount();

    // Act
    const mixed = await fixture.api.post<{ error: { details: { job_runs: { index: number }[] } } }>(
      '/api/v1/batches',
      { job_runs: [{ name: 'shapes' }, modelRun({ prompt: 'x' })] },
    );
    const gpu = await fixture.api.post('/api/v1/batches', {
      job_runs: [{ name: 'stable-diffusion-v1-5', param_values: { prompt: 'x' } }],
    });

    // Assess
    expectError(mixed, 400, 'INVALID_PARAMETERS');
    expect(mixed.body.error.details.job_runs.map((run) => run.index)).toEqual([1]);
    expect(mixed.text).toContain('submit them as two batches');
    expectError(gpu, 503, 'UNAVAILABLE');
    expect(await jobCount()).toBe(before);
  });
});

describe('the endpoint', () => {
  it('lists the models as generators that run on endpoints', async () => {
    const list = await fixture.api.get<{ generators: { name: string; runs_on: string }[] }>(
      '/api/v1/generators',
    );
    expect(list.body.generators).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'shapes-endpoint', runs_on: 'endpoint' }),
        expect.objectContaining({ name: 'stable-diffusion-v1-5', runs_on: 'endpoint' }),
      ]),
    );
    const shown = await fixture.api.get<{ params: { name: string }[] }>('/api/v1/generators/shapes-endpoint');
    expect(shown.body.params.map((spec) => spec.name)).toEqual([
      'prompt',
      'negative_prompt',
      'width',
      'height',
      'num_inference_steps',
      'guidance_scale',
      'seed',
      'profile',
    ]);
  });
});
