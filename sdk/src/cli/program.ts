/**
 * The `synthforge` program: finds the command a command line names, runs it, and turns whatever
 * went wrong into a message and an exit status. Runs in process (tests call `runCli`) or from
 * main.ts.
 */
import { BatchTimeoutError } from '../batch.ts';
import { NetworkError, SynthForgeError, TimeoutError } from '../errors.ts';
import { SDK_VERSION } from '../version.ts';
import { alignRows, type Command, GLOBAL_OPTIONS, renderCommandHelp } from './command.ts';
import { avatarCommands } from './commands/avatars.ts';
import { batchCommands } from './commands/batch.ts';
import { configCommands } from './commands/config.ts';
import { exportCommands } from './commands/export.ts';
import { generatorCommands } from './commands/generators.ts';
import { imageCommands } from './commands/images.ts';
import { inferCommands } from './commands/infer.ts';
import { jobCommands } from './commands/jobs.ts';
import { modelCommands } from './commands/models.ts';
import { profileCommands } from './commands/profiles.ts';
import { serviceCommands } from './commands/service.ts';
import { trainCommands } from './commands/train.ts';
import { CliContext, type CliIo } from './context.ts';
import { CliError, EXIT, exitCodeFor, isAbort, UsageError } from './exit-codes.ts';

export const COMMANDS: readonly Command[] = [
  ...generatorCommands,
  ...batchCommands,
  ...jobCommands,
  ...imageCommands,
  ...profileCommands,
  ...exportCommands,
  ...trainCommands,
  ...inferCommands,
  ...modelCommands,
  ...avatarCommands,
  ...serviceCommands,
  ...configCommands,
];

const GROUPS: Record<string, string> = {
  generators: 'what can be generated, and with which parameters',
  batch: 'submit batches, follow them, download their results',
  jobs: 'jobs of every kind: list, show, cancel, logs',
  images: 'images from prompts (seed 001) on the stage’s models, and their validation',
  profiles: 'profiles of an image set (seed 001): colour, brightness, contrast, resolution',
  export: 'export a batch or prefix (seed 001): to JSONL, or to your own S3 bucket',
  train: 'training runs (seed 002): start, follow, list, cancel',
  models: 'the inference gateway’s models (seed 003): deployments and catalogue',
  avatars: 'avatarize CSV tables (seed 004): run the job graph, advise parameters',
  config: 'profiles of API URL and key',
};

/** Runs one command line; resolves with the exit status. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const ctx = new CliContext(io);
  try {
    return await dispatch(ctx, argv);
  } catch (error) {
    return reportError(ctx, error, argv);
  }
}

async function dispatch(ctx: CliContext, argv: readonly string[]): Promise<number> {
  const { words, rest } = splitCommandLine(argv);
  if (words.length === 0) {
    if (rest.includes('--version') || rest.includes('-V')) {
      ctx.out(SDK_VERSION);
      return EXIT.ok;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      ctx.out(renderProgramHelp());
      return EXIT.ok;
    }
    ctx.note(renderProgramHelp());
    return EXIT.usage;
  }
  if (words[0] === 'help')
    return help(
      ctx,
      rest.filter((token) => !token.startsWith('-')),
    );

  const command = findCommand(words);
  if (command) return command.invoke(ctx, [...words.slice(command.words.length), ...rest]);

  const group = words[0] ?? '';
  const next = rest[0] !== undefined && !rest[0].startsWith('-') ? rest[0] : undefined;
  if (group in GROUPS && words.length === 1 && next === undefined) {
    const wantsHelp = rest.includes('--help') || rest.includes('-h');
    (wantsHelp ? ctx.out.bind(ctx) : ctx.note.bind(ctx))(renderGroupHelp(group));
    return wantsHelp ? EXIT.ok : EXIT.usage;
  }
  const typed = next === undefined ? words : [...words, next];
  throw new UsageError(`unknown command: ${typed.slice(0, 2).join(' ')}${suggestion(typed)}`);
}

function help(ctx: CliContext, words: readonly string[]): number {
  const command = findCommand(words);
  if (command && command.words.length === words.length) ctx.out(renderCommandHelp(command));
  else if (words.length === 1 && (words[0] ?? '') in GROUPS) ctx.out(renderGroupHelp(words[0] ?? ''));
  else if (words.length === 0) ctx.out(renderProgramHelp());
  else throw new UsageError(`no help for ${words.join(' ')}: no such command${suggestion(words)}`);
  return EXIT.ok;
}

/** The command whose words start the command line (the longest such). */
function findCommand(words: readonly string[]): Command | undefined {
  return COMMANDS.filter((command) => command.words.every((word, index) => words[index] === word)).sort(
    (a, b) => b.words.length - a.words.length,
  )[0];
}

/**
 * Separates the words that name the command from everything else. Global options may come first
 * (`synthforge --json batch list`): they are moved behind the command's words, where its parser
 * reads them.
 */
export function splitCommandLine(argv: readonly string[]): { words: string[]; rest: string[] } {
  const leading: string[] = [];
  let index = 0;
  while (index < argv.length) {
    const token = argv[index] ?? '';
    const name = token.replace(/^--?/, '').split('=')[0] ?? '';
    if (!token.startsWith('-') || token === '-') break;
    const spec = (GLOBAL_OPTIONS as Record<string, { type: string; short?: string }>)[name];
    const takesValue = spec?.type === 'string' && !token.includes('=');
    leading.push(token);
    if (takesValue && index + 1 < argv.length) leading.push(argv[index + 1] ?? '');
    index += takesValue ? 2 : 1;
  }
  const words: string[] = [];
  // Two words at most name a command; the rest are its arguments.
  while (index < argv.length && words.length < 2 && !(argv[index] ?? '').startsWith('-')) {
    const word = argv[index] ?? '';
    if (words.length === 1 && !isCommandPrefix([...words, word])) break;
    words.push(word);
    index++;
  }
  return { words, rest: [...argv.slice(index), ...leading] };
}

function isCommandPrefix(words: readonly string[]): boolean {
  return COMMANDS.some((command) => words.every((word, index) => command.words[index] === word));
}

function suggestion(words: readonly string[]): string {
  const typed = words.slice(0, 2).join(' ');
  const candidates = COMMANDS.map((command) => command.words.join(' '));
  const best = candidates
    .map((candidate) => ({ candidate, distance: editDistance(typed, candidate.slice(0, typed.length + 2)) }))
    .sort((a, b) => a.distance - b.distance)[0];
  return best && best.distance <= 3 ? ` (did you mean: synthforge ${best.candidate}?)` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

export function renderProgramHelp(): string {
  const lines = [
    'synthforge: the SynthForge command line (generators, batches, jobs, images, training, inference)',
    '',
    'Usage: synthforge COMMAND [arguments] [options]',
    '',
    'Commands:',
    ...alignRows(COMMANDS.map((command) => [command.words.join(' '), command.summary])),
    '',
    'Global options: --profile NAME, --api-url URL, --json, -h/--help; synthforge --version',
    '',
    'Configuration: synthforge config set api_url URL; synthforge config set api_key -',
    '  (SYNTHFORGE_API_URL, SYNTHFORGE_API_KEY and SYNTHFORGE_PROFILE override the profile)',
    '',
    'Exit status:',
    ...alignRows([
      [String(EXIT.ok), 'done'],
      [
        String(EXIT.jobsFailed),
        'the batch, job or training run ended failed or cancelled; a validation did not pass',
      ],
      [String(EXIT.usage), 'wrong command, arguments, configuration or request; nothing was started'],
      [String(EXIT.unavailable), 'server or network error (5xx, throttled after every retry, no answer)'],
      [String(EXIT.timedOut), 'a wait ran out of time; the batch or run goes on'],
      [String(EXIT.interrupted), 'interrupted (Ctrl-C)'],
    ]),
    '',
    "Run 'synthforge COMMAND --help' for a command's arguments and options.",
  ];
  return `${lines.join('\n')}\n`;
}

function renderGroupHelp(group: string): string {
  const members = COMMANDS.filter((command) => command.words[0] === group);
  return `${[
    `synthforge ${group}: ${GROUPS[group]}`,
    '',
    'Commands:',
    ...alignRows(members.map((command) => [command.words.join(' '), command.summary])),
    '',
    `Run 'synthforge ${group} COMMAND --help' for its arguments and options.`,
  ].join('\n')}\n`;
}

/** Prints what went wrong (as JSON with --json) and picks the exit status. */
function reportError(ctx: CliContext, error: unknown, argv: readonly string[]): number {
  const code = exitCodeFor(error);
  const { message, lines, fields } = describeError(error, argv);
  if (ctx.json) {
    ctx.note(
      JSON.stringify({
        error: { ...fields, message, lines: lines.length > 0 ? lines : undefined, exit_code: code },
      }),
    );
  } else {
    ctx.note([`error: ${message}`, ...lines.map((line) => `  ${line}`)].join('\n'));
    if (ctx.io.env.SYNTHFORGE_DEBUG && error instanceof Error && error.stack) ctx.note(error.stack);
  }
  return code;
}

function describeError(
  error: unknown,
  argv: readonly string[],
): { message: string; lines: string[]; fields: Record<string, unknown> } {
  if (error instanceof CliError) {
    const lines = [...error.lines];
    if (error instanceof UsageError) {
      const helpFor = findCommand(splitCommandLine(argv).words)?.words.join(' ');
      lines.push(`(see synthforge ${helpFor ? `${helpFor} ` : ''}--help)`);
    }
    return { message: error.message, lines, fields: { code: error.code } };
  }
  if (error instanceof BatchTimeoutError) {
    return {
      message: error.message,
      lines: [`the batch goes on; wait again with: synthforge batch wait ${error.batchId}`],
      fields: { code: 'WAIT_TIMEOUT', batch_id: error.batchId },
    };
  }
  if (error instanceof SynthForgeError) {
    const where = [`HTTP ${error.status}`, error.code];
    if (error.attempts > 1) where.push(`after ${error.attempts} attempts`);
    if (error.requestId) where.push(`request id ${error.requestId}`);
    return {
      message: `${error.message} (${where.join(', ')})`,
      lines: detailLines(error.details),
      fields: {
        code: error.code,
        status: error.status,
        details: error.details,
        request_id: error.requestId,
      },
    };
  }
  if (error instanceof NetworkError || error instanceof TimeoutError) {
    return {
      message: error.message,
      lines: [],
      fields: { code: error.name === 'TimeoutError' ? 'TIMEOUT' : 'NETWORK' },
    };
  }
  if (isAbort(error)) return { message: 'interrupted', lines: [], fields: { code: 'INTERRUPTED' } };
  const message = error instanceof Error ? error.message : String(error);
  return { message, lines: [], fields: { code: 'INTERNAL' } };
}

/** The envelope's details, one line each, at most 20. */
function detailLines(details: Record<string, unknown> | undefined): string[] {
  if (!details) return [];
  const lines = Object.entries(details).flatMap(([key, value]) =>
    Array.isArray(value)
      ? value.map((item) => `${key}: ${typeof item === 'string' ? item : JSON.stringify(item)}`)
      : [`${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`],
  );
  return lines.length > 20 ? [...lines.slice(0, 20), `… ${lines.length - 20} more`] : lines;
}
