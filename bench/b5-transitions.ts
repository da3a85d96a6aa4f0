/**
 * B5, Step Functions cost (performance-targets.md §3.2, §9.2): billable transitions counted from
 * real local executions of statemachines/generation-batch.asl.json (aws-local-stepfunctions, every
 * StateEntered event), for batches of 1, 10 and 50 tiny jobs. From them: transitions per job
 * ((T(50) − T(1)) / 49) and per batch, and the cost per 1,000 jobs next to the polling design of
 * §3.2 (Wait + Task + Choice every P = 10 s while a job waits W) with the same per-batch states.
 * The measured figures are checked against BATCH_TRANSITIONS, which the batch estimate bills.
 */
import type { LocalPlatform } from '../lambdas/local/platform.ts';
import { fmt, type Row, row } from './lib/rows.ts';

export interface B5Options {
  log: (line: string) => void;
  warn: (line: string) => void;
}

const BATCH_SIZES = [1, 10, 50] as const;

/** §3.2's poll loop: P = 10 s, three states per poll, one state before and two after. */
export const POLLING_DESIGN = {
  intervalSeconds: 10,
  statesPerPoll: 3,
  statesBefore: 1,
  statesAfter: 2,
} as const;

/** §3.2: T_item = 1 + 3 × ceil(W / P) + 2 (9 at W = 20 s, 183 at W = 10 min). */
export function pollingTransitionsPerItem(waitSeconds: number): number {
  const { intervalSeconds, statesPerPoll, statesBefore, statesAfter } = POLLING_DESIGN;
  return statesBefore + statesPerPoll * Math.ceil(waitSeconds / intervalSeconds) + statesAfter;
}

/** §9.2 B5: ≤ 4 transitions per item, and ≤ 0.05 of the poll loop at W = 10 min. */
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
  try {
    for (const size of BATCH_SIZES) {
      transitions.set(size, await runBatch(platform, size));
      options.log(`B5: a batch of ${size} took ${transitions.get(size)} transitions`);
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
      note: `reference = BATCH_TRANSITIONS.perJob (what the estimate bills); ${measured}; §9.2 ≤ ${MAX_TRANSITIONS_PER_JOB} ${perJob <= MAX_TRANSITIONS_PER_JOB ? '✓' : '✗'}`,
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
  return rows;
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
  const record = [...platform.workflow.executions.values()].find((r) => r.input.batchId === batch.id);
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
