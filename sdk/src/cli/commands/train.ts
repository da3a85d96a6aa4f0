/**
 * `synthforge train start | status | list | cancel`: seed 002's training runs from the shell. `start`
 * checks its request against the contract before sending it; `--follow` prints one line per epoch
 * (and the trainer's new log lines) until the run ends, and exits with its outcome.
 */
import { readFile } from 'node:fs/promises';
import { JOB_STATUSES, TERMINAL_STATUSES } from '../../../../contracts/vocabulary.ts';
import type { ApiClient } from '../../api-client.ts';
import type { TrainingTask } from '../../resources.ts';
import { wait } from '../../retry.ts';
import { type Command, defineCommand, type OptionSpecs } from '../command.ts';
import type { CliContext } from '../context.ts';
import { EXIT, isAbort, UsageError, WaitTimedOut } from '../exit-codes.ts';
import {
  fieldList,
  formatDuration,
  parseChoice,
  parseCount,
  parseDuration,
  plural,
  shortTime,
  table,
} from '../format.ts';
import { buildTrainRequest, checkTrainRequest, parseTrainRequestText } from '../train-request.ts';

const TASK_ID = { name: 'TASK_ID', description: 'the training run (printed by train start)' };

const FOLLOW_OPTIONS = {
  follow: {
    type: 'boolean',
    short: 'f',
    description: 'print each new epoch (and new log lines) until the run ends; exit with its outcome',
  },
  'poll-interval': {
    type: 'string',
    description: 'with --follow: between two status reads (default 5s)',
    placeholder: 'DURATION',
  },
  timeout: {
    type: 'string',
    description: 'with --follow: stop following after this long (default: until it ends); the run goes on',
    placeholder: 'DURATION',
  },
  quiet: {
    type: 'boolean',
    short: 'q',
    description: "with --follow: epoch lines only, not the trainer's log",
  },
} as const satisfies OptionSpecs;

/** How many of the run's last log lines `train status` shows. */
const STATUS_LOG_LINES = 5;

export const trainCommands: Command[] = [
  defineCommand({
    words: ['train', 'start'],
    summary: 'Start a training run (seed 002); prints its task id, or follows it with --follow.',
    details: [
      [
        'The request is the JSON of POST /api/v1/train, from --file and/or the flags (the flags win;',
        '--tag adds to its tags). Without --batch or --prefix the run trains on your most recent',
        'identity-crops batch.',
      ].join('\n'),
      [
        '--set sets any parameter: training.NAME (training_kwargs), model.NAME (model_kwargs),',
        'compute.NAME, or a top-level field. The value is read as JSON when it parses (0.3, true,',
        '["layer1","layer4"]), else as text; a list parameter also takes a comma list (layer1,layer4).',
      ].join('\n'),
      [
        'The request is checked here against the contract before anything is sent: each problem is',
        'printed as parameter: message, and nothing is started (exit 2).',
      ].join('\n'),
    ],
    options: {
      file: {
        type: 'string',
        description: 'the request as one JSON object; - reads stdin',
        placeholder: 'FILE',
      },
      name: {
        type: 'string',
        description: 'custom_name: the run name (resumes its checkpoint)',
        placeholder: 'NAME',
      },
      batch: {
        type: 'string',
        description: 'train on this completed identity-crops batch',
        placeholder: 'ID',
      },
      prefix: {
        type: 'string',
        description: 'train on this folder of identity folders under your datasets/',
        placeholder: 'datasets/…/',
      },
      epochs: { type: 'string', description: 'training_kwargs.num_epochs', placeholder: 'N' },
      set: {
        type: 'string',
        multiple: true,
        description: 'any parameter: training.NAME=VALUE, model.NAME=VALUE, compute.NAME=VALUE',
        placeholder: 'KEY=VALUE',
      },
      tag: {
        type: 'string',
        multiple: true,
        description: 'a tag kept with the run (wandb_tags)',
        placeholder: 'TAG',
      },
      resume: { type: 'boolean', description: 'resume_from_checkpoint: continue the last run of this name' },
      'no-resume': { type: 'boolean', description: 'start from scratch even when the name has a checkpoint' },
      'dry-run': {
        type: 'boolean',
        description: 'check the request and print it as the server will read it; send nothing',
      },
      'idempotency-key': {
        type: 'string',
        description: 'replays the first answer when the same command runs again',
        placeholder: 'KEY',
      },
      ...FOLLOW_OPTIONS,
    },
    examples: [
      'synthforge train start --batch 01JD3X2K8Q7YV4N6B5M9T0RWZC --name players --epochs 20 --follow',
      'synthforge train start --prefix datasets/players/ --set training.learning_rate=0.0005 \\\n' +
        '      --set model.attention_layers=\'["layer1","layer4"]\' --tag baseline',
      'synthforge train start --file request.json --no-resume --json',
    ],
    async run(ctx, { values }) {
      const follow = followOptions(values);
      const base =
        values.file === undefined
          ? {}
          : parseTrainRequestText(
              values.file === '-' ? await ctx.readStdin() : await readRequestFile(values.file),
              values.file === '-' ? 'stdin' : values.file,
            );
      const checked = checkTrainRequest(buildTrainRequest(base, values));
      if (!checked.ok) {
        throw new UsageError(
          `the training request is invalid (${plural(checked.problems.length, 'problem')}); nothing was sent`,
          checked.problems.map(({ parameter, message }) => `${parameter}: ${message}`),
        );
      }
      if (values['dry-run']) {
        ctx.printJson(checked.parsed);
        return EXIT.ok;
      }
      const client = (await ctx.manager()).client;
      const accepted = await client.startTraining(checked.request, {
        signal: ctx.signal,
        ...(values['idempotency-key'] === undefined ? {} : { idempotencyKey: values['idempotency-key'] }),
      });
      if (!ctx.json) ctx.out(`Started training run ${accepted.task_id}: ${accepted.message}`);
      if (!values.follow) {
        if (ctx.json) ctx.printJson(accepted);
        else ctx.note(`Follow it with: synthforge train status ${accepted.task_id} --follow`);
        return EXIT.ok;
      }
      const task = await followTraining(ctx, client, accepted.task_id, follow);
      if (ctx.json) ctx.printJson({ accepted, task });
      return outcomeOf(task);
    },
  }),
  defineCommand({
    words: ['train', 'status'],
    summary: "A training run's status, epoch, loss and evaluation; --follow prints each epoch until it ends.",
    details: [
      [
        'Exits 0 while the run is pending or running and once it has completed, 1 when it failed or was',
        'cancelled; with --follow it waits for the end (4 when --timeout runs out first, 130 on Ctrl-C;',
        'the run goes on either way).',
      ].join('\n'),
    ],
    positionals: [TASK_ID],
    options: FOLLOW_OPTIONS,
    examples: [
      'synthforge train status 01JD3X2K8Q7YV4N6B5M9T0RWZC',
      'synthforge train status 01JD3X2K8Q7YV4N6B5M9T0RWZC --follow --poll-interval 10s --timeout 2h',
    ],
    async run(ctx, { values, args: [taskId = ''] }) {
      const follow = followOptions(values);
      const client = (await ctx.manager()).client;
      if (values.follow) {
        const task = await followTraining(ctx, client, taskId, follow);
        if (ctx.json) ctx.printJson(task);
        return outcomeOf(task);
      }
      const task = await client.getTrainingStatus(taskId, { signal: ctx.signal });
      ctx.result(task, describeTask);
      return TERMINAL_STATUSES.includes(task.status) ? outcomeOf(task) : EXIT.ok;
    },
  }),
  defineCommand({
    words: ['train', 'list'],
    summary: 'The newest training runs, optionally of one status.',
    options: {
      status: { type: 'string', description: `one of ${JOB_STATUSES.join(', ')}`, placeholder: 'STATUS' },
      limit: { type: 'string', description: 'how many (default 20)', placeholder: 'N' },
    },
    examples: ['synthforge train list --status running', 'synthforge train list --limit 5 --json'],
    async run(ctx, { values }) {
      const status = parseChoice(values.status, JOB_STATUSES, '--status');
      const limit = parseCount(values.limit ?? '20', '--limit', 1, 10_000);
      const tasks = await (await ctx.manager()).recentTraining(limit, status ? { status } : {}, {
        signal: ctx.signal,
      });
      ctx.result(tasks, () =>
        table(
          ['TASK', 'STATUS', 'NAME', 'EPOCH', 'BEST LOSS', 'CREATED'],
          tasks.map((task) => [
            task.task_id,
            statusOf(task),
            task.custom_name,
            epochOf(task) ?? '',
            loss(task.progress.best_loss) ?? '',
            shortTime(task.created_at),
          ]),
        ),
      );
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['train', 'cancel'],
    summary: 'Cancel a training run (its training job is stopped); one that already ended is refused.',
    positionals: [TASK_ID],
    async run(ctx, { args: [taskId = ''] }) {
      const cancelled = await (await ctx.manager()).client.cancelTraining(taskId, { signal: ctx.signal });
      ctx.result(
        cancelled,
        () => `Training run ${cancelled.task_id} is ${cancelled.status}: ${cancelled.message}`,
      );
      return EXIT.ok;
    },
  }),
];

interface FollowOptions {
  intervalMs: number;
  timeoutMs: number | undefined;
  quiet: boolean;
}

/** The --follow settings, read (and so checked) before anything is sent. */
function followOptions(values: {
  'poll-interval'?: string | undefined;
  timeout?: string | undefined;
  quiet?: boolean | undefined;
}): FollowOptions {
  return {
    intervalMs: parseDuration(values['poll-interval'] ?? '5s', '--poll-interval'),
    timeoutMs: values.timeout === undefined ? undefined : parseDuration(values.timeout, '--timeout'),
    quiet: values.quiet === true,
  };
}

async function readRequestFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read --file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/**
 * Polls a run until it ends: a line when its status changes, one per new epoch, and the trainer's new
 * log lines (on stderr). Epoch and status lines are the result on stdout, or notes on stderr with
 * --json (whose stdout is the final JSON). Resolves with the ended run.
 */
async function followTraining(
  ctx: CliContext,
  client: ApiClient,
  taskId: string,
  options: FollowOptions,
): Promise<TrainingTask> {
  const print = (line: string) => (ctx.json ? ctx.note(line) : ctx.out(line));
  const started = performance.now();
  let lastStatus = '';
  let lastEpoch: number | null = null;
  let lastLogs: readonly string[] = [];
  try {
    for (;;) {
      const task = await client.getTrainingStatus(taskId, { signal: ctx.signal });
      const { progress } = task;
      const logs = logUpdate(lastLogs, progress.logs);
      if (!options.quiet) for (const line of logs.fresh) ctx.note(`  | ${line}`);
      lastLogs = logs.window;
      const status = statusOf(task);
      if (TERMINAL_STATUSES.includes(task.status)) {
        if ((progress.current_epoch ?? 0) > 0 && progress.current_epoch !== lastEpoch) print(epochLine(task));
        print(endLine(task));
        return task;
      }
      if (status !== lastStatus) {
        lastStatus = status;
        print(
          `Training run ${task.task_id} "${task.custom_name}": ${status}${progress.message ? ` (${progress.message})` : ''}`,
        );
      }
      if ((progress.current_epoch ?? 0) > 0 && progress.current_epoch !== lastEpoch) {
        lastEpoch = progress.current_epoch;
        print(epochLine(task));
      }
      const elapsed = performance.now() - started;
      if (options.timeoutMs !== undefined && elapsed >= options.timeoutMs) {
        throw new WaitTimedOut(
          `training run ${taskId} did not end within ${formatDuration(options.timeoutMs)}; it goes on`,
          [`follow it again with: synthforge train status ${taskId} --follow`],
        );
      }
      const remaining = options.timeoutMs === undefined ? options.intervalMs : options.timeoutMs - elapsed;
      await wait(Math.min(options.intervalMs, Math.max(0, remaining)), ctx.signal);
    }
  } catch (error) {
    if (isAbort(error)) {
      ctx.note(
        `Stopped following; training run ${taskId} goes on (synthforge train cancel ${taskId} stops it).`,
      );
    }
    throw error;
  }
}

/**
 * What a new read of the trainer's log window adds to the last one: the lines after the longest
 * overlap of the old window's end with the new one's start (the trainer keeps its last lines). A
 * window that is empty or lies within the old one (a read of an older progress file) adds nothing
 * and does not replace it.
 */
export function logUpdate(
  previous: readonly string[],
  next: readonly string[],
): { fresh: readonly string[]; window: readonly string[] } {
  if (next.length === 0 || containsRun(previous, next)) return { fresh: [], window: previous };
  for (let overlap = Math.min(previous.length, next.length); overlap > 0; overlap--) {
    const tail = previous.slice(previous.length - overlap);
    if (tail.every((line, index) => line === next[index]))
      return { fresh: next.slice(overlap), window: next };
  }
  return { fresh: next, window: next };
}

/** Whether `run` appears in `lines` as consecutive lines. */
function containsRun(lines: readonly string[], run: readonly string[]): boolean {
  for (let start = 0; start + run.length <= lines.length; start++) {
    if (run.every((line, index) => lines[start + index] === line)) return true;
  }
  return false;
}

/** `running`, or `suspended` while a run waits to resume from its checkpoint. */
function statusOf(task: TrainingTask): string {
  return task.status === 'running' && task.progress.status === 'suspended' ? 'suspended' : task.status;
}

function epochOf(task: TrainingTask): string | undefined {
  const { current_epoch: epoch, total_epochs: total } = task.progress;
  if (epoch === null) return undefined;
  return total === null ? String(epoch) : `${epoch}/${total}`;
}

function loss(value: number | null): string | undefined {
  return value === null ? undefined : value.toFixed(4);
}

function evaluation(task: TrainingTask): string | undefined {
  const metrics = task.progress.metrics;
  return metrics
    ? `recall@1 ${metrics.recall_at_1.toFixed(3)}  mAP ${metrics.mean_average_precision.toFixed(3)}`
    : undefined;
}

/** `epoch 2/4  loss 0.3012  best 0.2950  recall@1 0.750  mAP 0.612` */
function epochLine(task: TrainingTask): string {
  const { progress } = task;
  return [
    `epoch ${epochOf(task)}`,
    progress.current_loss === null ? undefined : `loss ${loss(progress.current_loss)}`,
    progress.best_loss === null ? undefined : `best ${loss(progress.best_loss)}`,
    evaluation(task),
  ]
    .filter((part) => part !== undefined)
    .join('  ');
}

/** The run's outcome in one line, with the model's link or the reason it failed. */
function endLine(task: TrainingTask): string {
  const head = `Training run ${task.task_id} "${task.custom_name}" ${task.status}`;
  if (task.status === 'completed') {
    const best = loss(task.progress.best_loss);
    return `${head}${best ? `: best loss ${best}` : ''}${task.model_url ? `\n  model: ${task.model_url}` : ''}`;
  }
  if (task.error) return `${head}: ${task.error.code}: ${task.error.message}`;
  return task.status === 'failed' && task.message ? `${head}: ${task.message}` : head;
}

function describeTask(task: TrainingTask): string {
  const { progress } = task;
  const metrics = progress.metrics;
  const fields = fieldList([
    ['task', task.task_id],
    ['name', task.custom_name],
    ['status', statusOf(task)],
    ['epoch', epochOf(task)],
    ['loss', loss(progress.current_loss)],
    ['best loss', loss(progress.best_loss)],
    ['recall@1', metrics ? metrics.recall_at_1.toFixed(3) : undefined],
    ['mAP', metrics ? metrics.mean_average_precision.toFixed(3) : undefined],
    [
      'identities',
      progress.datasets_found === null
        ? undefined
        : `${progress.datasets_found} found, ${progress.datasets_processed ?? 0} trained on`,
    ],
    ['dataset', task.dataset?.uri],
    ['tags', task.wandb_tags.join(', ')],
    ['message', progress.message || task.message],
    ['error', task.error ? `${task.error.code}: ${task.error.message}` : undefined],
    ['model', task.model_url],
    ['created', shortTime(task.created_at)],
    ['updated', shortTime(task.updated_at)],
  ]);
  const logs = progress.logs.slice(-STATUS_LOG_LINES);
  return logs.length === 0
    ? fields
    : `${fields}\nlast log lines:\n${logs.map((line) => `  ${line}`).join('\n')}`;
}

/** 0 when the run completed, 1 when it failed or was cancelled (as the jobs commands say it). */
function outcomeOf(task: TrainingTask): number {
  return task.status === 'completed' ? EXIT.ok : EXIT.jobsFailed;
}
