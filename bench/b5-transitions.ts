/**
 * B5, Step Functions cost: billable transitions counted from
 * real local executions of statemachines/generation-batch.asl.json (aws-local-stepfunctions, every
 * StateEntered event), for batches of 1, 10 and 50 tiny jobs. From them: transitions per job
 * ((T(50) − T(1)) / 49) and per batch, and the cost per 1,000 jobs next to a polling design
 * (Wait + Task + Choice every P = 10 s while a job waits W) with the same per-batch states.
 * The measured figures are checked against BATCH_TRANSITIONS, which the batch estimate bills.
 * The image workflow is measured the same way (batches of 1 and 10 prompts against the local
 * shapes endpoint), its callback design next to a poll loop through a GPU cold start.
 */
import type { LocalPlatform } from '../lambdas/local/platform.ts';
import { fmt, type Row, row } from './lib/rows.ts';

export interface B5Options {
  log: (line: string) => void;
  warn: (line: string) => void;
}

const BATCH_SIZES = [1, 10, 50] as const;

/** The poll loop a callback saves: P = 10 s, three states per poll, one state before and two after. */
export const POLLING_DESIGN = {
  intervalSeconds: 10,
  statesPerPoll: 3,
  statesBefore: 1,
  statesAfter: 2,
} as const;

/** The poll loop's transitions per item: 1 + 3 × ceil(W / P) + 2 (9 at W = 20 s, 183 at W = 10 min). */
export function pollingTransitionsPerItem(waitSeconds: number): number {
  const { intervalSeconds, statesPerPoll, statesBefore, statesAfter } = POLLING_DESIGN;
  return statesBefore + statesPerPoll * Math.ceil(waitSeconds / intervalSeconds) + statesAfter;
}

/** B5's targets: ≤ 4 transitions per item, and ≤ 0.05 of the poll loop at W = 10 min. */
const MAX_TRANSITIONS_PER_JOB = 4;
const POLL_RATIO_TARGET = 0.05;

export async function benchTransitions(options: B5Options): Promise<Row[]> {
  // Loaded here, so that the platform's modules load only when this benchmark runs.
  const [{ startLocalPlatform }, { BATCH_TRANSITIONS, PRICES }] = await Promise.all([
    import('../lambdas/local/platform.ts'),
    import('../lambdas/domain/pricing.ts'),
  ]);
  const platform = await startLocalPlatform({ port: 0, retryIntervalMs: 0 });
  const transitions = new Map<number, number>();
  const imageTransitions = new Map<number, number>();
  try {
    for (const size of BATCH_SIZES) {
      transitions.set(size, await runBatch(platform, size));
      options.log(`B5: a batch of ${size} took ${transitions.get(size)} transitions`);
    }
    for (const size of IMAGE_BATCH_SIZES) {
      imageTransitions.set(size, await runImageBatch(platform, size));
      options.log(`B5: an image batch of ${size} took ${imageTransitions.get(size)} transitions`);
    }
  } finally {
    await platform.stop();
  }

  const t1 = transitions.get(1) as number;
  const t10 = transitions.get(10) as number;
  const t50 = transitions.get(50) as number;
  const perJob = (t50 - t1) / 49;
  const perBatch = t1 - perJob;
  if (Math.abs(perBatch + 10 * perJob - t10) > 1e-9) {
    options.warn(`B5: transitions are not linear in batch size: T(1)=${t1}, T(10)=${t10}, T(50)=${t50}`);
  }
  if (perJob !== BATCH_TRANSITIONS.perJob || perBatch !== BATCH_TRANSITIONS.perBatch) {
    options.warn(
      `B5: measured ${perBatch} per batch + ${perJob} per job, but BATCH_TRANSITIONS in lambdas/domain/pricing.ts ` +
        `says ${BATCH_TRANSITIONS.perBatch} + ${BATCH_TRANSITIONS.perJob}: the batch estimate bills the wrong figure`,
    );
  }

  const price = PRICES.stepFunctionsPerTransition;
  const costPer1000 = (perItem: number) => (perBatch + 1000 * perItem) * price;
  const measured = `T(1)=${t1}, T(10)=${t10}, T(50)=${t50}`;
  const rows: Row[] = [
    row({
      bench: 'B5',
      metric: 'transitions per job',
      unit: '',
      reference: BATCH_TRANSITIONS.perJob,
      project: perJob,
      target: { kind: 'max', value: 1 },
      note: `reference = BATCH_TRANSITIONS.perJob (what the estimate bills); ${measured}; target ≤ ${MAX_TRANSITIONS_PER_JOB} ${perJob <= MAX_TRANSITIONS_PER_JOB ? '✓' : '✗'}`,
    }),
    row({
      bench: 'B5',
      metric: 'transitions per batch (fixed part)',
      unit: '',
      reference: BATCH_TRANSITIONS.perBatch,
      project: perBatch,
      target: { kind: 'max', value: 1 },
      note: 'reference = BATCH_TRANSITIONS.perBatch; T(1) − per job',
    }),
  ];
  for (const waitSeconds of [20, 600]) {
    const polling = pollingTransitionsPerItem(waitSeconds);
    rows.push(
      row({
        bench: 'B5',
        metric: `$ per 1,000 jobs, vs poll loop at W = ${waitSeconds >= 60 ? `${waitSeconds / 60} min` : `${waitSeconds} s`}`,
        unit: 'USD',
        reference: costPer1000(polling),
        project: costPer1000(perJob),
        ...(waitSeconds === 600 ? { target: { kind: 'max', value: POLL_RATIO_TARGET } as const } : {}),
        note:
          `one batch of 1,000; ${fmt(perJob)} vs ${polling} transitions per job (poll P = ${POLLING_DESIGN.intervalSeconds} s), ` +
          `same ${fmt(perBatch)} per-batch states, $${price * 1000} per 1,000 transitions`,
      }),
    );
  }
  rows.push(...(await imageRows(imageTransitions, options)));
  return rows;
}

const IMAGE_BATCH_SIZES = [1, 10] as const;
/** A GPU endpoint waking from zero: the wait a polling design pays for on every item of the first batch. */
const COLD_START_SECONDS = 480;

/**
 * The image workflow: InvokeModel waits on a task token, so an item costs the same transitions
 * whether its endpoint answers in a second or wakes from zero for minutes; a poll loop pays for every
 * poll of that wait. Plus B10: the GPU cost per 1,000 images from the stage's default model.
 */
async function imageRows(measured: Map<number, number>, options: B5Options): Promise<Row[]> {
  const [{ IMAGE_TRANSITIONS, PRICES }, { deployedModels, ImageGenerationConfigSchema }] = await Promise.all([
    import('../lambdas/domain/pricing.ts'),
    import('../contracts/models.ts'),
  ]);
  const t1 = measured.get(1) as number;
  const t10 = measured.get(10) as number;
  const perImage = (t10 - t1) / 9;
  const perBatch = t1 - perImage;
  if (perImage !== IMAGE_TRANSITIONS.perImage || perBatch !== IMAGE_TRANSITIONS.perBatch) {
    options.warn(
      `B5: the image workflow took ${perBatch} per batch + ${perImage} per image, but IMAGE_TRANSITIONS says ` +
        `${IMAGE_TRANSITIONS.perBatch} + ${IMAGE_TRANSITIONS.perImage}: the image estimate bills the wrong figure`,
    );
  }
  const price = PRICES.stepFunctionsPerTransition;
  const polling = pollingTransitionsPerItem(COLD_START_SECONDS);
  const costPer1000 = (perItem: number) => (perBatch + 1000 * perItem) * price;
  const [model] = deployedModels('bench', ImageGenerationConfigSchema.parse({}));
  const rows: Row[] = [
    row({
      bench: 'B5',
      metric: 'image workflow: transitions per image',
      unit: '',
      reference: IMAGE_TRANSITIONS.perImage,
      project: perImage,
      target: { kind: 'max', value: 1 },
      note: `reference = IMAGE_TRANSITIONS.perImage (what the image estimate bills); T(1)=${t1}, T(10)=${t10}; target ≤ ${MAX_TRANSITIONS_PER_JOB} ${perImage <= MAX_TRANSITIONS_PER_JOB ? '✓' : '✗'}, independent of queue time`,
    }),
    row({
      bench: 'B5',
      metric: `image workflow: $ per 1,000 images, callback vs poll loop through a ${COLD_START_SECONDS / 60} min cold start`,
      unit: 'USD',
      reference: costPer1000(polling),
      project: costPer1000(perImage),
      target: { kind: 'max', value: POLL_RATIO_TARGET },
      note: `task token: ${fmt(perImage)} transition per image however long the endpoint takes; poll P = ${POLLING_DESIGN.intervalSeconds} s: ${polling} per image`,
    }),
  ];
  if (model) {
    // The reference: SD 1.5 costs about $0.9 per 1,000 images on an A100 at its published
    // throughput; the stage's figure is its configured seconds per image at its instance's list price.
    const gpuPer1000 = ((1000 * model.secondsPerImage) / 3600) * model.usdPerHour;
    rows.push(
      row({
        bench: 'B10',
        metric: `GPU $ per 1,000 images, ${model.modelId} on ${model.instanceType} (512², ${model.defaultSteps} steps)`,
        unit: 'USD',
        reference: 0.9,
        project: gpuPer1000,
        note: `reference = SD 1.5 on A100 (published throughput); project = ${model.secondsPerImage} s/image at $${model.usdPerHour}/h (config, not measured: no GPU here); an idle endpoint costs $0 (min capacity 0)`,
      }),
    );
  }
  return rows;
}

/** Submits `size` prompts to `/generate/batch` and counts the image execution's transitions. */
async function runImageBatch(platform: LocalPlatform, size: number): Promise<number> {
  const response = await fetch(`${platform.url}/api/v1/generate/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': platform.devKey },
    body: JSON.stringify({
      prompts: Array.from({ length: size }, (_, i) => `star ${i}`),
      width: 64,
      height: 64,
    }),
  });
  const accepted = (await response.json()) as { batch_id?: string };
  if (response.status !== 202 || !accepted.batch_id) {
    throw new Error(
      `an image batch of ${size} answered ${response.status}: ${JSON.stringify(accepted).slice(0, 200)}`,
    );
  }
  const record = [...platform.workflows.imageGeneration.executions.values()].find(
    (r) => r.jobId === accepted.batch_id,
  );
  if (!record) throw new Error(`no image execution started for batch ${accepted.batch_id}`);
  await record.done;
  if (record.status !== 'SUCCEEDED') throw new Error(`the image batch of ${size} ended ${record.status}`);
  return record.statesEntered;
}

/** Submits a batch of `size` tiny preview jobs through the API and counts its execution's transitions. */
async function runBatch(platform: LocalPlatform, size: number): Promise<number> {
  const response = await fetch(`${platform.url}/api/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': platform.devKey },
    body: JSON.stringify({
      name: `b5 ${size}`,
      job_runs: Array.from({ length: size }, (_, seed) => ({
        name: 'shapes',
        is_preview: true,
        param_values: { image_width: 64, image_height: 64, seed },
      })),
    }),
  });
  const batch = (await response.json()) as { id?: string };
  if (response.status !== 202 || !batch.id) {
    throw new Error(
      `submitting a batch of ${size} answered ${response.status}: ${JSON.stringify(batch).slice(0, 200)}`,
    );
  }
  const record = [...platform.workflows.generationBatch.executions.values()].find(
    (r) => r.jobId === batch.id,
  );
  if (!record) throw new Error(`no execution started for batch ${batch.id}`);
  await record.done;
  if (record.status !== 'SUCCEEDED') throw new Error(`the batch of ${size} ended ${record.status}`);
  const summary = (await (
    await fetch(`${platform.url}/api/v1/batches/${batch.id}`, { headers: { 'x-api-key': platform.devKey } })
  ).json()) as { status?: string; counts?: Record<string, number> };
  if (summary.status !== 'completed' || summary.counts?.completed !== size) {
    throw new Error(
      `the batch of ${size} ended ${summary.status} with counts ${JSON.stringify(summary.counts)}`,
    );
  }
  return record.statesEntered;
}
