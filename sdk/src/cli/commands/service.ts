/** `synthforge health | usage`: is the API up, and what has this key's tenant used. */
import { type Command, defineCommand, TIME_RANGE_OPTIONS } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { formatBytes, shortTime, timeRangeOf } from '../format.ts';

export const serviceCommands: Command[] = [
  defineCommand({
    words: ['health'],
    summary: 'Check that the API answers (no key needed); exit 3 when it does not.',
    async run(ctx) {
      const manager = await ctx.manager();
      const health = await manager.health({ signal: ctx.signal });
      if (ctx.json) ctx.printJson({ ...health, api_url: manager.client.baseUrl });
      else
        ctx.out(
          `${health.status}: ${manager.client.baseUrl} (version ${health.version}, stage ${health.stage})`,
        );
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['usage'],
    summary: 'Jobs, batches, frames and bytes in a time range (default: the last 30 days).',
    options: TIME_RANGE_OPTIONS,
    async run(ctx, { values }) {
      const usage = await (await ctx.manager()).client.getUsage(timeRangeOf(values), { signal: ctx.signal });
      ctx.result(usage, () => {
        const { jobs } = usage;
        return [
          `from ${shortTime(usage.start_time)} to ${shortTime(usage.end_time)}${usage.truncated ? ' (truncated: narrow the range for exact figures)' : ''}`,
          `batches:  ${usage.batches}`,
          `jobs:     ${jobs.total} (${jobs.standard} standard, ${jobs.preview} preview; ${jobs.by_status.completed} completed, ${jobs.by_status.failed} failed, ${jobs.by_status.cancelled} cancelled)`,
          `frames:   ${usage.frames}`,
          `results:  ${formatBytes(usage.result_bytes)}`,
        ].join('\n');
      });
      return EXIT.ok;
    },
  }),
];
