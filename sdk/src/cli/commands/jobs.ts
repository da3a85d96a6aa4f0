/** `synthforge jobs list | show | cancel | logs`: jobs of every kind (batches included). */
import { JOB_KINDS, JOB_STATUSES, TERMINAL_STATUSES } from '../../../../contracts/vocabulary.ts';
import type { Job } from '../../resources.ts';
import { type Command, defineCommand, TIME_RANGE_OPTIONS } from '../command.ts';
import type { CliContext } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import {
  fieldList,
  formatBytes,
  parseChoice,
  parseCount,
  parseDuration,
  shortTime,
  table,
  timeRangeOf,
} from '../format.ts';

const JOB_ID = { name: 'ID', description: 'the job id (a batch id cancels or shows the whole batch)' };

export const jobCommands: Command[] = [
  defineCommand({
    words: ['jobs', 'list'],
    summary: 'The newest jobs of every kind, optionally filtered.',
    options: {
      kind: { type: 'string', description: `one of ${JOB_KINDS.join(', ')}`, placeholder: 'KIND' },
      status: { type: 'string', description: `one of ${JOB_STATUSES.join(', ')}`, placeholder: 'STATUS' },
      batch: { type: 'string', description: 'only the jobs of this batch', placeholder: 'ID' },
      ...TIME_RANGE_OPTIONS,
      limit: { type: 'string', description: 'how many (default 20)', placeholder: 'N' },
    },
    examples: [
      'synthforge jobs list --status failed --since 24h',
      'synthforge jobs list --kind batch --limit 5',
    ],
    async run(ctx, { values }) {
      const kind = parseChoice(values.kind, JOB_KINDS, '--kind');
      const status = parseChoice(values.status, JOB_STATUSES, '--status');
      const limit = parseCount(values.limit ?? '20', '--limit', 1, 10_000);
      const jobs = await (await ctx.manager()).recentJobs(
        limit,
        {
          ...(kind ? { kind } : {}),
          ...(status ? { status } : {}),
          ...(values.batch ? { batch: values.batch } : {}),
          ...timeRangeOf(values),
        },
        { signal: ctx.signal },
      );
      ctx.result(jobs, () =>
        table(
          ['ID', 'KIND', 'STATUS', 'PROGRESS', 'CREATED', 'WHAT'],
          jobs.map((job) => [
            job.id,
            job.kind,
            job.status,
            `${Math.round(job.progress)}%`,
            shortTime(job.created_at),
            job.name ?? job.generator ?? '',
          ]),
        ),
      );
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['jobs', 'show'],
    summary: 'One job: status, progress, parameters, result and error.',
    positionals: [JOB_ID],
    async run(ctx, { args: [id = ''] }) {
      const job = await (await ctx.manager()).client.getJob(id, { signal: ctx.signal });
      ctx.result(job, () => describeJob(job));
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['jobs', 'cancel'],
    summary: 'Cancel a job; a batch id cancels every open job of the batch.',
    positionals: [JOB_ID],
    async run(ctx, { args: [id = ''] }) {
      const job = await (await ctx.manager()).cancelJob(id, { signal: ctx.signal });
      ctx.result(job, () => `Job ${job.id} is ${job.status}.`);
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['jobs', 'logs'],
    summary: "A job's log, oldest first; --follow keeps reading until the job ends.",
    positionals: [JOB_ID],
    options: {
      tail: {
        type: 'string',
        short: 'n',
        description: 'the last N entries (default 100, at most 1000)',
        placeholder: 'N',
      },
      follow: { type: 'boolean', short: 'f', description: 'keep printing new entries until the job ends' },
      'poll-interval': { type: 'string', description: 'with --follow (default 2s)', placeholder: 'DURATION' },
    },
    examples: ['synthforge jobs logs 01JD3X2K8Q7YV4N6B5M9T0RWZC --tail 20'],
    async run(ctx, { values, args: [id = ''] }) {
      const tail = parseCount(values.tail ?? '100', '--tail', 1, 1000);
      const pollIntervalMs = parseDuration(values['poll-interval'] ?? '2s', '--poll-interval');
      const client = (await ctx.manager()).client;
      if (!values.follow) {
        const logs = await client.getJobLogs(id, { tail }, { signal: ctx.signal });
        if (ctx.json) ctx.printJson(logs);
        else for (const entry of logs.entries) ctx.out(logLine(entry));
        return EXIT.ok;
      }
      return followLogs(ctx, id, tail, pollIntervalMs);
    },
  }),
];

/**
 * Prints new log entries as they come until the job ends. Entries are recognised by time and text,
 * so an entry is printed once even though every read returns the whole tail.
 */
async function followLogs(
  ctx: CliContext,
  id: string,
  tail: number,
  pollIntervalMs: number,
): Promise<number> {
  const client = (await ctx.manager()).client;
  const seen = new Set<string>();
  for (;;) {
    // The job is read before its logs: a log read after the job ended then holds its last entries.
    const job = await client.getJob(id, { signal: ctx.signal });
    const logs = await client.getJobLogs(id, { tail }, { signal: ctx.signal });
    for (const entry of logs.entries) {
      const key = `${entry.at}\u0000${entry.level}\u0000${entry.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      ctx.out(ctx.json ? JSON.stringify(entry) : logLine(entry));
    }
    if (TERMINAL_STATUSES.includes(job.status)) return job.status === 'completed' ? EXIT.ok : EXIT.jobsFailed;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, pollIntervalMs);
      ctx.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(ctx.signal.reason);
        },
        { once: true },
      );
    });
  }
}

function logLine(entry: { at: string; level: string; message: string }): string {
  return `${shortTime(entry.at)}  ${entry.level.padEnd(5)}  ${entry.message}`;
}

function describeJob(job: Job): string {
  const rows: [string, string | undefined][] = [
    ['id', job.id],
    ['kind', job.kind],
    ['status', job.status],
    ['progress', `${Math.round(job.progress)}%`],
    ['name', job.name],
    ['generator', job.generator],
    ['batch', job.batch_id],
    ['preview', job.is_preview === undefined ? undefined : String(job.is_preview)],
    ['message', job.message],
    [
      'jobs',
      job.counts && job.total !== undefined
        ? `${job.total} (${Object.entries(job.counts)
            .filter(([, count]) => count > 0)
            .map(([status, count]) => `${count} ${status}`)
            .join(', ')})`
        : undefined,
    ],
    [
      'result',
      job.result
        ? `${formatBytes(job.result.bytes)} ${job.result.content_type}${job.result.frames === undefined ? '' : `, ${job.result.frames} frames`}`
        : undefined,
    ],
    ['error', job.error ? `${job.error.code}: ${job.error.message}` : undefined],
    ['created', shortTime(job.created_at)],
    ['started', job.started_at && shortTime(job.started_at)],
    ['finished', job.finished_at && shortTime(job.finished_at)],
    ['parameters', job.param_values ? JSON.stringify(job.param_values) : undefined],
  ];
  return fieldList(rows);
}
