/**
 * `synthforge images generate PROMPT | batch PROMPT… | show JOB_ID | validate PATH`: seed 001's
 * text-to-image from the shell. `generate` waits for the image (polling past the server's own wait,
 * with the job's phase — warming while a GPU endpoint starts from zero) and can save it; `validate`
 * (images-validate.ts) checks an image's or a batch's quality and privacy.
 */
import { writeFile } from 'node:fs/promises';
import type { ApiClient } from '../../api-client.ts';
import type { GeneratedImage, ImageJobState } from '../../resources.ts';
import { wait } from '../../retry.ts';
import { type Command, defineCommand, type OptionSpecs } from '../command.ts';
import type { CliContext } from '../context.ts';
import { EXIT, UsageError, WaitTimedOut } from '../exit-codes.ts';
import { formatBytes, formatDuration, parseCount, parseDuration } from '../format.ts';
import { validateImagesCommand } from './images-validate.ts';

const IMAGE_OPTIONS = {
  model: {
    type: 'string',
    short: 'm',
    description: 'model_id (default: the stage’s default model)',
    placeholder: 'ID',
  },
  width: { type: 'string', description: 'pixels, 64–1024, a multiple of 8 (default 512)', placeholder: 'N' },
  height: { type: 'string', description: 'pixels, 64–1024, a multiple of 8 (default 512)', placeholder: 'N' },
  steps: { type: 'string', description: 'num_inference_steps, 1–150', placeholder: 'N' },
  guidance: { type: 'string', description: 'guidance_scale, 1–20 (default 7.5)', placeholder: 'X' },
  negative: { type: 'string', description: 'negative_prompt: what should not appear', placeholder: 'TEXT' },
  seed: { type: 'string', description: 'for a reproducible image', placeholder: 'SEED' },
} as const satisfies OptionSpecs;

type ImageOptionValues = { [K in keyof typeof IMAGE_OPTIONS]?: string | undefined };

/** The request fields the options give. Bounds are the server's: it answers seed 001's messages. */
function parametersOf(values: ImageOptionValues) {
  const number = (text: string, option: string) => {
    const value = Number(text);
    if (!Number.isFinite(value))
      throw new UsageError(`${option} takes a number, got ${JSON.stringify(text)}`);
    return value;
  };
  return {
    ...(values.model ? { model_id: values.model } : {}),
    ...(values.width ? { width: parseCount(values.width, '--width', 1, 100_000) } : {}),
    ...(values.height ? { height: parseCount(values.height, '--height', 1, 100_000) } : {}),
    ...(values.steps ? { num_inference_steps: parseCount(values.steps, '--steps', 1, 100_000) } : {}),
    ...(values.guidance ? { guidance_scale: number(values.guidance, '--guidance') } : {}),
    ...(values.negative ? { negative_prompt: values.negative } : {}),
    ...(values.seed ? { seed: parseCount(values.seed, '--seed', 0, 4_294_967_295) } : {}),
  };
}

const isImage = (answer: GeneratedImage | ImageJobState): answer is GeneratedImage => 'image_url' in answer;

export const imageCommands: Command[] = [
  defineCommand({
    words: ['images', 'generate'],
    summary: 'Generate one image from a prompt; wait for it and optionally save it.',
    details: [
      'The server answers at once when the image is ready within its wait; otherwise this command',
      'polls the job (a GPU endpoint waking from zero shows "warming" with an estimated ready time).',
    ],
    positionals: [{ name: 'PROMPT', description: 'what the image shows' }],
    options: {
      ...IMAGE_OPTIONS,
      out: { type: 'string', short: 'o', description: 'save the PNG to FILE', placeholder: 'FILE' },
      timeout: {
        type: 'string',
        description: 'stop waiting after this long (default 30m)',
        placeholder: 'DURATION',
      },
    },
    examples: [
      'synthforge images generate "pastel stars over a gradient" --width 512 --height 384 --seed 42 -o stars.png',
      'synthforge images generate "a lighthouse at dusk" --model runwayml/stable-diffusion-v1-5 --json',
    ],
    async run(ctx, { values, args: [prompt = ''] }) {
      const timeoutMs = parseDuration(values.timeout ?? '30m', '--timeout');
      const client = (await ctx.manager()).client;
      const first = await client.generateImage({ prompt, ...parametersOf(values) }, { signal: ctx.signal });
      const image = isImage(first) ? first : await awaitImage(ctx, client, first, timeoutMs);
      let saved: number | undefined;
      if (values.out) {
        const png = await client.fetchResult(image.image_url, { signal: ctx.signal });
        await writeFile(values.out, png);
        saved = png.length;
      }
      ctx.result({ ...image, ...(values.out ? { saved_to: values.out } : {}) }, () =>
        [
          `Image ${image.job_id}: ${image.image_path}`,
          `  ${image.parameters.width}×${image.parameters.height}, ${image.parameters.num_inference_steps} steps, seed ${image.parameters.seed}, model ${image.parameters.model_id}`,
          `  estimated cost: $${image.cost.usd.toFixed(6)} (${image.cost.gpu_seconds} s on ${image.cost.instance_type})`,
          values.out ? `  saved to ${values.out} (${formatBytes(saved ?? 0)})` : `  ${image.image_url}`,
        ].join('\n'),
      );
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['images', 'batch'],
    summary: 'Generate one image per prompt as one batch; prints the batch id (poll it with images status).',
    positionals: [{ name: 'PROMPT', description: 'one or more prompts (quote each)', variadic: true }],
    options: IMAGE_OPTIONS,
    async run(ctx, { values, args }) {
      if (args.length === 0) throw new UsageError('give at least one prompt');
      const client = (await ctx.manager()).client;
      const accepted = await client.generateImageBatch(
        { prompts: args, ...parametersOf(values) },
        { signal: ctx.signal },
      );
      ctx.result(accepted, () =>
        [
          `Submitted image batch ${accepted.batch_id} with ${accepted.jobs.length} prompts (estimated $${accepted.cost.usd.toFixed(6)}).`,
          `Follow it with: synthforge images status ${accepted.batch_id}`,
        ].join('\n'),
      );
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['images', 'status'],
    summary: "An image batch's images: each prompt, its status, and its link once ready.",
    positionals: [{ name: 'BATCH_ID', description: 'printed by images batch' }],
    async run(ctx, { args: [batchId = ''] }) {
      const result = await (await ctx.manager()).client.getGeneratedBatch(batchId, { signal: ctx.signal });
      ctx.result(result, () =>
        [
          `Image batch ${result.batch_id}: ${result.status}`,
          ...result.images.map(
            (image) =>
              `  ${image.job_id}  ${image.status.padEnd(9)}  ${JSON.stringify(image.prompt)}${image.image_path ? `  ${image.image_path}` : ''}${image.error ? `  ${image.error.code}: ${image.error.message}` : ''}`,
          ),
        ].join('\n'),
      );
      return result.status === 'completed' && result.images.every((image) => image.status === 'completed')
        ? EXIT.ok
        : result.status === 'pending' || result.status === 'running'
          ? EXIT.ok
          : EXIT.jobsFailed;
    },
  }),
  validateImagesCommand,
];

/** Polls an image job to its image, showing its phase on stderr. */
async function awaitImage(
  ctx: CliContext,
  client: ApiClient,
  state: ImageJobState,
  timeoutMs: number,
): Promise<GeneratedImage> {
  const started = performance.now();
  let lastPhase = '';
  for (let current = state; ; ) {
    if (current.phase !== lastPhase) {
      lastPhase = current.phase;
      const eta = current.estimated_ready_at
        ? `, ready about ${new Date(current.estimated_ready_at).toLocaleTimeString()}`
        : '';
      ctx.note(
        `image ${current.job_id}: ${current.phase}${current.message ? ` (${current.message})` : ''}${eta}`,
      );
    }
    if (performance.now() - started > timeoutMs) {
      throw new WaitTimedOut(
        `image ${current.job_id} was not ready within ${formatDuration(timeoutMs)}; it goes on`,
        [`look again with: synthforge images status ${current.batch_id}`],
      );
    }
    await wait(current.phase === 'warming' ? 5_000 : 500, ctx.signal);
    const answer = await client.getGeneratedImage(current.job_id, { signal: ctx.signal });
    if (isImage(answer)) return answer;
    current = answer;
  }
}
