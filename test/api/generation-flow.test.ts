/**
 * The generation flow as a user sees it, over real HTTP against the local platform: submit a batch,
 * poll it, download every result and check what is inside, then the list, log, usage, estimate,
 * single-job, generator and public routes.
 */
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { JobList, JobLogs, RandomResponse, Root, Usage, ValidateResponse } from '../../contracts/api.ts';
import type {
  Batch,
  BatchEstimate,
  BatchList,
  BatchSummary,
  SingleJobResponse,
} from '../../contracts/batches.ts';
import type { GeneratorInfo, ParamValues } from '../../contracts/generators.ts';
import type { Job } from '../../contracts/jobs.ts';
import { ROUTE_LIST } from '../../contracts/routes.ts';
import { deriveSeed } from '../../lambdas/domain/generators/rng.ts';
import type { CocoDataset } from '../../lambdas/domain/generators/shapes/coco.ts';
import { readShapesParams, SHAPE_CLASSES } from '../../lambdas/domain/generators/shapes/parameters.ts';
import { renderScene } from '../../lambdas/domain/generators/shapes/scene.ts';
import { frameSize } from '../../lambdas/domain/generators/shapes/shapes-generator.ts';
import { readZipFiles } from '../lambdas/domain/archive/read-zip.ts';
import { type Api, expectError, usePlatform, waitForBatch } from '../support/platform.ts';

const fixture = usePlatform();

interface RunRequest {
  name: string;
  is_preview: boolean;
  param_values: ParamValues;
}

/** Small scenes, distinct seeds; the second is sharp on a solid background so pixels can be checked directly. */
const STANDARD_RUNS: RunRequest[] = [
  {
    name: 'shapes',
    is_preview: false,
    param_values: { image_width: 96, image_height: 128, frames: 2, seed: 11 },
  },
  {
    name: 'shapes',
    is_preview: false,
    param_values: {
      image_width: 160,
      image_height: 96,
      frames: 3,
      seed: 22,
      background: 'solid',
      blur: 0,
      noise: 0,
      lighting: 1,
    },
  },
  {
    name: 'shapes',
    is_preview: false,
    param_values: { image_width: 128, image_height: 128, frames: 1, seed: 33, blur: 1.5, noise: 0.05 },
  },
];
/** A preview of a 320x160 scene: one frame, 256x128. */
const PREVIEW_RUN: RunRequest = {
  name: 'shapes',
  is_preview: true,
  param_values: { image_width: 320, image_height: 160, frames: 5, seed: 44 },
};
const RUNS = [...STANDARD_RUNS, PREVIEW_RUN];
const EXPECTED_FRAMES = [2, 3, 1, 1];
const EXPECTED_SIZES = [
  [96, 128],
  [160, 96],
  [128, 128],
  [256, 128],
];

interface DecodedFrame {
  width: number;
  height: number;
  rgb: Uint8Array;
}

function decodePng(png: Uint8Array): DecodedFrame {
  const image = PNG.sync.read(Buffer.from(png));
  const rgb = new Uint8Array(image.width * image.height * 3);
  for (let pixel = 0; pixel < image.width * image.height; pixel++) {
    rgb.set(image.data.subarray(pixel * 4, pixel * 4 + 3), pixel * 3);
  }
  return { width: image.width, height: image.height, rgb };
}

const frameName = (index: number) => `frames/frame_${String(index).padStart(4, '0')}.png`;

/** Tight boxes and areas read from an object-id map: the ground truth annotations must equal. */
function boxesOf(objectIds: Uint16Array, width: number, height: number) {
  const boxes = new Map<number, { left: number; top: number; right: number; bottom: number; area: number }>();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const id = objectIds[y * width + x] ?? 0;
      if (id === 0) continue;
      const box = boxes.get(id) ?? { left: x, top: y, right: x, bottom: y, area: 0 };
      box.left = Math.min(box.left, x);
      box.right = Math.max(box.right, x);
      box.top = Math.min(box.top, y);
      box.bottom = Math.max(box.bottom, y);
      box.area++;
      boxes.set(id, box);
    }
  }
  return [...boxes.entries()]
    .sort(([a], [b]) => a - b)
    .map(([id, box]) => ({
      id,
      bbox: [box.left, box.top, box.right - box.left + 1, box.bottom - box.top + 1],
      area: box.area,
    }));
}

/** The files of a job's archive, by name within the job's folder (which every entry must be under). */
async function download(url: string, jobId: string): Promise<Map<string, Uint8Array>> {
  const response = await fetch(url);
  expect(response.status, url).toBe(200);
  const bytes = new Uint8Array(await response.arrayBuffer());
  // A ZIP starts with a local file header.
  expect(Buffer.from(bytes.subarray(0, 4)).toString('latin1')).toBe('PK\x03\x04');
  const files = readZipFiles(bytes);
  // One folder named after the job: archives of many jobs extract side by side (seed 000's client).
  const outside = [...files.keys()].filter((name) => !name.startsWith(`${jobId}/`));
  expect(outside, `entries outside ${jobId}/`).toEqual([]);
  return new Map([...files].map(([name, data]) => [name.slice(jobId.length + 1), data]));
}

describe('a batch of three standard jobs and one preview', () => {
  let api: Api;
  let submitted: { status: number; body: Batch };
  let summary: BatchSummary;
  let batch: Batch;
  let submittedFrom: Date;
  let submittedUntil: Date;
  /** Per job run, in request order. */
  let archives: Map<string, Uint8Array>[];

  beforeAll(async () => {
    api = fixture.api;
    submittedFrom = new Date();
    const response = await api.post<Batch>('/api/v1/batches', { name: 'flow batch', job_runs: RUNS });
    submittedUntil = new Date(Date.now() + 1);
    submitted = { status: response.status, body: response.body };
    if (response.status !== 202) throw new Error(`submission answered ${response.status}: ${response.text}`);
    summary = await waitForBatch(api, response.body.id);
    batch = (await api.get<Batch>(`/api/v1/batches/${response.body.id}`)).body;
    archives = await Promise.all(
      summary.job_runs.map((job) =>
        job.result_url ? download(job.result_url, job.id) : Promise.resolve(new Map()),
      ),
    );
  });

  it('answers 202 at once with the batch, its jobs in request order and their complete parameters', () => {
    // Assess
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ name: 'flow batch', total: 4 });
    expect(['pending', 'running']).toContain(submitted.body.status);
    expect(submitted.body.job_runs.map((job) => [job.name, job.is_preview])).toEqual(
      RUNS.map((run) => [run.name, run.is_preview]),
    );
    submitted.body.job_runs.forEach((job, index) => {
      expect(job.param_values).toMatchObject(RUNS[index]?.param_values ?? {});
      // Defaults are filled in, so the job can be rerun exactly.
      expect(Object.keys(job.param_values)).toContain('palette');
    });
  });

  it('ends completed with every job completed and a result link for each', () => {
    // Assess
    expect(summary.status).toBe('completed');
    expect(summary.counts).toEqual({ pending: 0, running: 0, completed: 4, failed: 0, cancelled: 0 });
    expect(summary.job_runs.map((job) => job.id)).toEqual(submitted.body.job_runs.map((job) => job.id));
    for (const job of summary.job_runs) {
      expect(job).toMatchObject({ status: 'completed', in_progress: false });
      expect(job.result_url).toMatch(/^https?:\/\//);
    }
  });

  it("puts the frames, annotations.json and params.json in every archive, under the job's folder, and nothing else", () => {
    // Assess
    archives.forEach((files, index) => {
      const frames = Array.from({ length: EXPECTED_FRAMES[index] ?? 0 }, (_, i) => frameName(i));
      expect([...files.keys()].sort()).toEqual([...frames, 'annotations.json', 'params.json'].sort());
    });
  });

  it('renders PNG frames at the requested size, and a preview as one frame of at most 256 px', () => {
    // Assess
    archives.forEach((files, index) => {
      const [width, height] = EXPECTED_SIZES[index] ?? [];
      for (const [name, data] of files) {
        if (!name.endsWith('.png')) continue;
        const frame = decodePng(data);
        expect([frame.width, frame.height], `${index}: ${name}`).toEqual([width, height]);
      }
    });
    const preview = archives[3] as Map<string, Uint8Array>;
    expect([...preview.keys()].filter((name) => name.endsWith('.png'))).toEqual([frameName(0)]);
  });

  it('writes COCO annotations whose every box lies inside its image', () => {
    // Assess
    archives.forEach((files, index) => {
      const coco = JSON.parse(
        Buffer.from(files.get('annotations.json') ?? []).toString('utf8'),
      ) as CocoDataset;
      expect(coco.categories.map((category) => [category.id, category.name])).toEqual(
        SHAPE_CLASSES.map((name, i) => [i + 1, name]),
      );
      expect(coco.images.map((image) => image.file_name)).toEqual(
        Array.from({ length: EXPECTED_FRAMES[index] ?? 0 }, (_, i) => frameName(i)),
      );
      const images = new Map(coco.images.map((image) => [image.id, image]));
      expect(coco.annotations.length).toBeGreaterThan(0);
      for (const annotation of coco.annotations) {
        const image = images.get(annotation.image_id);
        expect(image, `annotation ${annotation.id} names image ${annotation.image_id}`).toBeDefined();
        const [x, y, w, h] = annotation.bbox;
        expect(annotation.bbox.every(Number.isInteger)).toBe(true);
        expect(x).toBeGreaterThanOrEqual(0);
        expect(y).toBeGreaterThanOrEqual(0);
        expect(w).toBeGreaterThan(0);
        expect(h).toBeGreaterThan(0);
        expect(x + w).toBeLessThanOrEqual(image?.width ?? 0);
        expect(y + h).toBeLessThanOrEqual(image?.height ?? 0);
        expect(annotation.area).toBeGreaterThan(0);
        expect(annotation.area).toBeLessThanOrEqual(w * h);
      }
    });
  });

  it('gives the exact pixels and boxes of the scene re-rendered from the job parameters', () => {
    // Assess: frame i of a job is the scene drawn from deriveSeed(seed, i) at the frame size.
    batch.job_runs.forEach((job, index) => {
      const files = archives[index] as Map<string, Uint8Array>;
      const coco = JSON.parse(
        Buffer.from(files.get('annotations.json') ?? []).toString('utf8'),
      ) as CocoDataset;
      const params = readShapesParams(job.param_values);
      const { width, height } = frameSize(params, job.is_preview);
      coco.images.forEach((image, frame) => {
        const scene = renderScene(params, width, height, deriveSeed(params.seed, frame));
        const decoded = decodePng(files.get(image.file_name) ?? new Uint8Array());
        expect(Buffer.from(decoded.rgb).equals(Buffer.from(scene.rgb)), `${index}: ${image.file_name}`).toBe(
          true,
        );

        const truth = boxesOf(scene.objectIds, width, height).map((box) => ({
          category_id: SHAPE_CLASSES.indexOf(scene.objects[box.id - 1]?.shape ?? 'circle') + 1,
          bbox: box.bbox,
          area: box.area,
        }));
        const written = coco.annotations
          .filter((annotation) => annotation.image_id === image.id)
          .map(({ category_id, bbox, area }) => ({ category_id, bbox, area }));
        expect(written, `${index}: ${image.file_name}`).toEqual(truth);
      });
    });
  });

  it('on a sharp solid background, boxes are tight around object pixels and no object pixel lies outside them', () => {
    // Prepare: job 1 has blur 0, noise 0, lighting 1 and a solid background.
    const files = archives[1] as Map<string, Uint8Array>;
    const coco = JSON.parse(Buffer.from(files.get('annotations.json') ?? []).toString('utf8')) as CocoDataset;

    for (const image of coco.images) {
      const { width, height, rgb } = decodePng(files.get(image.file_name) ?? new Uint8Array());
      const boxes = coco.annotations.filter((annotation) => annotation.image_id === image.id);
      const colourAt = (x: number, y: number) => {
        const i = (y * width + x) * 3;
        return ((rgb[i] ?? 0) << 16) | ((rgb[i + 1] ?? 0) << 8) | (rgb[i + 2] ?? 0);
      };
      const inAnyBox = (x: number, y: number) =>
        boxes.some(({ bbox: [bx, by, bw, bh] }) => x >= bx && x < bx + bw && y >= by && y < by + bh);

      // Act: the background is the one colour found outside every box.
      const outside = new Set<number>();
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) if (!inAnyBox(x, y)) outside.add(colourAt(x, y));

      // Assess
      expect(outside.size, `${image.file_name}: colours outside every box`).toBe(1);
      const background = [...outside][0];
      for (const { bbox, area, id } of boxes) {
        const [bx, by, bw, bh] = bbox;
        const differs = (x: number, y: number) => colourAt(x, y) !== background;
        const edges = {
          top: Array.from({ length: bw }, (_, i) => differs(bx + i, by)).some(Boolean),
          bottom: Array.from({ length: bw }, (_, i) => differs(bx + i, by + bh - 1)).some(Boolean),
          left: Array.from({ length: bh }, (_, i) => differs(bx, by + i)).some(Boolean),
          right: Array.from({ length: bh }, (_, i) => differs(bx + bw - 1, by + i)).some(Boolean),
        };
        expect(edges, `annotation ${id}: each edge of its box touches the object`).toEqual({
          top: true,
          bottom: true,
          left: true,
          right: true,
        });
        let nonBackground = 0;
        for (let y = by; y < by + bh; y++)
          for (let x = bx; x < bx + bw; x++) if (differs(x, y)) nonBackground++;
        expect(nonBackground).toBeGreaterThanOrEqual(area);
      }
    }
  });

  it('writes params.json equal to the parameters the batch reports for the job', () => {
    // Assess
    batch.job_runs.forEach((job, index) => {
      const params = JSON.parse(Buffer.from(archives[index]?.get('params.json') ?? []).toString('utf8'));
      expect(params).toEqual(job.param_values);
    });
  });

  it('reports the batch with its final counts on GET /batches/{id}', () => {
    // Assess
    expect(batch).toMatchObject({ id: submitted.body.id, status: 'completed', total: 4, name: 'flow batch' });
    expect(batch.counts).toEqual({ pending: 0, running: 0, completed: 4, failed: 0, cancelled: 0 });
    expect(
      batch.job_runs.every((job) => job.status === 'completed' && !job.in_progress && job.progress === 100),
    ).toBe(true);
  });

  it('lists the batch on GET /batches within its time range and not outside it', async () => {
    // Act
    const within = await api.get<z.infer<typeof BatchList>>('/api/v1/batches', {
      start_time: submittedFrom.toISOString(),
      end_time: submittedUntil.toISOString(),
    });
    const before = await api.get<z.infer<typeof BatchList>>('/api/v1/batches', {
      end_time: submittedFrom.toISOString(),
    });
    const after = await api.get<z.infer<typeof BatchList>>('/api/v1/batches', {
      start_time: submittedUntil.toISOString(),
    });

    // Assess
    expect(within.status).toBe(200);
    expect(within.body.batches).toEqual([
      { id: submitted.body.id, name: 'flow batch', status: 'completed', created: batch.created, total: 4 },
    ]);
    expect(before.body.batches.map((b) => b.id)).not.toContain(submitted.body.id);
    expect(after.body.batches.map((b) => b.id)).not.toContain(submitted.body.id);
  });

  it('filters GET /jobs by batch and status, and by kind', async () => {
    // Act
    const completed = await api.get<z.infer<typeof JobList>>('/api/v1/jobs', {
      batch: submitted.body.id,
      status: 'completed',
    });
    const failed = await api.get<z.infer<typeof JobList>>('/api/v1/jobs', {
      batch: submitted.body.id,
      status: 'failed',
    });
    const batches = await api.get<z.infer<typeof JobList>>('/api/v1/jobs', { kind: 'batch' });

    // Assess
    expect(completed.status).toBe(200);
    expect(completed.body.jobs.map((job) => job.id).sort()).toEqual(
      submitted.body.job_runs.map((job) => job.id).sort(),
    );
    expect(
      completed.body.jobs.every((job) => job.batch_id === submitted.body.id && job.kind === 'generation'),
    ).toBe(true);
    expect(failed.body.jobs).toEqual([]);
    expect(batches.body.jobs.length).toBeGreaterThan(0);
    expect(batches.body.jobs.every((job) => job.kind === 'batch')).toBe(true);
    const listed = batches.body.jobs.find((job) => job.id === submitted.body.id);
    expect(listed).toMatchObject({ status: 'completed', total: 4 });
  });

  it('pages GET /jobs with limit=1 and next_cursor through every job once, newest first', async () => {
    // Act
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const response = await api.get<z.infer<typeof JobList>>('/api/v1/jobs', {
        batch: submitted.body.id,
        limit: 1,
        cursor,
      });
      expect(response.status, response.text).toBe(200);
      expect(response.body.jobs.length).toBeLessThanOrEqual(1);
      seen.push(...response.body.jobs.map((job) => job.id));
      cursor = response.body.next_cursor;
      if (cursor === undefined) break;
    }

    // Assess
    expect(cursor).toBeUndefined();
    expect(seen).toEqual(submitted.body.job_runs.map((job) => job.id).reverse());
  });

  it('returns the last two log entries for tail=2', async () => {
    // Prepare: the batch logged its submission, its start and its end.
    const batchId = submitted.body.id;
    const all = await api.get<z.infer<typeof JobLogs>>(`/api/v1/jobs/${batchId}/logs`, { tail: 1000 });

    // Act
    const tail = await api.get<z.infer<typeof JobLogs>>(`/api/v1/jobs/${batchId}/logs`, { tail: 2 });
    const jobTail = await api.get<z.infer<typeof JobLogs>>(
      `/api/v1/jobs/${submitted.body.job_runs[0]?.id}/logs`,
      {
        tail: 1,
      },
    );

    // Assess
    expect(tail.status).toBe(200);
    expect(all.body.entries.length).toBeGreaterThan(2);
    expect(all.body.entries[0]?.message).toMatch(/submitted 4 jobs/);
    expect(tail.body).toEqual({ job_id: batchId, entries: all.body.entries.slice(-2) });
    expect(tail.body.entries[1]?.message).toMatch(/^completed: 4 completed/);
    expect(jobTail.body.entries.map((entry) => entry.message)).toEqual([
      expect.stringMatching(/^completed: 2 frames/),
    ]);
  });

  it('counts the batch, its jobs, frames and bytes on GET /usage', async () => {
    // Prepare
    const jobs = await Promise.all(
      submitted.body.job_runs.map(async (job) => (await api.get<Job>(`/api/v1/jobs/${job.id}`)).body),
    );

    // Act
    const usage = await api.get<z.infer<typeof Usage>>('/api/v1/usage', {
      start_time: submittedFrom.toISOString(),
      end_time: submittedUntil.toISOString(),
    });

    // Assess
    expect(usage.status).toBe(200);
    expect(usage.body).toMatchObject({
      truncated: false,
      batches: 1,
      jobs: {
        total: 4,
        standard: 3,
        preview: 1,
        by_status: { pending: 0, running: 0, completed: 4, failed: 0, cancelled: 0 },
      },
      frames: EXPECTED_FRAMES.reduce((a, b) => a + b, 0),
      result_bytes: jobs.reduce((sum, job) => sum + (job.result?.bytes ?? 0), 0),
    });
    expect(jobs.map((job) => job.result?.frames)).toEqual(EXPECTED_FRAMES);
  });

  it('estimates the same batch as four items with their frames, without starting anything', async () => {
    // Prepare
    const executionsBefore = fixture.platform.workflows.generationBatch.executions.size;

    // Act
    const estimate = await api.post<BatchEstimate>('/api/v1/batches/estimate', { job_runs: RUNS });

    // Assess
    expect(estimate.status).toBe(200);
    expect(estimate.body).toMatchObject({ items: 4, frames_per_job: EXPECTED_FRAMES, total_frames: 7 });
    expect(estimate.body.estimated_cost_usd).toBeGreaterThan(0);
    expect(fixture.platform.workflows.generationBatch.executions.size).toBe(executionsBefore);
  });
});

describe('single jobs', () => {
  it.each([
    ['standard', { image_width: 112, image_height: 80, frames: 2, seed: 5 }, 2, [112, 80]],
    ['preview', { image_width: 512, image_height: 384, frames: 9, seed: 6 }, 1, [256, 192]],
  ] as const)('POST /jobs/%s starts a batch of one that completes', async (kind, params, frames, size) => {
    // Act
    const response = await fixture.api.post<z.infer<typeof SingleJobResponse>>(`/api/v1/jobs/${kind}`, {
      name: 'shapes',
      param_values: params,
    });
    const summary = await waitForBatch(fixture.api, response.body.batch_id);

    // Assess
    expect(response.status, response.text).toBe(202);
    expect(response.body.job).toMatchObject({
      kind: 'generation',
      batch_id: response.body.batch_id,
      generator: 'shapes',
      is_preview: kind === 'preview',
    });
    expect(summary).toMatchObject({ status: 'completed', total: 1 });
    expect(summary.job_runs.map((job) => job.id)).toEqual([response.body.job.id]);
    const files = await download(summary.job_runs[0]?.result_url ?? '', response.body.job.id);
    const pngs = [...files.keys()].filter((name) => name.endsWith('.png'));
    expect(pngs).toHaveLength(frames);
    const frame = decodePng(files.get(frameName(0)) ?? new Uint8Array());
    expect([frame.width, frame.height]).toEqual(size);
    const job = await fixture.api.get<Job>(`/api/v1/jobs/${response.body.job.id}`);
    expect(job.body).toMatchObject({ status: 'completed', progress: 100, result: { frames } });
  });
});

describe('generators', () => {
  it('lists shapes and shows its parameters with defaults and ranges', async () => {
    // Act
    const list = await fixture.api.get<{ generators: { name: string }[] }>('/api/v1/generators');
    const shapes = await fixture.api.get<GeneratorInfo>('/api/v1/generators/shapes');
    const missing = await fixture.api.get('/api/v1/generators/no-such-generator');

    // Assess
    expect(list.status).toBe(200);
    expect(list.body.generators.map((generator) => generator.name)).toContain('shapes');
    expect(shapes.status).toBe(200);
    expect(shapes.body).toMatchObject({ name: 'shapes', options: { preview: true }, runs_on: 'lambda' });
    const width = shapes.body.params.find((param) => param.name === 'image_width');
    expect(width).toMatchObject({ type: 'int', default_value: 512, options: { min: 64, max: 1024 } });
    expectError(missing, 404, 'NOT_FOUND');
  });

  it('validates one valid and one invalid job as [null, [violations]]', async () => {
    // Act
    const response = await fixture.api.post<z.infer<typeof ValidateResponse>>(
      '/api/v1/generators/shapes/validate',
      {
        job_params: [
          { image_width: 128, frames: 2 },
          { image_width: 10_000, palette: 'neon', colour: 'red' },
        ],
      },
    );

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.valid).toBe(false);
    expect(response.body.results[0]).toBeNull();
    const violations = response.body.results[1] ?? [];
    expect(violations.map((violation) => [violation.parameter, violation.kind]).sort()).toEqual([
      ['colour', 'unsupported'],
      ['image_width', 'range'],
      ['palette', 'choice'],
    ]);
    expect(violations.find((violation) => violation.parameter === 'image_width')).toMatchObject({
      value: 10_000,
    });
  });

  it('samples five random parameter sets that all validate', async () => {
    // Act
    const random = await fixture.api.post<z.infer<typeof RandomResponse>>(
      '/api/v1/generators/shapes/random',
      {
        n: 5,
        seed: 1234,
        param_values: { image_width: 200 },
      },
    );
    const validated = await fixture.api.post<z.infer<typeof ValidateResponse>>(
      '/api/v1/generators/shapes/validate',
      { job_params: random.body.job_params },
    );

    // Assess
    expect(random.status).toBe(200);
    expect(random.body.job_params).toHaveLength(5);
    expect(random.body.job_params.every((params) => params.image_width === 200)).toBe(true);
    expect(new Set(random.body.job_params.map((params) => JSON.stringify(params))).size).toBe(5);
    expect(validated.body).toEqual({ valid: true, results: [null, null, null, null, null] });
  });
});

describe('public routes', () => {
  const publicGet = (path: string) => fetch(new URL(path, fixture.platform.url));

  it('answers /health and / without a key', async () => {
    // Act
    const health = await publicGet('/health');
    const root = await publicGet('/');
    const rootBody = (await root.json()) as z.infer<typeof Root>;

    // Assess
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', stage: 'local' });
    expect(root.status).toBe(200);
    expect(rootBody).toMatchObject({ name: 'SynthForge' });
    expect(rootBody.docs).toBe(`${fixture.platform.url}/docs`);
    expect(rootBody.openapi).toBe(`${fixture.platform.url}/openapi.json`);
  });

  it('documents every route of the route table in /openapi.json', async () => {
    // Act
    const response = await publicGet('/openapi.json');
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };

    // Assess
    expect(response.status).toBe(200);
    expect(document.openapi).toMatch(/^3\./);
    for (const route of ROUTE_LIST) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()] as { operationId?: string };
      expect(operation?.operationId, `${route.method} ${route.path}`).toBe(route.operationId);
    }
  });

  it.each(['/docs', '/redoc'])('serves %s as HTML whose scripts and styles are served too', async (path) => {
    // Act
    const page = await publicGet(path);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? '');

    // Assess
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(html).toContain('/openapi.json');
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      const url = new URL(asset, fixture.platform.url);
      expect(url.pathname).toMatch(/^\/docs\/./);
      const response = await fetch(url);
      const body = await response.text();
      expect(response.status, asset).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/javascript|css/);
      expect(body.length).toBeGreaterThan(1000);
    }
  });
});

describe('jobs submitted without a seed', () => {
  it('each get their own seed, recorded in param_values, and so different scenes', async () => {
    // Prepare
    const tiny = { image_width: 64, image_height: 64, frames: 1 };

    // Act
    const submitted = await fixture.api.post<Batch>('/api/v1/batches', {
      job_runs: [
        { name: 'shapes', param_values: tiny },
        { name: 'shapes', param_values: tiny },
      ],
    });
    const summary = await waitForBatch(fixture.api, submitted.body.id);
    const archives = await Promise.all(
      summary.job_runs.map(async (job) =>
        Buffer.from(await (await fetch(job.result_url ?? '')).arrayBuffer()),
      ),
    );

    // Assess
    const seeds = submitted.body.job_runs.map((job) => job.param_values.seed);
    expect(seeds.every((seed) => Number.isInteger(seed))).toBe(true);
    expect(seeds[0]).not.toBe(seeds[1]);
    expect(archives[0]?.equals(archives[1] as Buffer)).toBe(false);
  });
});
