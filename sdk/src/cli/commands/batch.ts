/**
 * `synthforge batch submit | estimate | list | status | wait | download | cancel`: seed 000's
 * Session and Batch from the shell.
 */
import { readFile } from 'node:fs/promises';
import { MAX_JOBS_PER_BATCH } from '../../../../contracts/batches.ts';
import type { Batch } from '../../batch.ts';
import type { DownloadReport } from '../../download.ts';
import type { BatchSummary, ParamValues } from '../../resources.ts';
import type { Session } from '../../session.ts';
import { type Command, defineCommand, type OptionSpecs, TIME_RANGE_OPTIONS } from '../command.ts';
import type { CliContext } from '../context.ts';
import { EXIT, isAbort, UsageError } from '../exit-codes.ts';
import {
  formatBytes,
  formatDuration,
  parseCount,
  parseDuration,
  plural,
  shortTime,
  table,
  timeRangeOf,
} from '../format.ts';
import { type ParamsEntry, parseParamsText } from '../params-file.ts';
import { parseAssignments } from './generators.ts';

const BATCH_ID = { name: 'ID', description: 'the batch id (printed by batch submit)' };

/** How the jobs of a submission or an estimate are given. */
const JOB_SOURCE_OPTIONS = {
  generator: { type: 'string', short: 'g', description: 'the generator (required)', placeholder: 'NAME' },
  params: {
    type: 'string',
    short: 'p',
    description: 'job parameters: JSON Lines, one object per job, or a JSON array; - reads stdin',
    placeholder: 'FILE',
  },
  random: { type: 'string', description: 'N jobs with random parameters instead', placeholder: 'N' },
  seed: {
    type: 'string',
    description: 'with --random: the same seed draws the same jobs',
    placeholder: 'SEED',
  },
  set: {
    type: 'string',
    multiple: true,
    description: 'with --random: keep this value in every job',
    placeholder: 'NAME=VALUE',
  },
  preview: { type: 'boolean', description: 'run every job as a preview (one small frame)' },
} as const satisfies OptionSpecs;

const WAIT_OPTIONS = {
  timeout: {
    type: 'string',
    description: 'stop waiting after this long (default 30m); the batch goes on',
    placeholder: 'DURATION',
  },
  'poll-interval': {
    type: 'string',
    description: 'between two status reads (default 2s)',
    placeholder: 'DURATION',
  },
} as const satisfies OptionSpecs;

const CONCURRENCY_OPTION = {
  concurrency: { type: 'string', description: 'archives downloaded at once (default 4)', placeholder: 'N' },
} as const satisfies OptionSpecs;

export const batchCommands: Command[] = [
  defineCommand({
    words: ['batch', 'submit'],
    summary: 'Submit a batch of jobs of one generator; optionally wait for it and download its results.',
    details: [
      'Parameters are checked here against the generator before anything is sent: an invalid job',
      'is reported with its line and nothing is submitted. The submission carries an Idempotency-Key,',
      'so a retry never starts a second batch; pass --idempotency-key to make rerunning the whole',
      'command safe too.',
    ],
    options: {
      ...JOB_SOURCE_OPTIONS,
      name: { type: 'string', description: 'the batch name shown in listings', placeholder: 'NAME' },
      'idempotency-key': {
        type: 'string',
        description: 'replays the first answer when the same command runs again',
        placeholder: 'KEY',
      },
      wait: { type: 'boolean', short: 'w', description: 'wait until every job has ended' },
      download: {
        type: 'string',
        description: 'wait, then download the results into DIR',
        placeholder: 'DIR',
      },
      ...WAIT_OPTIONS,
      ...CONCURRENCY_OPTION,
    },
    examples: [
      'synthforge batch submit --generator shapes --params jobs.jsonl --name scenes --wait',
      'synthforge batch submit -g shapes --random 20 --preview --download ./previews',
      'synthforge generators random shapes -n 5 | synthforge batch submit -g shapes --params -',
    ],
    async run(ctx, { values }) {
      const waitFor = values.wait || values.download !== undefined ? waitOptions(values) : undefined;
      const concurrency = concurrencyOf(values.concurrency);
      const { session, jobs } = await prepareJobs(ctx, values);
      const batch = await session.submit(
        jobs.map((job) => job.values),
        {
          preview: values.preview === true,
          signal: ctx.signal,
          ...(values.name === undefined ? {} : { name: values.name }),
          ...(values['idempotency-key'] === undefined ? {} : { idempotencyKey: values['idempotency-key'] }),
        },
      );
      const submitted = batch.latest;
      if (!ctx.json) {
        ctx.out(
          `Submitted batch ${batch.id}${submitted ? ` "${submitted.name}"` : ''} with ${plural(jobs.length, 'job')}.`,
        );
      }
      if (!waitFor) {
        if (ctx.json) ctx.printJson({ batch: submitted });
        else ctx.note(`Follow it with: synthforge batch wait ${batch.id}`);
        return EXIT.ok;
      }
      const summary = await waitWithProgress(ctx, batch, waitFor);
      const download =
        values.download === undefined
          ? undefined
          : await downloadWithProgress(ctx, batch, values.download, concurrency);
      if (ctx.json) ctx.printJson({ batch: submitted, summary, ...(download ? { download } : {}) });
      return outcomeOf(summary);
    },
  }),
  defineCommand({
    words: ['batch', 'estimate'],
    summary: 'Frames and estimated cost of a batch, without starting it.',
    options: JOB_SOURCE_OPTIONS,
    examples: ['synthforge batch estimate --generator shapes --params jobs.jsonl'],
    async run(ctx, { values }) {
      const { session, jobs } = await prepareJobs(ctx, values);
      const estimate = await session.estimate(
        jobs.map((job) => job.values),
        { preview: values.preview === true, signal: ctx.signal },
      );
      ctx.result(estimate, () => {
        const { cost_breakdown: cost } = estimate;
        return [
          `${plural(estimate.items, 'job')}, ${plural(estimate.total_frames, 'frame')}`,
          `estimated cost: $${estimate.estimated_cost_usd.toFixed(4)}`,
          estimate.gpu_seconds > 0
            ? `  GPU            $${cost.compute_usd.toFixed(4)} (${estimate.gpu_seconds} instance seconds)`
            : `  compute        $${cost.compute_usd.toFixed(4)}`,
          `  orchestration  $${cost.orchestration_usd.toFixed(4)}`,
          `  storage        $${cost.storage_usd_per_month.toFixed(4)} per month`,
        ].join('\n');
      });
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['batch', 'list'],
    summary: 'The newest batches.',
    options: {
      limit: { type: 'string', description: 'how many (default 20)', placeholder: 'N' },
      ...TIME_RANGE_OPTIONS,
    },
    async run(ctx, { values }) {
      const limit = parseCount(values.limit ?? '20', '--limit', 1, 10_000);
      const batches = await (await ctx.manager()).recentBatches(limit, timeRangeOf(values), {
        signal: ctx.signal,
      });
      ctx.result(batches, () =>
        table(
          ['ID', 'STATUS', 'JOBS', 'CREATED', 'NAME'],
          batches.map((b) => [b.id, b.status, String(b.total), shortTime(b.created), b.name]),
        ),
      );
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['batch', 'status'],
    summary: 'A batch and each of its jobs: status, and the error of each failed job.',
    positionals: [BATCH_ID],
    async run(ctx, { args: [id = ''] }) {
      const summary = await (await ctx.manager()).batch(id).summary({ signal: ctx.signal });
      ctx.result(
        summary,
        () =>
          `${describeSummary(summary)}\n${table(
            ['JOB', 'STATUS', 'RESULT', 'ERROR'],
            summary.job_runs.map((job) => [
              job.id,
              job.status,
              job.result_url ? 'ready' : '',
              job.error ? `${job.error.code}: ${job.error.message}` : '',
            ]),
          )}`,
      );
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['batch', 'wait'],
    summary: 'Wait until every job of a batch has ended; exit 1 when any failed or was cancelled.',
    positionals: [BATCH_ID],
    options: {
      ...WAIT_OPTIONS,
      download: { type: 'string', description: 'then download the results into DIR', placeholder: 'DIR' },
      ...CONCURRENCY_OPTION,
    },
    async run(ctx, { values, args: [id = ''] }) {
      const options = waitOptions(values);
      const concurrency = concurrencyOf(values.concurrency);
      const batch = (await ctx.manager()).batch(id);
      const summary = await waitWithProgress(ctx, batch, options);
      const download =
        values.download === undefined
          ? undefined
          : await downloadWithProgress(ctx, batch, values.download, concurrency);
      if (ctx.json) ctx.printJson(download ? { summary, download } : summary);
      return outcomeOf(summary);
    },
  }),
  defineCommand({
    words: ['batch', 'download'],
    summary: "Download a batch's completed results: one folder per job, its ZIP extracted.",
    details: [
      'Resumable: run it again after an interruption and finished jobs are skipped. DIR is marked',
      'with batch_id.txt, and a folder that belongs to another batch is refused.',
    ],
    positionals: [BATCH_ID, { name: 'DIR', description: 'the folder to download into' }],
    options: CONCURRENCY_OPTION,
    examples: ['synthforge batch download 01JD3X2K8Q7YV4N6B5M9T0RWZC ./scenes'],
    async run(ctx, { values, args: [id = '', dir = ''] }) {
      const concurrency = concurrencyOf(values.concurrency);
      const report = await downloadWithProgress(ctx, (await ctx.manager()).batch(id), dir, concurrency);
      if (ctx.json) ctx.printJson(report);
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['batch', 'cancel'],
    summary: 'Cancel a batch: its open jobs stop; completed jobs keep their results.',
    positionals: [BATCH_ID],
    async run(ctx, { args: [id = ''] }) {
      const job = await (await ctx.manager()).batch(id).cancel({ signal: ctx.signal });
      if (ctx.json) ctx.printJson(job);
      else {
        const kept = job.counts?.completed ?? 0;
        ctx.out(
          `Batch ${job.id} is ${job.status}${kept > 0 ? `; ${plural(kept, 'completed job')} keep their results` : ''}.`,
        );
      }
      return EXIT.ok;
    },
  }),
];

/** Where the jobs of a submission come from, checked before anything is sent. */
type JobSource =
  | { kind: 'file'; path: string; source: string }
  | { kind: 'random'; count: number; seed: number | undefined; keep: ParamValues | undefined };

interface JobSourceValues {
  generator?: string | undefined;
  params?: string | undefined;
  random?: string | undefined;
  seed?: string | undefined;
  set?: string[] | undefined;
}

/** The generator and the job source the options name; every mistake in them is found here. */
function jobSourceOf(values: JobSourceValues): { generator: string; jobs: JobSource } {
  if (!values.generator) throw new UsageError('--generator is required (see synthforge generators list)');
  if ((values.params === undefined) === (values.random === undefined)) {
    throw new UsageError('give the jobs with exactly one of --params FILE and --random N');
  }
  if (values.params !== undefined) {
    if (values.seed !== undefined || values.set !== undefined) {
      throw new UsageError('--seed and --set go with --random, not --params');
    }
    const source = values.params === '-' ? 'stdin' : values.params;
    return { generator: values.generator, jobs: { kind: 'file', path: values.params, source } };
  }
  return {
    generator: values.generator,
    jobs: {
      kind: 'random',
      count: parseCount(values.random ?? '', '--random', 1, MAX_JOBS_PER_BATCH),
      seed: values.seed === undefined ? undefined : parseCount(values.seed, '--seed', 0, 2 ** 31 - 1),
      keep: parseAssignments(values.set ?? []),
    },
  };
}

/** The session and the jobs of a submission, the jobs checked against the generator here. */
async function prepareJobs(
  ctx: CliContext,
  values: JobSourceValues,
): Promise<{ session: Session; jobs: ParamsEntry[] }> {
  const { generator, jobs: source } = jobSourceOf(values);
  // A file is read before the API is asked anything: a typo in its name costs no request.
  let jobs: ParamsEntry[] | undefined;
  if (source.kind === 'file') {
    const text = source.path === '-' ? await ctx.readStdin() : await readParamsFile(source.path);
    jobs = parseParamsText(text, source.source);
  }
  const session = await (await ctx.manager()).session(generator, { signal: ctx.signal });
  if (source.kind === 'random') {
    const drawn = await session.randomJobParams(source.count, source.seed, {
      signal: ctx.signal,
      ...(source.keep ? { keep: source.keep } : {}),
    });
    jobs = drawn.map((drawnValues, index) => ({ line: index + 1, values: drawnValues }));
  }
  const entries = jobs ?? [];
  if (entries.length > MAX_JOBS_PER_BATCH) {
    throw new UsageError(
      `a batch holds at most ${MAX_JOBS_PER_BATCH} jobs, this one has ${entries.length}; split it`,
    );
  }
  checkJobs(session, entries, source.kind === 'file' ? source.source : 'random job');
  return { session, jobs: entries };
}

async function readParamsFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read --params ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/** Every violation of every job, with the line it came from; nothing is sent while there is one. */
function checkJobs(session: Session, jobs: readonly ParamsEntry[], source: string): void {
  const results = session.validateJobParams(jobs.map((job) => job.values));
  const problems = results.flatMap((violations, index) =>
    (violations ?? []).map((v) => `${source}:${jobs[index]?.line}: ${v.parameter}: ${v.message}`),
  );
  if (problems.length === 0) return;
  const invalidJobs = results.filter((violations) => violations !== null).length;
  throw new UsageError(
    `${invalidJobs} of ${plural(jobs.length, 'job')} have invalid parameters for ${session.name}; nothing was submitted`,
    problems,
  );
}

interface WaitOptions {
  timeoutMs: number;
  pollIntervalMs: number;
}

function waitOptions(values: {
  timeout?: string | undefined;
  'poll-interval'?: string | undefined;
}): WaitOptions {
  return {
    timeoutMs: parseDuration(values.timeout ?? '30m', '--timeout'),
    pollIntervalMs: parseDuration(values['poll-interval'] ?? '2s', '--poll-interval'),
  };
}

function concurrencyOf(value: string | undefined): number {
  return parseCount(value ?? '4', '--concurrency', 1, 64);
}

/** Waits with a progress display; on Ctrl-C says that the batch goes on. */
async function waitWithProgress(ctx: CliContext, batch: Batch, options: WaitOptions): Promise<BatchSummary> {
  const progress = ctx.progress(`batch ${batch.id}`);
  const started = performance.now();
  try {
    const summary = await batch.awaitCompletion({
      ...options,
      signal: ctx.signal,
      onProgress: ({ counts, total }) =>
        progress.update({
          done: counts.completed,
          failed: counts.failed + counts.cancelled,
          running: counts.running,
          total,
        }),
    });
    progress.finish();
    if (!ctx.json) ctx.out(`${describeSummary(summary)} in ${formatDuration(performance.now() - started)}`);
    if (!ctx.json) printFailures(ctx, summary);
    return summary;
  } catch (error) {
    progress.finish();
    if (isAbort(error))
      ctx.note(`Stopped waiting; batch ${batch.id} goes on (synthforge batch cancel ${batch.id} stops it).`);
    throw error;
  }
}

async function downloadWithProgress(
  ctx: CliContext,
  batch: Batch,
  dir: string,
  concurrency: number,
): Promise<DownloadReport> {
  const progress = ctx.progress(`download ${batch.id}`);
  const started = performance.now();
  let counted = { done: 0, total: 0 };
  let bytes = 0;
  try {
    const report = await batch.download(dir, {
      concurrency,
      signal: ctx.signal,
      // Bytes as they arrive, so that a big archive moves the bar (and the rate) while it downloads.
      onBytes: (chunk) => {
        bytes += chunk;
        progress.update({ ...counted, failed: 0, bytes });
      },
      onProgress: ({ done, total }) => {
        counted = { done, total };
        progress.update({ ...counted, failed: 0, bytes });
      },
    });
    progress.finish();
    if (!ctx.json) {
      const seconds = (performance.now() - started) / 1000;
      const rate = seconds > 0 ? ` (${formatBytes(Math.round(report.bytes / seconds))}/s)` : '';
      ctx.out(
        `Downloaded ${plural(report.downloaded.length, 'job')} into ${dir}: ${formatBytes(report.bytes)}${rate}` +
          (report.skipped.length > 0 ? `; ${report.skipped.length} already there` : '') +
          (report.unavailable.length > 0 ? `; ${report.unavailable.length} without a result` : ''),
      );
    }
    return report;
  } catch (error) {
    progress.finish();
    if (isAbort(error))
      ctx.note(`Download stopped; run it again to resume: synthforge batch download ${batch.id} ${dir}`);
    throw error;
  }
}

/** `Batch 01J… "scenes": completed · 10 completed, 2 failed of 12 jobs` */
function describeSummary(summary: BatchSummary): string {
  const { counts } = summary;
  const parts = (['completed', 'failed', 'cancelled', 'running', 'pending'] as const)
    .filter((status) => counts[status] > 0)
    .map((status) => `${counts[status]} ${status}`);
  return `Batch ${summary.id} "${summary.name}": ${summary.status} · ${parts.join(', ') || 'no jobs'} of ${plural(summary.total, 'job')}`;
}

function printFailures(ctx: CliContext, summary: BatchSummary): void {
  const failed = summary.job_runs.filter((job) => job.status === 'failed');
  for (const job of failed.slice(0, 20)) {
    ctx.out(
      `  failed ${job.id}: ${job.error ? `${job.error.code}: ${job.error.message}` : 'no reason given'}`,
    );
  }
  if (failed.length > 20)
    ctx.out(`  … and ${failed.length - 20} more (synthforge batch status ${summary.id})`);
}

/** 0 when every job completed, 1 otherwise. */
function outcomeOf(summary: BatchSummary): number {
  return summary.job_runs.every((job) => job.status === 'completed') ? EXIT.ok : EXIT.jobsFailed;
}
