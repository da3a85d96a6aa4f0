/**
 * B2/B3, the local API: the local platform in a process of its
 * own, driven by a closed-loop load generator at a fixed concurrency, next to the transport floor
 * (a bare node:http server answering a fixed JSON, also in a process of its own). Floor and project
 * rounds alternate; the latency ratio is the median of the per-round p50 ratios.
 *
 * - B2 validate: POST /api/v1/generators/shapes/validate (cheap, stores nothing).
 * - B2 submit: POST /api/v1/batches with one tiny preview job; each submit also starts a batch
 *   execution, held at its first step until the submit rounds are over, then run to its end.
 * - B3 status read: GET /api/v1/jobs/{id} of a completed job, for a fixed time.
 *
 * Each round also reads the CPU time of both server processes before and after it: the server CPU
 * per request (every thread of the platform's process, its in-process emulators included) against
 * the floor's, whose ratio the load generator's own noise does not reach. Submissions run with
 * their executions held at the first step, so their CPU and DynamoDB figures are the request's
 * own; the DynamoDB calls per submission are compared with one (a single PutItem, the least a
 * submission can write), and the calls of the whole batch run are reported once it has finished.
 *
 * The ratios are informational: the floor is what no local API can beat, not a naive twin. The
 * absolute targets (SUBMIT_TARGETS, READ_TARGETS) are checked in the notes.
 */
import { bareEnv } from './lib/child.ts';
import { type LoadRequest, type LoadResult, runLoad } from './lib/load.ts';
import { fmt, type Row, row } from './lib/rows.ts';
import { type ServerProcess, startServerProcess } from './lib/server-process.ts';
import { bootstrapMedianCi, median, pairedRatios, percentile } from './lib/stats.ts';

export interface B2Options {
  /** Submits in all (the validate benchmark sends the same number)... */
  submitRequests: number;
  /** ...unless this many seconds of submitting run out first. */
  submitSeconds: number;
  /** Seconds of status reads in all. */
  readSeconds: number;
  /** Floor/project rounds each benchmark is split into. */
  rounds: number;
  concurrency: number;
  log: (line: string) => void;
}

interface AbsoluteTargets {
  p50Ms: number;
  p99Ms: number;
  rps: number;
}

/** The absolute targets of B2 (submission) and B3 (status read) on the 2-core dev machine. */
const SUBMIT_TARGETS: AbsoluteTargets = { p50Ms: 3, p99Ms: 15, rps: 500 };
const READ_TARGETS: AbsoluteTargets = { p50Ms: 2, p99Ms: 10, rps: 700 };

const SERVER_ENV = {
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  POWERTOOLS_TRACE_ENABLED: 'false',
  POWERTOOLS_METRICS_DISABLED: 'true',
};

/** One side's rounds, with the CPU time its server process spent on each. */
interface Interleaved {
  project: LoadResult[];
  floor: LoadResult[];
  /** Milliseconds of server CPU per answered request, round by round. */
  projectCpu: number[];
  floorCpu: number[];
}

interface Usage {
  cpuMs: number;
  /** Platform only: DynamoDB calls so far, by operation. */
  dynamoCalls?: Record<string, number>;
}

type Servers = { platform: ServerProcess<unknown>; floor: ServerProcess<unknown> };

export async function benchApi(options: B2Options): Promise<Row[]> {
  const [platform, floor] = await Promise.all([
    startServerProcess<{ url: string; devKey: string }>('platform', bareEnv(SERVER_ENV)),
    startServerProcess<{ url: string }>('floor', bareEnv()),
  ]);
  try {
    return await measure(platform, floor, options);
  } finally {
    await Promise.all([platform.stop(), floor.stop()]);
  }
}

async function measure(
  platform: ServerProcess<{ url: string; devKey: string }>,
  floor: ServerProcess<{ url: string }>,
  options: B2Options,
): Promise<Row[]> {
  const auth = { 'x-api-key': platform.info.devKey };
  const validate = (): LoadRequest => ({
    method: 'POST',
    path: '/api/v1/generators/shapes/validate',
    headers: auth,
    body: JSON.stringify({
      job_params: [{ image_width: 512, image_height: 512, frames: 4, max_objects: 6 }],
    }),
  });
  // Every submit gets its own seed and name, across warm-up and rounds.
  let submits = 0;
  const submit = (): LoadRequest => {
    const n = submits++;
    return {
      method: 'POST',
      path: '/api/v1/batches',
      headers: auth,
      body: JSON.stringify({
        name: `bench ${n}`,
        job_runs: [
          { name: 'shapes', is_preview: true, param_values: { image_width: 64, image_height: 64, seed: n } },
        ],
      }),
    };
  };
  const perRound = Math.max(1, Math.round(options.submitRequests / options.rounds));
  const byCount = (next: () => LoadRequest, expectStatus: number) => ({
    project: {
      baseUrl: platform.info.url,
      concurrency: options.concurrency,
      requests: perRound,
      next,
      expectStatus,
    },
    floor: {
      baseUrl: floor.info.url,
      concurrency: options.concurrency,
      requests: perRound,
      next,
      expectStatus: 200,
    },
  });

  // Warm-up: JIT, connection pools, the key lookup; the batches it starts finish before measuring.
  await runLoad({ ...byCount(validate, 200).project, requests: 100 });
  await runLoad({ ...byCount(validate, 200).floor, requests: 200 });
  await runLoad({ ...byCount(submit, 202).project, requests: 20 });
  await platform.command('idle');

  const servers: Servers = { platform, floor };
  const rows: Row[] = [];
  const validated = await interleave(options.rounds, byCount(validate, 200), servers);
  rows.push(...apiRows('B2', 'POST …/generators/shapes/validate', validated, SUBMIT_TARGETS));
  options.log('B2: validate done');

  const submitRoundMs = (options.submitSeconds * 1000) / options.rounds;
  // Executions wait at their first step until every submit round is over: the rounds measure the
  // request alone, as a deployed API function does its share (the workflow runs elsewhere there).
  await platform.command('hold');
  const callsBefore = await usageOf(platform);
  const submitted = await interleave(
    options.rounds,
    {
      project: { ...byCount(submit, 202).project, durationMs: submitRoundMs },
      floor: { ...byCount(submit, 202).floor, durationMs: submitRoundMs },
    },
    servers,
  );
  const callsSubmitted = await usageOf(platform);
  rows.push(...apiRows('B2', 'POST /api/v1/batches (1 preview job)', submitted, SUBMIT_TARGETS));
  options.log('B2: submit done; waiting for the submitted batches to finish');
  const drainStarted = performance.now();
  await platform.command('release');
  await platform.command('idle', 600_000);
  const drainSeconds = (performance.now() - drainStarted) / 1000;
  const callsDrained = await usageOf(platform);
  rows.push(...dynamoRows(submitted, callsBefore, callsSubmitted, callsDrained));

  const jobId = firstJobId(submitted);
  const read = (): LoadRequest => ({ method: 'GET', path: `/api/v1/jobs/${jobId}`, headers: auth });
  const status = await runLoad({ ...byCount(read, 200).project, requests: 1 });
  const jobStatus = (status.bodies[0] as { status?: string } | undefined)?.status;
  const roundMs = (options.readSeconds * 1000) / options.rounds;
  const reads = await interleave(
    options.rounds,
    {
      project: { ...byCount(read, 200).project, requests: undefined, durationMs: roundMs },
      floor: { ...byCount(read, 200).floor, requests: undefined, durationMs: roundMs },
    },
    servers,
  );
  rows.push(...apiRows('B3', 'GET /api/v1/jobs/{id}', reads, READ_TARGETS, `job ${jobStatus ?? 'unknown'}`));
  options.log(`B3: status read done (batches drained in ${drainSeconds.toFixed(1)} s)`);
  return rows;
}

type LoadSpec = Parameters<typeof runLoad>[0];

/** Floor and project rounds, alternating which goes first, each with its server's CPU time. */
async function interleave(
  rounds: number,
  specs: { project: LoadSpec; floor: LoadSpec },
  servers: Servers,
): Promise<Interleaved> {
  const result: Interleaved = { project: [], floor: [], projectCpu: [], floorCpu: [] };
  const measured = async (side: 'project' | 'floor') => {
    const server = side === 'project' ? servers.platform : servers.floor;
    const before = await usageOf(server);
    const run = await runLoad(specs[side]);
    const after = await usageOf(server);
    result[side].push(run);
    const answered = run.latencies.length + run.errors;
    (side === 'project' ? result.projectCpu : result.floorCpu).push(
      answered > 0 ? (after.cpuMs - before.cpuMs) / answered : Number.NaN,
    );
  };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['floor', 'project'] as const) : (['project', 'floor'] as const);
    for (const side of order) await measured(side);
  }
  return result;
}

async function usageOf(server: ServerProcess<unknown>): Promise<Usage> {
  return (await server.command('usage')) as Usage;
}

const totalCalls = (usage: Usage) => Object.values(usage.dynamoCalls ?? {}).reduce((sum, n) => sum + n, 0);

/** `to` − `from`, by operation, largest first: `PutItem 2, UpdateItem 1`. */
function callsBetween(from: Usage, to: Usage): string {
  const before = from.dynamoCalls ?? {};
  return Object.entries(to.dynamoCalls ?? {})
    .map(([operation, n]) => [operation, n - (before[operation] ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([operation, n]) => `${operation} ${n}`)
    .join(', ');
}

/**
 * DynamoDB calls per submission: the request's own (executions held), against one call (a single
 * PutItem, the least a submission can write); and, informational, every call of the batch run.
 */
function dynamoRows(submitted: Interleaved, before: Usage, afterSubmits: Usage, afterRuns: Usage): Row[] {
  const submits = submitted.project.reduce((sum, run) => sum + run.latencies.length, 0);
  if (submits === 0) return [];
  const perSubmit = (totalCalls(afterSubmits) - totalCalls(before)) / submits;
  const perRun = (totalCalls(afterRuns) - totalCalls(before)) / submits;
  return [
    row({
      bench: 'B2',
      metric: 'POST /api/v1/batches (1 preview job): DynamoDB calls per submission',
      unit: 'calls',
      reference: 1,
      project: perSubmit,
      note: `n=${submits}; reference = one PutItem; the request path only (executions held): ${callsBetween(before, afterSubmits)}`,
    }),
    row({
      bench: 'B2',
      metric: 'POST /api/v1/batches (1 preview job): DynamoDB calls per batch, submission to end',
      unit: 'calls',
      reference: 1,
      project: perRun,
      note: `n=${submits}; submission and execution together: ${callsBetween(before, afterRuns)}`,
    }),
  ];
}

function apiRows(
  bench: string,
  label: string,
  runs: Interleaved,
  targets: AbsoluteTargets,
  extra = '',
): Row[] {
  const project = pooled(runs.project);
  const floor = pooled(runs.floor);
  const p50Ratios = pairedRatios(
    runs.project.map((run) => percentile(run.latencies, 50)),
    runs.floor.map((run) => percentile(run.latencies, 50)),
  );
  const cpuRatios = pairedRatios(runs.projectCpu, runs.floorCpu);
  const errors = runs.project.reduce((sum, run) => sum + run.errors, 0);
  const firstError = runs.project.flatMap((run) => run.errorSamples)[0];
  const errorNote = errors > 0 ? `; ${errors} ERRORS (${firstError})` : '';
  const c = `n=${project.latencies.length}${extra ? `, ${extra}` : ''}`;
  return [
    row({
      bench,
      metric: `${label}: p50 latency`,
      unit: 'ms',
      reference: floor.p50,
      project: project.p50,
      ratio: median(p50Ratios),
      ratioCi: bootstrapMedianCi(p50Ratios),
      note:
        `${c}; p99 ${fmt(floor.p99)} → ${fmt(project.p99)} ms; target p50 ≤ ${targets.p50Ms} ms ${mark(project.p50 <= targets.p50Ms)}, ` +
        `p99 ≤ ${targets.p99Ms} ms ${mark(project.p99 <= targets.p99Ms)}${errorNote}`,
    }),
    row({
      bench,
      metric: `${label}: throughput`,
      unit: 'req/s',
      reference: floor.rps,
      project: project.rps,
      note: `${c}; target ≥ ${targets.rps} req/s ${mark(project.rps >= targets.rps)}`,
    }),
    row({
      bench,
      metric: `${label}: server CPU per request`,
      unit: 'ms',
      reference: median(runs.floorCpu),
      project: median(runs.projectCpu),
      ratio: median(cpuRatios),
      ratioCi: bootstrapMedianCi(cpuRatios),
      note: `${c}; CPU time of each server process over its rounds (every thread), per answer; median of ${cpuRatios.length} rounds`,
    }),
  ];
}

/** All rounds of one side together: latency percentiles over every request, rate over the time spent. */
function pooled(runs: LoadResult[]) {
  const latencies = runs.flatMap((run) => run.latencies);
  const seconds = runs.reduce((sum, run) => sum + run.elapsedMs, 0) / 1000;
  return {
    latencies,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    rps: latencies.length / seconds,
  };
}

function firstJobId(runs: Interleaved): string {
  for (const run of runs.project) {
    for (const body of run.bodies) {
      const id = (body as { job_runs?: { id?: string }[] }).job_runs?.[0]?.id;
      if (id) return id;
    }
  }
  throw new Error('no submitted batch returned a job id');
}

const mark = (ok: boolean) => (ok ? '✓' : '✗');
