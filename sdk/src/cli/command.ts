/**
 * The CLI's command model: each command declares its words, positionals and options once, and that
 * one declaration drives parsing (node:util parseArgs), the typed values its `run` receives, and its
 * help text.
 */
import { type ParseArgsOptionDescriptor, parseArgs } from 'node:util';
import type { CliContext } from './context.ts';
import { UsageError } from './exit-codes.ts';

/** One option: parseArgs' descriptor plus what the help says about it. */
export type OptionSpec = ParseArgsOptionDescriptor & {
  description: string;
  /** The value's name in the help (`--timeout DURATION`). */
  placeholder?: string;
};
export type OptionSpecs = Record<string, OptionSpec>;

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  profile: {
    type: 'string',
    description: 'the configuration profile to use (default: the current one; env SYNTHFORGE_PROFILE)',
    placeholder: 'NAME',
  },
  'api-url': {
    type: 'string',
    description: "the API's base URL, overriding the profile and SYNTHFORGE_API_URL",
    placeholder: 'URL',
  },
  json: { type: 'boolean', description: 'print machine-readable JSON on stdout' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies OptionSpecs;

/** A time range over creation times, for the list and usage commands (see `timeRangeOf`). */
export const TIME_RANGE_OPTIONS = {
  since: {
    type: 'string',
    description: 'from (inclusive): an ISO time with zone, a date, or a duration ago (2h, 7d)',
    placeholder: 'WHEN',
  },
  until: {
    type: 'string',
    description: 'to (exclusive): an ISO time with zone, a date, or a duration ago',
    placeholder: 'WHEN',
  },
} as const satisfies OptionSpecs;

type ParsedValues<O extends OptionSpecs> = ReturnType<
  typeof parseArgs<{ options: O & typeof GLOBAL_OPTIONS; allowPositionals: true; strict: true }>
>['values'];

/** A positional argument. */
export interface PositionalSpec {
  name: string;
  description: string;
  /** Default true. */
  required?: boolean;
  /** The last positional only: takes every remaining argument (`PROMPT...`). */
  variadic?: boolean;
}

export interface CommandSpec<O extends OptionSpecs> {
  /** The words that name it: `['batch', 'submit']`. */
  words: readonly string[];
  summary: string;
  /** Paragraphs printed under the usage line. */
  details?: readonly string[];
  positionals?: readonly PositionalSpec[];
  options?: O;
  examples?: readonly string[];
  run(ctx: CliContext, input: { values: ParsedValues<O>; args: string[] }): Promise<number>;
}

/** A command with its option types erased, as the program holds them. */
export interface Command {
  readonly words: readonly string[];
  readonly summary: string;
  readonly details: readonly string[];
  readonly positionals: readonly PositionalSpec[];
  readonly options: OptionSpecs;
  readonly examples: readonly string[];
  /** Parses `argv` (the words after the command's own) and runs it. */
  invoke(ctx: CliContext, argv: readonly string[]): Promise<number>;
}

export function defineCommand<const O extends OptionSpecs = Record<never, OptionSpec>>(
  spec: CommandSpec<O>,
): Command {
  const options = { ...GLOBAL_OPTIONS, ...(spec.options ?? {}) } as O & typeof GLOBAL_OPTIONS;
  const positionals = spec.positionals ?? [];
  return {
    words: spec.words,
    summary: spec.summary,
    details: spec.details ?? [],
    positionals,
    options,
    examples: spec.examples ?? [],
    async invoke(ctx, argv) {
      const { values, positionals: args } = parseCommandLine(spec.words, options, argv);
      ctx.configure(values as ParsedValues<typeof GLOBAL_OPTIONS>);
      if (values.help) {
        ctx.out(renderCommandHelp(this));
        return 0;
      }
      const required = positionals.filter((p) => p.required !== false).length;
      const most = positionals.at(-1)?.variadic ? Number.POSITIVE_INFINITY : positionals.length;
      if (args.length < required || args.length > most) {
        const expected = positionals.map((p) => (p.required === false ? `[${p.name}]` : p.name)).join(' ');
        throw new UsageError(
          args.length < required
            ? `missing ${positionals[args.length]?.name ?? 'argument'} (usage: ${usageLine(this)})`
            : `unexpected argument ${JSON.stringify(args[positionals.length])}${expected ? ` (expects ${expected})` : ''}`,
        );
      }
      return spec.run(ctx, { values: values as ParsedValues<O>, args });
    },
  };
}

function parseCommandLine(words: readonly string[], options: OptionSpecs, argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' messages name the option but not the command, and suggest `--` oddly; say it plainly.
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`synthforge ${words.join(' ')}: ${message}`);
  }
}

/** `synthforge batch download ID DIR [options]` */
export function usageLine(command: Pick<Command, 'words' | 'positionals' | 'options'>): string {
  const args = command.positionals.map((p) => {
    const name = p.variadic ? `${p.name}...` : p.name;
    return p.required === false ? `[${name}]` : name;
  });
  return ['synthforge', ...command.words, ...args, '[options]'].join(' ');
}

export function renderCommandHelp(command: Command): string {
  const lines = [`Usage: ${usageLine(command)}`, '', command.summary];
  for (const paragraph of command.details) lines.push('', paragraph);
  if (command.positionals.length > 0) {
    lines.push('', 'Arguments:');
    lines.push(...alignRows(command.positionals.map((p) => [p.name, p.description])));
  }
  const own = Object.entries(command.options).filter(([name]) => !(name in GLOBAL_OPTIONS));
  if (own.length > 0) {
    lines.push('', 'Options:');
    lines.push(...alignRows(own.map(([name, spec]) => [optionLabel(name, spec), describeOption(spec)])));
  }
  lines.push('', 'Global options:');
  lines.push(
    ...alignRows(
      Object.entries(GLOBAL_OPTIONS).map(([name, spec]) => [optionLabel(name, spec), spec.description]),
    ),
  );
  if (command.examples.length > 0) {
    lines.push('', 'Examples:', ...command.examples.map((example) => `  ${example}`));
  }
  return `${lines.join('\n')}\n`;
}

function optionLabel(name: string, spec: OptionSpec): string {
  const short = spec.short ? `-${spec.short}, ` : '    ';
  const value = spec.type === 'string' ? ` ${spec.placeholder ?? 'VALUE'}` : '';
  return `${short}--${name}${value}`;
}

function describeOption(spec: OptionSpec): string {
  const repeat = spec.multiple ? ' (repeatable)' : '';
  return `${spec.description}${repeat}`;
}

/** Two columns, the first padded to its widest cell. */
export function alignRows(rows: readonly (readonly [string, string])[], indent = '  '): string[] {
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}  ${right}`.trimEnd());
}
