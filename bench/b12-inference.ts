/**
 * B12, the inference gateway (issue 13) on the local platform, with Bedrock emulated and every model
 * answered by the local vision model (containers/local-vision), against that model called directly
 * in a process of its own (the reference), started as the platform starts its own:
 * - streaming time to first token: `POST /api/stream/qwen2-vl-7b`, from the request to the first
 *   `delta` event, against `POST /invocations` with the chat-completions body the gateway's SageMaker
 *   adapter sends (`stream: true`), to the first chunk with content;
 * - overhead per request: `POST /api/emd/qwen2-vl-7b` against the same `POST /invocations` without
 *   `stream`, as a ratio and as milliseconds added;
 * - multi-inference: `POST /api/multi-inference` over qwen2-vl-7b, gemma-3-4b and claude4, against
 *   the slowest of the three single calls, each through its own route, in the same round. On a
 *   platform of its own whose local model writes its tokens at 4 ms each (250 tokens/s), with a
 *   text-only prompt: a deployed model's time is its generation on its own accelerator, while the
 *   local model's image analysis runs on the two cores the gateway runs on too, where three models'
 *   work can only queue (the three of a fan-out share one process and one OCR worker). An
 *   informational row compares the fan-out with the three single routes called at once by the
 *   client, on the same models.
 *
 * Gateway and direct calls alternate which goes first; every ratio is the median of the per-round
 * ratios with a bootstrap interval. A first round is discarded (connections, JIT, the copies' and
 * the emulator's first calls).
 */
import sharp from 'sharp';
import { chatRequest } from '../lambdas/adapters/sagemaker/chat-components.ts';
import type { DeployedSageMakerModel, Frame } from '../lambdas/domain/inference/ports.ts';
import { localInferenceModels } from '../lambdas/local/families/inference.ts';
import { localVisionLauncher } from '../lambdas/local/local-models.ts';
import { type LocalPlatform, startLocalPlatform } from '../lambdas/local/platform.ts';
import { errorRow, fmt, type Row, row } from './lib/rows.ts';
import { bootstrapMedianCi, median, pairedRatios } from './lib/stats.ts';

export interface B12Options {
  /** Measured rounds, after the discarded one. */
  rounds: number;
  log: (line: string) => void;
}

/** The aim: a multi-inference request takes at most 10 % longer than its slowest model. */
const MULTI_TARGET = 1.1;
const STREAM_MODEL = 'qwen2-vl-7b';
const MULTI_MODELS = ['qwen2-vl-7b', 'gemma-3-4b', 'claude4'] as const;
const PROMPT = 'What is in this image?';
/** Short answers: the rows are about the path to the model, not the tokens it writes. */
const MAX_TOKENS = 64;
const TEMPERATURE = 0.1;
const READY_WITHIN_MS = 120_000;

/** Each model's own route, as a client calling one model would use it. */
const ROUTE: Record<(typeof MULTI_MODELS)[number], string> = {
  'qwen2-vl-7b': '/api/emd/qwen2-vl-7b',
  'gemma-3-4b': '/api/emd/gemma-3-4b',
  claude4: '/api/claude4',
};

interface Sample {
  streamGateway: number;
  streamDirect: number;
  emdGateway: number;
  emdDirect: number;
  /** Measured on a platform of its own (`measureMulti`). */
  multi?: { total: number; singles: number[]; concurrent: number };
}

export async function benchInference(options: B12Options): Promise<Row[]> {
  const image = await smallPng();
  // Side by side; each is stopped once its rows are measured if it started, whether or not the
  // other did, and before the multi-inference rows start a platform of their own.
  const [platform, direct] = await Promise.allSettled([
    startLocalPlatform({ port: 0, inference: { bedrock: 'emulate', initialCopies: 1 } }),
    localVisionLauncher()({ endpointName: 'bench-direct' }),
  ]);
  let rows: Row[];
  try {
    if (platform.status === 'rejected') throw platform.reason;
    if (direct.status === 'rejected') throw direct.reason;
    const started = performance.now();
    await Promise.all([modelsReady(platform.value), pingReady(direct.value.url)]);
    options.log(
      `B12: the models were ready ${fmt(performance.now() - started)} ms after their processes started`,
    );
    rows = await measure(new Calls(platform.value, direct.value.url, image), image, options);
  } finally {
    if (platform.status === 'fulfilled') await platform.value.stop();
    if (direct.status === 'fulfilled') await direct.value.stop();
  }
  return [...rows, ...(await measureMulti(options))];
}

/** The local model's pace in the multi-inference rows: a VLM on its own GPU, 250 tokens a second. */
const PACED_MS_PER_TOKEN = 4;

/** The multi-inference rows, on a platform whose local model generates at a model's pace. */
async function measureMulti(options: B12Options): Promise<Row[]> {
  const label = 'multi-inference (qwen2-vl-7b, gemma-3-4b, claude4)';
  let platform: LocalPlatform | undefined;
  try {
    platform = await startLocalPlatform({
      port: 0,
      inference: {
        bedrock: 'emulate',
        initialCopies: 1,
        launcher: localVisionLauncher({ LOCAL_VISION_MS_PER_TOKEN: String(PACED_MS_PER_TOKEN) }),
      },
    });
    await modelsReady(platform);
    // Text only: an image's OCR and face detection run on the gateway's own two cores here, where
    // three models' analyses can only queue; on AWS each model has its own accelerator.
    const calls = new Calls(platform, 'http://127.0.0.1:9', undefined);
    const multi: NonNullable<Sample['multi']>[] = [];
    for (let round = 0; round <= options.rounds; round++) {
      const sample = await multiRound(calls, round % 2 === 0);
      // Round 0 warms the connections and the copies: discarded.
      if (round > 0) multi.push(sample);
      options.log(
        `B12: multi round ${round}/${options.rounds}${round === 0 ? ' (warm-up)' : ''}: ` +
          `${fmt(sample.total)} vs slowest ${fmt(Math.max(...sample.singles))} ms`,
      );
    }
    return multiRows(multi, `a text-only prompt, max_tokens ${MAX_TOKENS}`);
  } catch (error) {
    options.log(`B12: multi-inference failed: ${(error as Error).message}`);
    return [errorRow('B12', label, error)];
  } finally {
    await platform?.stop();
  }
}

async function measure(calls: Calls, image: SmallPng, options: B12Options): Promise<Row[]> {
  const samples: Sample[] = [];
  for (let round = 0; round <= options.rounds; round++) {
    const gatewayFirst = round % 2 === 0;
    const pair = async <T>(gateway: () => Promise<T>, direct: () => Promise<T>): Promise<[T, T]> => {
      if (gatewayFirst) {
        const g = await gateway();
        return [g, await direct()];
      }
      const d = await direct();
      return [await gateway(), d];
    };
    const [streamGateway, streamDirect] = await pair(
      () => calls.gatewayFirstToken(),
      () => calls.directFirstToken(),
    );
    const [emdGateway, emdDirect] = await pair(
      () => calls.gatewayComplete(),
      () => calls.directComplete(),
    );
    const sample: Sample = { streamGateway, streamDirect, emdGateway, emdDirect };
    // Round 0 warms connections, the copies and the Bedrock emulator: discarded.
    if (round > 0) samples.push(sample);
    options.log(
      `B12: round ${round}/${options.rounds}${round === 0 ? ' (warm-up)' : ''}: first token ` +
        `${fmt(streamGateway)} vs ${fmt(streamDirect)} ms, request ${fmt(emdGateway)} vs ${fmt(emdDirect)} ms`,
    );
  }
  const imageNote = `${image.width}×${image.height} PNG of ${image.bytes} B with text, max_tokens ${MAX_TOKENS}`;
  return [
    latencyRow(
      'streaming time to first token (/api/stream/qwen2-vl-7b vs /invocations, stream)',
      samples.map((s) => s.streamGateway),
      samples.map((s) => s.streamDirect),
      `first \`delta\` event vs first chunk with content; ${imageNote}`,
    ),
    latencyRow(
      'request latency (/api/emd/qwen2-vl-7b vs /invocations)',
      samples.map((s) => s.emdGateway),
      samples.map((s) => s.emdDirect),
      `whole answer; ${imageNote}`,
    ),
  ];
}

/** The three single calls one after the other, the fan-out, and the three singles at once. */
async function multiRound(calls: Calls, multiFirst: boolean): Promise<NonNullable<Sample['multi']>> {
  const singles = async () => {
    const times: number[] = [];
    for (const model of MULTI_MODELS) times.push(await calls.gatewaySingle(model));
    return times;
  };
  let total: number;
  let times: number[];
  if (multiFirst) {
    total = await calls.gatewayMulti();
    times = await singles();
  } else {
    times = await singles();
    total = await calls.gatewayMulti();
  }
  const concurrent = await timed(async () => {
    await Promise.all(MULTI_MODELS.map((model) => calls.gatewaySingle(model)));
  });
  return { total, singles: times, concurrent };
}

/** Gateway against direct: the median per-round ratio, and the milliseconds the gateway adds. */
function latencyRow(label: string, gateway: number[], direct: number[], note: string): Row {
  const ratios = pairedRatios(gateway, direct);
  const added = gateway.map((value, i) => value - (direct[i] as number));
  const addedCi = bootstrapMedianCi(added);
  return row({
    bench: 'B12',
    metric: `gateway: ${label}`,
    unit: 'ms',
    reference: median(direct),
    project: median(gateway),
    ratio: median(ratios),
    ratioCi: bootstrapMedianCi(ratios),
    note:
      `n=${gateway.length}; reference = the local model in its own process, called directly; ` +
      `the gateway adds ${fmt(median(added))} ms per round (95 % ${fmt(addedCi.low)}–${fmt(addedCi.high)}); ${note}`,
  });
}

function multiRows(multi: NonNullable<Sample['multi']>[], imageNote: string): Row[] {
  const slowest = multi.map((m) => Math.max(...m.singles));
  const sums = multi.map((m) => m.singles.reduce((sum, t) => sum + t, 0));
  const totals = multi.map((m) => m.total);
  const ratios = pairedRatios(totals, slowest);
  const ratio = median(ratios);
  const concurrentRatios = pairedRatios(
    totals,
    multi.map((m) => m.concurrent),
  );
  const perModel = MULTI_MODELS.map(
    (model, i) => `${model} ${fmt(median(multi.map((m) => m.singles[i] as number)))}`,
  );
  return [
    row({
      bench: 'B12',
      metric: 'multi-inference (qwen2-vl-7b, gemma-3-4b, claude4) vs the slowest single call',
      unit: 'ms',
      reference: median(slowest),
      project: median(totals),
      ratio,
      ratioCi: bootstrapMedianCi(ratios),
      target: { kind: 'max', value: MULTI_TARGET },
      note:
        `n=${multi.length}; singles through their own routes, one after the other, p50 ${perModel.join(', ')} ms ` +
        `(sum ${fmt(median(sums))} ms); target ≤ ${MULTI_TARGET} ${ratio <= MULTI_TARGET ? '✓' : '✗'}; ` +
        `the local model writes a token every ${PACED_MS_PER_TOKEN} ms here, as a model on its own GPU would; ` +
        `${imageNote}`,
    }),
    row({
      bench: 'B12',
      metric: 'multi-inference vs the same three single routes called at once by the client',
      unit: 'ms',
      reference: median(multi.map((m) => m.concurrent)),
      project: median(totals),
      ratio: median(concurrentRatios),
      ratioCi: bootstrapMedianCi(concurrentRatios),
      note: `n=${multi.length}; the fan-out against a client's own, on the same model process: the gateway's share of the multi row`,
    }),
  ];
}

/** The requests, each timed from the call to the moment it measures. */
class Calls {
  readonly #url: string;
  readonly #headers: Record<string, string>;
  readonly #direct: string;
  /** Absent: text-only requests (the multi-inference rows). */
  readonly #image: SmallPng | undefined;
  /** The model as the local gateway calls it: what its SageMaker adapter names in the body. */
  readonly #model: DeployedSageMakerModel;

  constructor(platform: LocalPlatform, directUrl: string, image: SmallPng | undefined) {
    this.#url = platform.url;
    this.#headers = { 'x-api-key': platform.devKey, 'content-type': 'application/json' };
    this.#direct = `${directUrl}/invocations`;
    this.#image = image;
    const model = localInferenceModels('emulate', 1).find((m) => m.key === STREAM_MODEL);
    if (model?.provider !== 'sagemaker' || !model.deployment) {
      throw new Error(`${STREAM_MODEL} is not a deployed EMD model`);
    }
    this.#model = { ...model, deployment: model.deployment };
  }

  #gatewayBody(extra: Record<string, unknown> = {}): string {
    return JSON.stringify({
      text: PROMPT,
      frames: this.#image === undefined ? [] : [this.#image.base64],
      max_tokens: MAX_TOKENS,
      temperature: TEMPERATURE,
      ...extra,
    });
  }

  /** What the gateway's SageMaker adapter sends to the endpoint for this request: its own builder. */
  #directBody(stream: boolean): string {
    const frames: Frame[] =
      this.#image === undefined
        ? []
        : [
            {
              kind: 'image',
              format: 'png',
              bytes: this.#image.png,
              width: this.#image.width,
              height: this.#image.height,
            },
          ];
    return chatRequest(
      this.#model,
      { text: PROMPT, frames, maxTokens: MAX_TOKENS, temperature: TEMPERATURE },
      stream,
    );
  }

  gatewayFirstToken(): Promise<number> {
    return firstToken(
      `${this.#url}/api/stream/${STREAM_MODEL}`,
      { method: 'POST', headers: this.#headers, body: this.#gatewayBody() },
      // An SSE event's name line; the first delta is the first token.
      (text) => text.includes('event: delta'),
    );
  }

  directFirstToken(): Promise<number> {
    return firstToken(
      this.#direct,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: this.#directBody(true) },
      // JSON lines; the first carries the role and no content.
      (text) => text.split('\n').some(hasContent),
    );
  }

  gatewayComplete(): Promise<number> {
    return this.#gatewayJson(`/api/emd/${STREAM_MODEL}`, this.#gatewayBody());
  }

  gatewaySingle(model: (typeof MULTI_MODELS)[number]): Promise<number> {
    return this.#gatewayJson(ROUTE[model], this.#gatewayBody());
  }

  gatewayMulti(): Promise<number> {
    return this.#gatewayJson('/api/multi-inference', this.#gatewayBody({ models: MULTI_MODELS }), (body) => {
      const failed = (
        (body as { results?: { model: string; status: number; error?: string }[] }).results ?? []
      )
        .filter((result) => result.status !== 200)
        .map((result) => `${result.model} ${result.status} (${result.error ?? 'no error given'})`);
      if (failed.length > 0) throw new Error(`multi-inference: ${failed.join('; ')}`);
    });
  }

  directComplete(): Promise<number> {
    return timedJson(this.#direct, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: this.#directBody(false),
    });
  }

  #gatewayJson(path: string, body: string, check?: (body: unknown) => void): Promise<number> {
    return timedJson(`${this.#url}${path}`, { method: 'POST', headers: this.#headers, body }, check);
  }
}

/** Milliseconds to the whole answer, which must be a 200. */
async function timedJson(url: string, init: RequestInit, check?: (body: unknown) => void): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, init);
  const text = await response.text();
  const elapsed = performance.now() - started;
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${text.slice(0, 300)}`);
  check?.(JSON.parse(text));
  return elapsed;
}

/** Milliseconds to the first read that `arrived` accepts; the rest of the stream is read, untimed. */
async function firstToken(
  url: string,
  init: RequestInit,
  arrived: (text: string) => boolean,
): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, init);
  if (response.status !== 200 || !response.body) {
    throw new Error(`${url} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
  }
  const decoder = new TextDecoder();
  let text = '';
  let first: number | undefined;
  for await (const chunk of response.body) {
    if (first !== undefined) continue;
    text += decoder.decode(chunk, { stream: true });
    if (arrived(text)) first = performance.now() - started;
  }
  if (first === undefined) throw new Error(`${url} streamed no token: ${text.slice(0, 300)}`);
  return first;
}

function hasContent(line: string): boolean {
  if (line.trim() === '') return false;
  try {
    const content = (JSON.parse(line) as { choices?: { delta?: { content?: unknown } }[] }).choices?.[0]
      ?.delta?.content;
    return typeof content === 'string' && content.length > 0;
  } catch {
    // The line is not complete yet.
    return false;
  }
}

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

interface SmallPng {
  png: Buffer;
  base64: string;
  width: number;
  height: number;
  bytes: number;
}

/** A small image with a line of text, so that the model's OCR has something to read. */
async function smallPng(): Promise<SmallPng> {
  const width = 160;
  const height = 48;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    '<rect width="100%" height="100%" fill="white"/>' +
    '<text x="8" y="34" font-family="DejaVu Sans" font-size="26" fill="black">SF 2026</text></svg>';
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  return { png, base64: png.toString('base64'), width, height, bytes: png.length };
}

/** Until the gateway reports the EMD models of the benchmark ready (the copies warm in the background). */
async function modelsReady(platform: LocalPlatform): Promise<void> {
  const wanted = new Set<string>(MULTI_MODELS.filter((model) => model !== 'claude4'));
  const started = performance.now();
  let last = '';
  while (performance.now() - started < READY_WITHIN_MS) {
    const response = await fetch(`${platform.url}/api/emd/status`, {
      headers: { 'x-api-key': platform.devKey },
    });
    const status = (await response.json()) as { models?: { model_key: string; state: string }[] };
    const states = (status.models ?? []).filter((model) => wanted.has(model.model_key));
    last = states.map((model) => `${model.model_key} ${model.state}`).join(', ');
    if (states.length === wanted.size && states.every((model) => model.state === 'ready')) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the EMD models were not ready within ${READY_WITHIN_MS} ms: ${last}`);
}

/** Until the directly called model has loaded its models (`/ping` 200). */
async function pingReady(url: string): Promise<void> {
  const started = performance.now();
  while (performance.now() - started < READY_WITHIN_MS) {
    const response = await fetch(`${url}/ping`).catch(() => undefined);
    await response?.arrayBuffer();
    if (response?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the local model at ${url} did not answer /ping within ${READY_WITHIN_MS} ms`);
}
