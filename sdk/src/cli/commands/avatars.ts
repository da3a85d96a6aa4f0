/**
 * `synthforge avatars run | advise`: a CSV table avatarized (seed 004) through a Runner. `run`
 * uploads the table, runs the client's job graph (standard → signal and privacy metrics → report),
 * reports each job's status changes on stderr, writes the avatars, the metrics and the report into
 * a folder, and prints the metrics against their targets; `--compare` measures another generator's
 * table of the same data alongside. `advise` prints the parameters the server advises.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import type { AvatarMetrics, Comparison, Runner, RunOptions } from '../../avatars/runner.ts';
import { type AvatarJob, AvatarJobError, AvatarWaitTimeoutError } from '../../avatars/wait.ts';
import { type Command, defineCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError, EXIT, UsageError, WaitTimedOut } from '../exit-codes.ts';
import { fieldList, parseCount, parseDuration, table } from '../format.ts';

/** An avatar job ended in error, parent_error or cancelled (exit 1). */
class AvatarJobFailed extends CliError {
  override readonly name = 'AvatarJobFailed';
  readonly code = 'JOB_FAILED';
  readonly exit = EXIT.jobsFailed;
}

const TABLE_OPTIONS = {
  identifier: {
    type: 'string',
    multiple: true,
    description: 'a column that identifies a person, left out of the avatars',
    placeholder: 'COLUMN',
  },
  table: {
    type: 'string',
    description: "the table's name (default: the file's name without .csv)",
    placeholder: 'NAME',
  },
  timeout: {
    type: 'string',
    description: 'stop waiting for the jobs after this long (default 30m); they go on',
    placeholder: 'DURATION',
  },
} as const;

const DATA = {
  name: 'DATA',
  description: 'the table: a CSV file (`,` `;` tab or `|` separated) with a header',
};

export const avatarCommands: Command[] = [
  defineCommand({
    words: ['avatars', 'run'],
    summary: 'Avatarize a CSV table: avatars, privacy and signal metrics against their targets, a report.',
    details: [
      'Runs the avatars job graph on the table: standard (the avatars), then signal_metrics and',
      'privacy_metrics on them, then report. Each job is shown on stderr as its status changes. Without',
      '--k and --ncp the server advises them. Into --out (default ./avatars-<table>/) go',
      '<table>.avatars.csv (the avatars, shuffled), privacy.json, signal.json and report.html; with',
      '--compare, compare.privacy.json and compare.signal.json measure another synthetic table of the',
      'same data (row-aligned with DATA) the same way. The metrics and their targets are printed last.',
      'When a job fails, what the jobs that finished made is still written, and the error names the',
      'files written and the job that failed (exit 1).',
    ],
    positionals: [DATA],
    options: {
      k: { type: 'string', description: 'neighbours each avatar is drawn from (1–1000)', placeholder: 'N' },
      ncp: {
        type: 'string',
        description: 'dimensions the neighbours are found in (1–100)',
        placeholder: 'N',
      },
      seed: { type: 'string', description: 'the same seed gives the same avatars', placeholder: 'N' },
      out: {
        type: 'string',
        description: 'the folder written to (default ./avatars-<table>)',
        placeholder: 'DIR',
      },
      compare: {
        type: 'string',
        description: 'another synthetic table of DATA to measure alongside',
        placeholder: 'CSV',
      },
      ...TABLE_OPTIONS,
    },
    examples: [
      'synthforge avatars run wbcd.csv --identifier Sample_code_number --k 20 --ncp 5 --seed 42',
      'synthforge avatars run wbcd.csv --identifier Sample_code_number --compare wbcd_synthpop.csv --out results/',
    ],
    async run(ctx, { values, args: [data = ''] }) {
      const tableName = values.table ?? tableNameOf(data);
      const k = values.k === undefined ? undefined : parseCount(values.k, '--k', 1, 1000);
      const ncp = values.ncp === undefined ? undefined : parseCount(values.ncp, '--ncp', 1, 100);
      const seed = values.seed === undefined ? undefined : parseCount(values.seed, '--seed', 0, 2 ** 31 - 1);
      const out = resolve(values.out ?? `avatars-${tableName}`);
      const wait = waitOptions(ctx, values.timeout);

      const runner = (await ctx.manager()).createRunner();
      await addTable(ctx, runner, tableName, data, values.identifier ?? []);
      if (k !== undefined || ncp !== undefined || seed !== undefined) {
        runner.setParameters(tableName, {
          ...(k === undefined ? {} : { k }),
          ...(ncp === undefined ? {} : { ncp }),
          ...(seed === undefined ? {} : { seed }),
        });
      }
      ctx.note(`set ${runner.setName}: table ${tableName} uploaded`);
      const { jobs, failure } = await runJobs(runner, wait);

      // What finished is written even when a job failed: the avatars of a run whose report failed
      // are still the avatars.
      const finished = new Set(jobs.filter((job) => job.status === 'finished').map((job) => job.kind));
      const files: string[] = [];
      const write = async (name: string, content: string) => {
        await mkdir(out, { recursive: true });
        await writeFile(join(out, name), content);
        files.push(join(out, name));
      };
      const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
      if (finished.has('standard')) {
        await write(`${tableName}.avatars.csv`, await runner.shuffledCsv(tableName, wait));
      }
      const privacy = finished.has('privacy_metrics')
        ? await runner.privacyMetrics(tableName, wait)
        : undefined;
      if (privacy) await write('privacy.json', json(privacy));
      const signal = finished.has('signal_metrics') ? await runner.signalMetrics(tableName, wait) : undefined;
      if (signal) await write('signal.json', json(signal));
      if (finished.has('report')) {
        await mkdir(out, { recursive: true });
        await runner.downloadReport(join(out, 'report.html'), wait);
        files.push(join(out, 'report.html'));
      }
      // Without a failure every job finished, the metrics' included.
      if (failure || !privacy || !signal) {
        throw new AvatarJobFailed(failure?.message ?? 'the avatars jobs did not all finish', [
          ...jobs.map((job) => `${job.kind} ${job.name}: ${job.status}`),
          ...(files.length > 0
            ? files.map((file) => `written before the failure: ${file}`)
            : ['nothing was written: no job finished']),
          ...(values.compare === undefined ? [] : ['--compare was not measured']),
        ]);
      }
      let compared: Comparison | undefined;
      if (values.compare !== undefined) {
        ctx.note(`comparing ${values.compare} with ${tableName}`);
        compared = await explained(
          runner.compare(tableName, await readable(values.compare, '--compare'), wait),
        );
        await write('compare.privacy.json', json(compared.privacy));
        await write('compare.signal.json', json(compared.signal));
      }

      const rows = metricRows(privacy, signal, compared);
      ctx.result(
        {
          set_name: runner.setName,
          table: tableName,
          out,
          files,
          jobs: Object.fromEntries(jobs.map((job) => [job.kind, { name: job.name, status: job.status }])),
          metrics: rows,
        },
        () => renderMetrics(rows, compared !== undefined, out),
      );
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['avatars', 'advise'],
    summary: 'The parameters (k, ncp, …) the server advises for a CSV table, and why.',
    positionals: [DATA],
    options: TABLE_OPTIONS,
    examples: ['synthforge avatars advise wbcd.csv --identifier Sample_code_number'],
    async run(ctx, { values, args: [data = ''] }) {
      const tableName = values.table ?? tableNameOf(data);
      const runner = (await ctx.manager()).createRunner();
      await addTable(ctx, runner, tableName, data, values.identifier ?? []);
      const advice = await explained(runner.adviseParameters(waitOptions(ctx, values.timeout)));
      ctx.result(advice, () =>
        advice
          .map(({ table_name, advice: { parameters, reasons } }) =>
            fieldList([
              ['table', table_name],
              ['k', String(parameters.k)],
              ['ncp', String(parameters.ncp)],
              ['use_categorical_reduction', String(parameters.use_categorical_reduction)],
              ['imputation', parameters.imputation ? JSON.stringify(parameters.imputation) : 'none'],
              ...Object.entries(reasons ?? {}).map(([name, reason]) => [`why ${name}`, reason] as const),
            ]),
          )
          .join('\n\n'),
      );
      return EXIT.ok;
    },
  }),
];

/** A table's name from its file: the base name without its extension, as a schema may hold it. */
export function tableNameOf(path: string): string {
  const name = basename(path, extname(path)).replace(/[\s/\\]+/g, '_');
  return name === '' ? 'table' : name.slice(0, 128);
}

async function readable(path: string, what: string): Promise<string> {
  try {
    await access(path);
  } catch (error) {
    throw new UsageError(
      `cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return path;
}

async function addTable(ctx: CliContext, runner: Runner, name: string, path: string, identifiers: string[]) {
  await readable(path, 'the table');
  try {
    await runner.addTable(name, path, { identifiers, signal: ctx.signal });
  } catch (error) {
    // A column that is not in the file, or a file that is not CSV, is the command line's mistake.
    if (error instanceof TypeError || error instanceof SyntaxError) throw new UsageError(error.message);
    throw error;
  }
}

/** The Runner's waits: the deadline of --timeout, Ctrl-C, and each job's status changes on stderr. */
function waitOptions(ctx: CliContext, timeout: string | undefined): RunOptions {
  return {
    timeoutMs: parseDuration(timeout ?? '30m', '--timeout'),
    signal: ctx.signal,
    onStatus: (job: AvatarJob) => {
      const why = job.exception ? `: ${job.exception}` : '';
      ctx.note(`${job.kind} ${job.name}: ${job.status}${why}`);
    },
  };
}

/** A job that failed is exit 1, a wait that ran out exit 4; both say what to look at next. */
async function explained<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof AvatarJobError) {
      throw new AvatarJobFailed(error.message, [
        ...error.jobs.map((job) => `${job.kind} ${job.name}: ${job.status}`),
      ]);
    }
    throw timedOut(error);
  }
}

/** A wait that ran out as the CLI reports it (exit 4); any other error as it is. */
function timedOut(error: unknown): unknown {
  if (!(error instanceof AvatarWaitTimeoutError)) return error;
  return new WaitTimedOut(error.message, [
    'the jobs go on; see them with: synthforge jobs list --kind avatars',
  ]);
}

/**
 * Runs the job graph and resolves with its jobs as they ended, in the graph's order; a job that
 * failed is not thrown but returned as `failure`, so that what finished can still be written.
 */
async function runJobs(
  runner: Runner,
  wait: RunOptions,
): Promise<{ jobs: readonly AvatarJob[]; failure?: AvatarJobError }> {
  try {
    return { jobs: Object.values(await runner.run(wait)) };
  } catch (error) {
    if (error instanceof AvatarJobError) return { jobs: error.jobs, failure: error };
    throw timedOut(error);
  }
}

/** One metric against its target: the avatars', and the compared table's when there is one. */
export interface MetricRow {
  group: 'privacy' | 'signal';
  metric: string;
  value: number | null;
  target: string;
  met: boolean | null;
  compared_value?: number | null;
  compared_met?: boolean | null;
}

function metricRows(
  privacy: AvatarMetrics,
  signal: AvatarMetrics,
  compared: Comparison | undefined,
): MetricRow[] {
  const rows = (group: MetricRow['group'], metrics: AvatarMetrics, other: AvatarMetrics | undefined) =>
    Object.entries(metrics.targets).map(([metric, target]) => ({
      group,
      metric,
      value: numberOrNull(metrics[metric]),
      target,
      met: metrics.met[metric] ?? null,
      ...(other
        ? { compared_value: numberOrNull(other[metric]), compared_met: other.met[metric] ?? null }
        : {}),
    }));
  return [...rows('privacy', privacy, compared?.privacy), ...rows('signal', signal, compared?.signal)];
}

const numberOrNull = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : null);

function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  const size = Math.abs(value);
  return value.toFixed(size >= 100 ? 1 : size >= 1 ? 2 : 3);
}

const verdict = (met: boolean | null | undefined) =>
  met === true ? 'met' : met === false ? 'not met' : 'n/a';

function renderMetrics(rows: readonly MetricRow[], withComparison: boolean, out: string): string {
  const header = [
    'METRIC',
    'AVATARS',
    'TARGET',
    'MET',
    ...(withComparison ? ['COMPARED', 'COMPARED MET'] : []),
  ];
  const body = rows.map((row) => [
    row.metric,
    formatValue(row.value),
    row.target,
    verdict(row.met),
    ...(withComparison ? [formatValue(row.compared_value), verdict(row.compared_met)] : []),
  ]);
  const met = rows.filter((row) => row.met === true).length;
  const judged = rows.filter((row) => row.met !== null).length;
  return `${table(header, body)}${met} of ${judged} targets met; results in ${out}`;
}
