/**
 * `synthforge models status | list`: the inference gateway's models (seed 003). `status` shows each
 * EMD model's deployment now (a model scaled to zero costs nothing and wakes on its next call);
 * `list` the catalogue, Bedrock's models included.
 */
import type { EmdModelStatus, EmdStatus } from '../../inference-resources.ts';
import { type Command, defineCommand } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { shortTime, table } from '../format.ts';

export const modelCommands: Command[] = [
  defineCommand({
    words: ['models', 'status'],
    summary: "The EMD models' deployments: state, copies, instances, and when a waking one is ready.",
    details: [
      'scaled_to_zero: no copy runs; the next call wakes the model and is answered 503 until it is ready',
      '(synthforge infer MODEL --wait waits for it). Offline, the local model stands in for each one.',
    ],
    async run(ctx) {
      const status = await (await ctx.manager()).client.emdStatus({ signal: ctx.signal });
      ctx.result(status, renderStatus);
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['models', 'list'],
    summary: 'Every model the gateway knows: its key, provider, state, media and model id.',
    async run(ctx) {
      const list = await (await ctx.manager()).client.emdModels({ signal: ctx.signal });
      ctx.result(list, () =>
        list.models.length === 0
          ? 'no models in this stage'
          : table(
              ['KEY', 'PROVIDER', 'STATE', 'MEDIA', 'NAME', 'MODEL ID'],
              list.models.map((model) => [
                model.model_key,
                model.provider,
                model.state,
                model.media.join(','),
                model.name,
                model.model_id,
              ]),
            ),
      );
      return EXIT.ok;
    },
  }),
];

/** One row per model, then each model's message and which local model stands in for it. */
function renderStatus(status: EmdStatus): string {
  if (status.models.length === 0) return 'no EMD models in this stage';
  const rows = status.models.map((model) => [
    model.model_key,
    model.state,
    model.copies ? `${model.copies.current}/${model.copies.desired}` : '-',
    model.instances
      ? `${model.instances.current} (${model.instances.min}–${model.instances.max}${model.instance_type ? ` ${model.instance_type}` : ''})`
      : '-',
    model.estimated_ready_at ? shortTime(model.estimated_ready_at) : '-',
    model.model_id,
  ]);
  const notes = status.models.flatMap(noteOf);
  return [table(['MODEL', 'STATE', 'COPIES', 'INSTANCES', 'ETA', 'MODEL ID'], rows).trimEnd(), ...notes].join(
    '\n',
  );
}

function noteOf(model: EmdModelStatus): string[] {
  const standIn =
    model.answered_by && model.answered_by !== model.model_id ? `answered by ${model.answered_by}` : '';
  const note = [model.message, standIn].filter(Boolean).join('; ');
  return note ? [`${model.model_key}: ${note}`] : [];
}
