/** `synthforge generators list | show NAME | random NAME`: what can be generated, and with what. */
import type { ParameterSpec, ParamValues } from '../../resources.ts';
import { type Command, defineCommand } from '../command.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { parseCount, table } from '../format.ts';

export const generatorCommands: Command[] = [
  defineCommand({
    words: ['generators', 'list'],
    summary: 'List the generators this deployment offers.',
    examples: ['synthforge generators list', 'synthforge generators list --json'],
    async run(ctx) {
      const { generators } = await (await ctx.manager()).client.listGenerators({ signal: ctx.signal });
      ctx.result(generators, () =>
        table(
          ['NAME', 'RUNS ON', 'PREVIEW', 'DESCRIPTION'],
          generators.map((g) => [g.name, g.runs_on, g.options.preview ? 'yes' : 'no', g.description]),
        ),
      );
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['generators', 'show'],
    summary: "Show a generator's parameters: type, default, range or choices.",
    positionals: [{ name: 'NAME', description: 'the generator, e.g. shapes' }],
    examples: ['synthforge generators show shapes'],
    async run(ctx, { args: [name = ''] }) {
      const session = await (await ctx.manager()).session(name, { signal: ctx.signal });
      const generator = session.generator;
      ctx.result(generator, () =>
        [
          `${generator.name}: ${generator.description}`,
          `runs on: ${generator.runs_on} · previews: ${generator.options.preview ? 'yes' : 'no'}`,
          `output: ${generator.output}`,
          '',
          table(
            ['PARAMETER', 'TYPE', 'DEFAULT', 'ALLOWED', 'DESCRIPTION'],
            generator.params.map((spec) => [
              spec.name,
              spec.type,
              JSON.stringify(spec.default_value),
              allowedValues(spec),
              spec.description ?? '',
            ]),
          ),
        ].join('\n'),
      );
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['generators', 'random'],
    summary: 'Draw valid random parameter sets, one JSON object per line (a --params file).',
    details: [
      'The server draws them: it knows the rules that span parameters. --set fixes a value in every',
      'set; the value is read as JSON when it parses (2, true, "x"), else as a string.',
    ],
    positionals: [{ name: 'NAME', description: 'the generator' }],
    options: {
      count: { type: 'string', short: 'n', description: 'how many sets (default 1)', placeholder: 'N' },
      seed: { type: 'string', description: 'the same seed draws the same sets', placeholder: 'SEED' },
      set: {
        type: 'string',
        multiple: true,
        description: 'keep this value in every set',
        placeholder: 'NAME=VALUE',
      },
    },
    examples: [
      'synthforge generators random shapes -n 100 --seed 7 > jobs.jsonl',
      'synthforge generators random shapes -n 10 --set frames=2 --set palette=pastel',
    ],
    async run(ctx, { values, args: [name = ''] }) {
      const count = parseCount(values.count ?? '1', '--count', 1, 10_000);
      const seed = values.seed === undefined ? undefined : parseCount(values.seed, '--seed', 0, 2 ** 31 - 1);
      const keep = parseAssignments(values.set ?? []);
      const session = await (await ctx.manager()).session(name, { signal: ctx.signal });
      const drawn = await session.randomJobParams(count, seed, {
        signal: ctx.signal,
        ...(keep ? { keep } : {}),
      });
      ctx.result(drawn, () => drawn.map((values) => JSON.stringify(values)).join('\n'));
      return EXIT.ok;
    },
  }),
];

/** `min–max` or the choices of a parameter. */
function allowedValues(spec: ParameterSpec): string {
  const { min, max, choices } = spec.options ?? {};
  if (choices) return choices.map((choice) => String(choice)).join(' | ');
  if (min !== undefined && max !== undefined) return `${min}–${max}`;
  if (min !== undefined) return `≥ ${min}`;
  if (max !== undefined) return `≤ ${max}`;
  return spec.type === 'bool' ? 'true | false' : '';
}

/** `['frames=2', 'palette=pastel']` → `{ frames: 2, palette: 'pastel' }`. */
export function parseAssignments(assignments: readonly string[]): ParamValues | undefined {
  if (assignments.length === 0) return undefined;
  const values: ParamValues = {};
  for (const assignment of assignments) {
    const equals = assignment.indexOf('=');
    if (equals <= 0) throw new UsageError(`--set takes NAME=VALUE, got ${JSON.stringify(assignment)}`);
    const raw = assignment.slice(equals + 1);
    values[assignment.slice(0, equals)] = parseLooseValue(raw);
  }
  return values;
}

function parseLooseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
