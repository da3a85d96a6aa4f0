/**
 * `synthforge infer MODEL --text …`: one request to one model of the inference gateway (seed 003):
 * `claude4`, `nova` or an EMD model key. Frames are read from files and sent as base64, or uploaded
 * first when the request would be too large to send inline; the answer is printed whole, or with
 * `--stream` piece by piece as the model produces it.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ApiClient } from '../../api-client.ts';
import { type FrameContentType, framesToUpload, sniffFrameType } from '../../frames.ts';
import type { InferenceRequest, InferenceResponse } from '../../inference-resources.ts';
import {
  isModelWaking,
  type ModelWaitProgress,
  ModelWaitTimeoutError,
  type WaitForModelOptions,
} from '../../model-wait.ts';
import { type Command, defineCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError, EXIT, UsageError, WaitTimedOut } from '../exit-codes.ts';
import { formatBytes, formatDuration, parseChoice, parseCount, parseDuration, shortTime } from '../format.ts';

/** A model waking from zero, and the command was not asked to wait for it (exit 3: try again later). */
class ModelWaking extends CliError {
  override readonly name = 'ModelWaking';
  readonly code = 'MODEL_WAKING';
  readonly exit = EXIT.unavailable;
}

/** What the command asks a model: never `async`, so that the answer is printed, not a job. */
type ModelRequest = Omit<InferenceRequest, 'async'>;

/** A `--frame` as given: a file read into memory, or an `s3://` URI passed on as it is. */
type FrameArg = { uri: string } | { path: string; bytes: Buffer; type: FrameContentType | undefined };

export const inferCommands: Command[] = [
  defineCommand({
    words: ['infer'],
    summary: 'Ask a model (claude4, nova or an EMD model key) about a prompt and frames.',
    details: [
      'Frames are images (PNG, JPEG, GIF, WebP) or one MP4 with --media video, read from files; when the',
      'request would be too large to send inline (5 MiB), the largest frames are uploaded first and sent',
      'by their s3:// URI. The answer goes to stdout, the model and its usage to stderr.',
      'An EMD model scaled to zero answers 503 while it wakes; --wait waits for it. claude4 and nova',
      'never scale to zero: --wait is ignored for them.',
    ],
    positionals: [
      { name: 'MODEL', description: 'claude4, nova, or an EMD model key (synthforge models list)' },
    ],
    options: {
      text: { type: 'string', short: 't', description: 'the prompt (required)', placeholder: 'TEXT' },
      frame: {
        type: 'string',
        short: 'f',
        multiple: true,
        description: 'an image or video file, or an s3:// URI of an upload',
        placeholder: 'FILE',
      },
      media: {
        type: 'string',
        description: 'what the frames are: image or video (default: video for an MP4, else image)',
        placeholder: 'image|video',
      },
      'max-tokens': {
        type: 'string',
        description: 'the longest answer, 1–8192 (default 1024)',
        placeholder: 'N',
      },
      temperature: { type: 'string', description: '0–1 (default 0.1)', placeholder: 'T' },
      stream: {
        type: 'boolean',
        description: 'print the answer as it is produced (with --json: one event per line)',
      },
      wait: {
        type: 'boolean',
        description: 'wait for an EMD model scaled to zero to wake instead of failing',
      },
      timeout: {
        type: 'string',
        description: 'with --wait: stop waiting after this long (default 15m)',
        placeholder: 'DURATION',
      },
    },
    examples: [
      'synthforge infer claude4 --text "What is in this image?" --frame photo.jpg',
      'synthforge infer qwen2-vl-7b --text "Read the sign" --frame sign.png --stream --wait',
      'synthforge infer nova --text "Summarise this clip" --frame clip.mp4 --media video --json',
    ],
    async run(ctx, { values, args: [model = ''] }) {
      if (values.text === undefined) throw new UsageError('give the prompt with --text');
      const media = parseChoice(values.media, ['image', 'video'] as const, '--media');
      const maxTokens =
        values['max-tokens'] === undefined
          ? undefined
          : parseCount(values['max-tokens'], '--max-tokens', 0, 1_000_000);
      const temperature = values.temperature === undefined ? undefined : Number(values.temperature);
      if (temperature !== undefined && (values.temperature?.trim() === '' || !Number.isFinite(temperature))) {
        throw new UsageError(`--temperature takes a number, got ${JSON.stringify(values.temperature)}`);
      }
      const waitTimeoutMs = parseDuration(values.timeout ?? '15m', '--timeout');
      const frames = await Promise.all((values.frame ?? []).map(readFrameArg));

      const mediaType = media ?? impliedMedia(frames);

      const client = (await ctx.manager()).client;
      const request: ModelRequest = {
        text: values.text,
        ...(mediaType ? { mediaType } : {}),
        ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
        ...(temperature === undefined ? {} : { temperature }),
      };
      if (frames.length > 0) request.frames = await framesOf(ctx, client, request, frames);
      // Only an EMD model can be waking; for claude4 and nova --wait is said to be ignored, and is.
      const wait = values.wait === true && scalesToZero(model);
      if (values.wait && !wait) ctx.note(`--wait is for EMD models: ${model} never scales to zero`);
      const waitForModel: WaitForModelOptions | undefined = wait
        ? { timeoutMs: waitTimeoutMs, onProgress: (progress) => noteWaking(ctx, progress) }
        : undefined;
      try {
        if (values.stream) return await streamAnswer(ctx, client, model, request, waitForModel);
        const answer = await ask(ctx, client, model, request, waitForModel);
        ctx.result(answer, () => textOf(answer));
        if (!ctx.json) ctx.note(usageLine(answer.model, answer.response.usage, answer.latency_ms));
        return EXIT.ok;
      } catch (error) {
        throw explain(error, model);
      }
    },
  }),
];

/** Whether a model can be waking: an EMD model may have no copies; claude4 and nova are Bedrock's. */
const scalesToZero = (model: string) => model !== 'claude4' && model !== 'nova';

function ask(
  ctx: CliContext,
  client: ApiClient,
  model: string,
  request: ModelRequest,
  waitForModel: WaitForModelOptions | undefined,
): Promise<InferenceResponse> {
  const options = { signal: ctx.signal };
  if (model === 'claude4') return client.claude4(request, options);
  if (model === 'nova') return client.nova(request, options);
  return client.emd(model, request, { ...options, waitForModel });
}

/** Prints the events as they come: the text on stdout, the model and its usage on stderr. */
async function streamAnswer(
  ctx: CliContext,
  client: ApiClient,
  model: string,
  request: ModelRequest,
  waitForModel: WaitForModelOptions | undefined,
): Promise<number> {
  // Whether stdout holds text without its final newline: an error must not be glued to it.
  let lineOpen = false;
  try {
    for await (const event of client.stream(model, request, { signal: ctx.signal, waitForModel })) {
      if (ctx.json) ctx.out(JSON.stringify(event));
      else if (event.type === 'start') ctx.note(servedBy(event.model));
      else if (event.type === 'delta' && event.text !== '') {
        ctx.io.stdout.write(event.text);
        lineOpen = !event.text.endsWith('\n');
      } else if (event.type === 'done') {
        if (lineOpen) ctx.io.stdout.write('\n');
        lineOpen = false;
        ctx.note(usageLine(undefined, event.usage, event.latency_ms));
      }
    }
  } finally {
    if (lineOpen) ctx.io.stdout.write('\n');
  }
  return EXIT.ok;
}

async function readFrameArg(arg: string): Promise<FrameArg> {
  if (arg.startsWith('s3://')) return { uri: arg };
  let bytes: Buffer;
  try {
    bytes = await readFile(arg);
  } catch (error) {
    throw new UsageError(`cannot read --frame ${arg}: ${(error as Error).message}`);
  }
  return { path: arg, bytes, type: sniffFrameType(bytes) };
}

/** A video when the frames hold an MP4 and no --media says otherwise. */
function impliedMedia(frames: readonly FrameArg[]): 'video' | undefined {
  return frames.some((frame) => 'type' in frame && frame.type === 'video/mp4') ? 'video' : undefined;
}

/**
 * The `frames` of the request: base64 of each file, except the largest ones when the body would
 * not fit inline, which are uploaded and named by their `s3://` URI.
 */
async function framesOf(
  ctx: CliContext,
  client: ApiClient,
  request: ModelRequest,
  frames: readonly FrameArg[],
): Promise<string[]> {
  const uris = frames.flatMap((frame) => ('uri' in frame ? [frame.uri] : []));
  const otherBytes = Buffer.byteLength(JSON.stringify({ ...request, frames: uris }));
  const files = frames.flatMap((frame) => ('path' in frame ? [frame] : []));
  const upload = framesToUpload(
    files.map((file) => file.bytes.length),
    otherBytes,
  );
  const sent = new Map<FrameArg, string>();
  for (const [index, file] of files.entries()) {
    if (!upload.has(index)) {
      sent.set(file, file.bytes.toString('base64'));
      continue;
    }
    if (file.type === undefined) {
      throw new UsageError(
        `${file.path} (${formatBytes(file.bytes.length)}) is too large to send inline and is not a PNG, JPEG, GIF, WebP or MP4 file to upload`,
      );
    }
    const uri = await client.uploadFrame(file.bytes, {
      contentType: file.type,
      filename: basename(file.path),
      signal: ctx.signal,
    });
    ctx.note(`uploaded ${file.path} (${formatBytes(file.bytes.length)}) as ${uri}`);
    sent.set(file, uri);
  }
  return frames.map((frame) => ('uri' in frame ? frame.uri : (sent.get(frame) ?? '')));
}

function noteWaking(ctx: CliContext, progress: ModelWaitProgress): void {
  const eta = progress.estimatedReadyAt ? `, ready about ${shortTime(progress.estimatedReadyAt)}` : '';
  ctx.note(
    `model ${progress.model} is waking${eta}; asking again in ${formatDuration(progress.delayMs)} ` +
      `(waited ${formatDuration(progress.elapsedMs)})`,
  );
}

/** A wait that ran out is exit 4; a waking model without --wait says how to wait for it. */
function explain(error: unknown, model: string): unknown {
  if (error instanceof ModelWaitTimeoutError) {
    return new WaitTimedOut(error.message, [
      `the model goes on waking; see it with: synthforge models status`,
    ]);
  }
  if (isModelWaking(error) && scalesToZero(model)) {
    return new ModelWaking(`${error.message} (HTTP 503)`, [
      `ready about ${shortTime(error.estimatedReadyAt)}; wait for it with: synthforge infer ${model} --wait …`,
    ]);
  }
  return error;
}

const textOf = (answer: InferenceResponse) => answer.response.content.map((part) => part.text).join('');

/** `qwen2-vl-7b: Qwen/Qwen2-VL-7B-Instruct (answered by synthforge/local-vision, standing in)`. */
function servedBy(model: InferenceResponse['model']): string {
  const standIn = model.emulated ? ` (answered by ${model.answered_by}, standing in)` : '';
  return `${model.key}: ${model.model_id}${standIn}`;
}

function usageLine(
  model: InferenceResponse['model'] | undefined,
  usage: InferenceResponse['response']['usage'],
  latencyMs: number,
): string {
  const tokens = `${usage.input_tokens} tokens in, ${usage.output_tokens} out, ${latencyMs} ms`;
  return model ? `${servedBy(model)} · ${tokens}` : tokens;
}
