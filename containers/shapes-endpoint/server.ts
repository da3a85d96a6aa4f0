/**
 * The `shapes` generator as a SageMaker inference container: a Node HTTP server that answers
 * `GET /ping` and `POST /invocations` the way SageMaker requires (port 8080, started with the
 * argument `serve`), speaking the request and response format of the Hugging Face inference
 * container (sagemaker-huggingface-inference-toolkit) running a diffusers text-to-image pipeline,
 * so that one client drives either container.
 *
 * Request (`Content-Type: application/json`), as the toolkit's handler reads it — `inputs` is the
 * pipeline's prompt and `parameters` its keyword arguments:
 *   {"inputs": "three pastel stars", "parameters": {"negative_prompt": "blurry", "width": 512,
 *    "height": 512, "num_inference_steps": 30, "guidance_scale": 7.5, "seed": 42}}
 *
 * Response, chosen by `Accept` as the toolkit's encoder does (decoder_encoder.py):
 * - `image/png` (or `image/x-image`, `image/*`): the PNG bytes.
 * - absent, `*` + `/*` or `application/json`: the PNG as a base64 JSON string (`"iVBORw0..."`), which
 *   is what the toolkit's JSON encoder makes of a PIL image.
 * - any other type: 400 (this container encodes PNG only; the toolkit also writes JPEG, TIFF, ...).
 * The seed used (given or drawn) is returned in the `X-Seed` header, so a request without one can
 * be repeated exactly.
 *
 * Errors have the shape of the Multi Model Server the toolkit runs in, which reports every
 * exception of the handler as a 400 PredictionException:
 *   {"code": 400, "type": "InternalServerException", "message": "..."}
 *
 * The image is one frame of the procedural `shapes` generator (lambdas/domain/generators/shapes),
 * width x height, drawn from the seed; the prompt's words choose its parameters (see
 * `shapesParamsForPrompt`). `num_inference_steps` only adds simulated time (`msPerStep`), so that a
 * long request takes longer, as it would on a GPU.
 */
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { ParamValues } from '../../contracts/generators.ts';
import { encodePng } from '../../lambdas/domain/archive/png.ts';
import { applyDefaults, validateParams } from '../../lambdas/domain/generators/params.ts';
import {
  CLASS_CHOICES,
  type ClassChoice,
  MAX_SEED,
  type Palette,
  readShapesParams,
} from '../../lambdas/domain/generators/shapes/parameters.ts';
import { renderFrame, shapesGenerator } from '../../lambdas/domain/generators/shapes/shapes-generator.ts';
import {
  listenUntilStopped,
  methodNotAllowed,
  parseServeCommand,
  type Refuse,
  readJsonBody,
  sendJson,
} from '../shared/http.ts';

export { DEFAULT_PORT } from '../shared/http.ts';
/** Diffusers' own defaults for Stable Diffusion 1.5, so that a request without them looks the same. */
export const DEFAULT_SIZE = 512;
export const DEFAULT_STEPS = 50;
export const DEFAULT_GUIDANCE_SCALE = 7.5;
/** The renderer's own limits on a frame side (`image_width` / `image_height`). */
export const MIN_SIZE = 64;
export const MAX_SIZE = 2048;
/** Diffusers needs sides divisible by 8 (the VAE's scale factor) and says so with an error. */
export const SIZE_MULTIPLE = 8;
export const MAX_STEPS = 1000;
/**
 * Seeds are unsigned 32-bit, as callers of diffusers commonly draw them; the renderer mixes all 32
 * bits (deriveSeed), so every seed gives its own scene, and seeds up to the `shapes` generator's
 * own MAX_SEED give exactly its frame 0.
 */
export const MAX_ENDPOINT_SEED = 2 ** 32 - 1;
export const MAX_PROMPT_CHARS = 10_000;
/** Far above any JSON request this container takes; the toolkit's server stops at 6 MB. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

export interface ShapesEndpointOptions {
  /**
   * Simulated time per inference step, in milliseconds (default 0): the request waits
   * `num_inference_steps * msPerStep` before answering, without blocking other requests.
   */
  msPerStep?: number;
}

/** The request as the text-to-image handler reads it, after validation and defaults. */
export interface TextToImageRequest {
  prompt: string;
  negativePrompt: string;
  width: number;
  height: number;
  steps: number;
  guidanceScale: number;
  /** Absent: the server draws one. */
  seed: number | undefined;
}

/** A request the handler rejects: answered with `status` in the model server's error shape. */
export class InvocationError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'InvocationError';
  }
}

/**
 * The server, not yet listening. Rendering is synchronous CPU work (tens of milliseconds for a
 * 512x512 frame), so one container works on one frame at a time however many requests it holds.
 */
export function createShapesEndpointServer(options: ShapesEndpointOptions = {}): Server {
  const msPerStep = options.msPerStep ?? 0;
  return createServer((request, response) => {
    handle(request, response, msPerStep).catch((error: unknown) => {
      const status = error instanceof InvocationError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (!response.headersSent) sendError(response, status, message);
      else response.destroy();
    });
  });
}

async function handle(request: IncomingMessage, response: ServerResponse, msPerStep: number): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  if (path === '/ping') {
    if (request.method !== 'GET' && request.method !== 'HEAD') throw methodNotAllowed(request.method, refuse);
    sendJson(response, 200, { status: 'Healthy' });
    return;
  }
  if (path === '/invocations') {
    if (request.method !== 'POST') throw methodNotAllowed(request.method, refuse);
    await invoke(request, response, msPerStep);
    return;
  }
  sendError(response, 404, 'Requested resource is not found, please refer to API document.');
}

async function invoke(request: IncomingMessage, response: ServerResponse, msPerStep: number): Promise<void> {
  const encoding = responseEncoding(request.headers.accept);
  const contentType = mediaType(request.headers['content-type']);
  if (contentType !== 'application/json') {
    throw new InvocationError(
      `Content type ${request.headers['content-type'] ?? '(none)'} is not supported: send application/json`,
    );
  }
  const parsed = parseTextToImageRequest(await readJsonBody(request, MAX_REQUEST_BYTES, refuse));
  const seed = parsed.seed ?? randomInt(0, MAX_ENDPOINT_SEED + 1);
  if (msPerStep > 0) await sleep(parsed.steps * msPerStep);

  const png = renderPng({ ...parsed, seed });
  const headers = { 'X-Seed': String(seed) };
  if (encoding === 'png') {
    response.writeHead(200, { ...headers, 'Content-Type': 'image/png', 'Content-Length': png.length });
    response.end(png);
    return;
  }
  const json = JSON.stringify(Buffer.from(png).toString('base64'));
  response.writeHead(200, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(json),
  });
  response.end(json);
}

/** The frame for a request with its seed decided: a PNG of exactly width x height. */
export function renderPng(request: TextToImageRequest & { seed: number }): Uint8Array {
  const values = shapesParamsForPrompt(request);
  // The generator's schema stops at MAX_SEED; the renderer itself takes any unsigned 32-bit seed.
  const violations = validateParams(shapesGenerator, { ...values, seed: Math.min(request.seed, MAX_SEED) });
  if (violations) throw new Error(`derived invalid shapes parameters: ${violations[0]?.message}`);
  const params = readShapesParams(applyDefaults(shapesGenerator, values));
  const scene = renderFrame(params, 0, false);
  return encodePng(scene.width, scene.height, scene.rgb);
}

/**
 * Checks a decoded JSON request the way the text-to-image handler would fail on it, with a
 * message that names the field. `num_images_per_prompt` is accepted and ignored, as the toolkit's
 * diffusers pipeline does (it always returns one image); any other unknown parameter is an error.
 */
export function parseTextToImageRequest(body: unknown): TextToImageRequest {
  if (!isRecord(body)) throw new InvocationError('the request must be a JSON object with "inputs"');
  const { inputs, parameters = {} } = body;
  if (inputs === undefined) throw new InvocationError('"inputs" (the prompt) is required');
  if (typeof inputs !== 'string' || inputs.trim() === '') {
    throw new InvocationError('"inputs" must be a non-empty string: the prompt');
  }
  if (inputs.length > MAX_PROMPT_CHARS) {
    throw new InvocationError(`"inputs" must be at most ${MAX_PROMPT_CHARS} characters`);
  }
  for (const key of Object.keys(body)) {
    if (key !== 'inputs' && key !== 'parameters') throw new InvocationError(`unknown field "${key}"`);
  }
  if (!isRecord(parameters)) throw new InvocationError('"parameters" must be a JSON object');
  for (const key of Object.keys(parameters)) {
    if (!KNOWN_PARAMETERS.has(key)) {
      throw new InvocationError(
        `unknown parameter "${key}"; known: ${[...KNOWN_PARAMETERS].filter((name) => name !== 'num_images_per_prompt').join(', ')}`,
      );
    }
  }
  const negativePrompt = parameters.negative_prompt ?? '';
  if (typeof negativePrompt !== 'string') throw new InvocationError('"negative_prompt" must be a string');
  const width = sizeParameter(parameters, 'width');
  const height = sizeParameter(parameters, 'height');
  const steps = integerParameter(parameters, 'num_inference_steps', 1, MAX_STEPS) ?? DEFAULT_STEPS;
  const guidanceScale = numberParameter(parameters, 'guidance_scale', 0, 100) ?? DEFAULT_GUIDANCE_SCALE;
  const seed = integerParameter(parameters, 'seed', 0, MAX_ENDPOINT_SEED);
  return { prompt: inputs, negativePrompt, width, height, steps, guidanceScale, seed };
}

const KNOWN_PARAMETERS = new Set([
  'negative_prompt',
  'width',
  'height',
  'num_inference_steps',
  'guidance_scale',
  'seed',
  'num_images_per_prompt',
]);

function sizeParameter(parameters: Record<string, unknown>, name: 'width' | 'height'): number {
  const value = integerParameter(parameters, name, MIN_SIZE, MAX_SIZE) ?? DEFAULT_SIZE;
  if (value % SIZE_MULTIPLE !== 0) {
    throw new InvocationError(`"${name}" must be divisible by ${SIZE_MULTIPLE}, got ${value}`);
  }
  return value;
}

function integerParameter(parameters: Record<string, unknown>, name: string, min: number, max: number) {
  return numericParameter(parameters, name, min, max, true);
}

function numberParameter(parameters: Record<string, unknown>, name: string, min: number, max: number) {
  return numericParameter(parameters, name, min, max, false);
}

/** A bounded number (a whole one when `integer`), or undefined when absent; else a 400. */
function numericParameter(
  parameters: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  integer: boolean,
): number | undefined {
  const value = parameters[name];
  if (value === undefined || value === null) return undefined;
  const valid = typeof value === 'number' && (integer ? Number.isInteger(value) : Number.isFinite(value));
  if (!valid) {
    throw new InvocationError(
      `"${name}" must be ${integer ? 'an integer' : 'a number'}, got ${JSON.stringify(value)}`,
    );
  }
  if (value < min || value > max) {
    throw new InvocationError(`"${name}" must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/**
 * The `shapes` parameters a prompt asks for. Words are matched case-insensitively, singular or
 * plural; anything else in the prompt is ignored, and what no word sets keeps the generator's
 * default. The mapping:
 *
 * | words                                                    | parameter                               |
 * | -------------------------------------------------------- | --------------------------------------- |
 * | circle, round, disc, dot / rectangle, square, box, block | classes = circle / rectangle            |
 * | triangle / polygon, pentagon, hexagon, octagon / star    | classes = triangle / polygon / star     |
 * |   (two or more different classes named)                  | classes = all                           |
 * | vivid, bright, colorful / pastel, soft / muted, dull     | palette = vivid / pastel / muted        |
 * | dark, night / grayscale, gray, monochrome / full, rainbow| palette = dark / grayscale / full       |
 * |   (the first palette word wins)                          |                                         |
 * | gradient / texture, textured, striped, checkerboard      | background = gradient / texture         |
 * | solid, plain                                             | background = solid                      |
 * | a number 1–50 (digits or one … twenty)                   | min_objects = max_objects = that number |
 * | single, lone / few / many, crowded, lots                 | objects 1 / 2–4 / 20–40                 |
 * | tiny, small / big, large, huge                           | sizes 0.04–0.12 / 0.35–0.6              |
 * | upright, aligned, straight                               | max_rotation_deg = 0                    |
 * | separate, apart, scattered, spaced                       | allow_occlusion = false                 |
 * | blurry, blurred, soft-focus / noisy, grainy              | blur = 2 / noise = 0.08                 |
 * | dim, shadowy / glowing, radiant                          | lighting = 0.7 / 1.3                    |
 *
 * A word that also appears in `negative_prompt` is ignored, and a negative prompt naming blur or
 * noise (blurry, grainy, ...) keeps that effect off. `guidance_scale` <= 1 turns guidance off as in
 * diffusers: the prompt is not followed at all and the scene uses the defaults. The seed becomes
 * the generator's `seed`; width and height become `image_width` and `image_height`.
 */
export function shapesParamsForPrompt(
  request: Pick<TextToImageRequest, 'prompt' | 'negativePrompt' | 'guidanceScale' | 'width' | 'height'> & {
    seed: number;
  },
): ParamValues {
  const values: ParamValues = {
    image_width: request.width,
    image_height: request.height,
    frames: 1,
    seed: request.seed,
  };
  if (request.guidanceScale <= 1) return values;

  const negative = new Set(words(request.negativePrompt));
  const positive = words(request.prompt).filter((word) => !negative.has(word));

  const classes = new Set(positive.flatMap((word) => CLASS_WORDS[word] ?? []));
  if (classes.size === 1) values.classes = [...classes][0] as ClassChoice;
  else if (classes.size > 1) values.classes = 'all';

  const palette = positive.map((word) => PALETTE_WORDS[word]).find((found) => found !== undefined);
  if (palette) values.palette = palette;

  const background = positive.map((word) => BACKGROUND_WORDS[word]).find((found) => found !== undefined);
  if (background) values.background = background;

  const count = positive.map(countOf).find((found) => found !== undefined);
  const range = positive.map((word) => COUNT_WORDS[word]).find((found) => found !== undefined);
  if (count !== undefined) Object.assign(values, { min_objects: count, max_objects: count });
  else if (range) Object.assign(values, { min_objects: range[0], max_objects: range[1] });

  const size = positive.map((word) => SIZE_WORDS[word]).find((found) => found !== undefined);
  if (size) Object.assign(values, { min_size: size[0], max_size: size[1] });

  for (const word of positive) {
    const effect = EFFECT_WORDS[word];
    if (effect) Object.assign(values, effect);
  }
  for (const word of negative) {
    if (EFFECT_WORDS[word]?.blur !== undefined) values.blur = 0;
    if (EFFECT_WORDS[word]?.noise !== undefined) values.noise = 0;
  }
  return values;
}

/** Lower-case words, with a plural reduced to the singular this table knows. */
function words(text: string): string[] {
  return (text.toLowerCase().match(/[a-z]+(?:-[a-z]+)*|\d+/g) ?? []).map(singular);
}

function singular(word: string): string {
  if (KNOWN_WORDS.has(word)) return word;
  for (const suffix of ['es', 's']) {
    const stem = word.endsWith(suffix) ? word.slice(0, -suffix.length) : '';
    if (stem && KNOWN_WORDS.has(stem)) return stem;
  }
  return word;
}

const SHAPE_CLASS_NAMES = CLASS_CHOICES.filter((choice) => choice !== 'all');

const CLASS_WORDS: Readonly<Record<string, ClassChoice>> = {
  ...Object.fromEntries(SHAPE_CLASS_NAMES.map((name) => [name, name])),
  round: 'circle',
  disc: 'circle',
  dot: 'circle',
  square: 'rectangle',
  box: 'rectangle',
  block: 'rectangle',
  pentagon: 'polygon',
  hexagon: 'polygon',
  octagon: 'polygon',
};

const PALETTE_WORDS: Readonly<Record<string, Palette>> = {
  vivid: 'vivid',
  bright: 'vivid',
  colorful: 'vivid',
  colourful: 'vivid',
  pastel: 'pastel',
  soft: 'pastel',
  muted: 'muted',
  dull: 'muted',
  dark: 'dark',
  night: 'dark',
  grayscale: 'grayscale',
  greyscale: 'grayscale',
  gray: 'grayscale',
  grey: 'grayscale',
  monochrome: 'grayscale',
  full: 'full',
  rainbow: 'full',
};

const BACKGROUND_WORDS: Readonly<Record<string, string>> = {
  gradient: 'gradient',
  texture: 'texture',
  textured: 'texture',
  striped: 'texture',
  stripe: 'texture',
  checkerboard: 'texture',
  solid: 'solid',
  plain: 'solid',
};

const COUNT_WORDS: Readonly<Record<string, readonly [number, number]>> = {
  single: [1, 1],
  lone: [1, 1],
  few: [2, 4],
  many: [20, 40],
  crowded: [20, 40],
  lot: [20, 40],
};

const NUMBER_WORDS = [
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
  'twenty',
];
/** The generator's own limit on objects per frame. */
const MAX_OBJECTS = 50;

function countOf(word: string): number | undefined {
  const value = /^\d+$/.test(word) ? Number(word) : NUMBER_WORDS.indexOf(word) + 1;
  return value >= 1 && value <= MAX_OBJECTS ? value : undefined;
}

const SIZE_WORDS: Readonly<Record<string, readonly [number, number]>> = {
  tiny: [0.04, 0.12],
  small: [0.04, 0.12],
  big: [0.35, 0.6],
  large: [0.35, 0.6],
  huge: [0.35, 0.6],
};

const EFFECT_WORDS: Readonly<Record<string, ParamValues>> = {
  upright: { max_rotation_deg: 0 },
  aligned: { max_rotation_deg: 0 },
  straight: { max_rotation_deg: 0 },
  separate: { allow_occlusion: false },
  apart: { allow_occlusion: false },
  scattered: { allow_occlusion: false },
  spaced: { allow_occlusion: false },
  blurry: { blur: 2 },
  blurred: { blur: 2 },
  'soft-focus': { blur: 2 },
  noisy: { noise: 0.08 },
  grainy: { noise: 0.08 },
  dim: { lighting: 0.7 },
  shadowy: { lighting: 0.7 },
  glowing: { lighting: 1.3 },
  radiant: { lighting: 1.3 },
};

const KNOWN_WORDS = new Set([
  ...Object.keys(CLASS_WORDS),
  ...Object.keys(PALETTE_WORDS),
  ...Object.keys(BACKGROUND_WORDS),
  ...Object.keys(COUNT_WORDS),
  ...Object.keys(SIZE_WORDS),
  ...Object.keys(EFFECT_WORDS),
]);

/** `png` or `json` from an Accept header: the first media type this container can write. */
function responseEncoding(accept: string | undefined): 'png' | 'json' {
  if (accept === undefined || accept.trim() === '') return 'json';
  for (const part of accept.split(',')) {
    const type = mediaType(part);
    if (type === 'image/png' || type === 'image/x-image' || type === 'image/*') return 'png';
    if (type === 'application/json' || type === '*/*') return 'json';
  }
  throw new InvocationError(
    `Accept type ${accept} is not supported: this container answers image/png or application/json (a base64 PNG)`,
  );
}

function mediaType(header: string | undefined): string | undefined {
  return header?.split(';')[0]?.trim().toLowerCase() || undefined;
}

const refuse: Refuse = (message, status) => new InvocationError(message, status);

const ERROR_TYPES: Readonly<Record<number, string>> = {
  404: 'ResourceNotFoundException',
  405: 'MethodNotAllowedException',
};

/** The Multi Model Server's error body, indented as it writes it. */
function sendError(response: ServerResponse, status: number, message: string): void {
  const body = { code: status, type: ERROR_TYPES[status] ?? 'InternalServerException', message };
  const text = `${JSON.stringify(body, null, 2)}\n`;
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  response.end(text);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface ServeOptions {
  port: number;
  host: string;
  msPerStep: number;
}

/**
 * `serve [--port N] [--host H] [--ms-per-step N]`. The port defaults to SAGEMAKER_BIND_TO_PORT,
 * then 8080; `--port 0` takes a free one. The host defaults to 0.0.0.0 (all interfaces, as a
 * container must listen); the ms-per-step to SHAPES_MS_PER_STEP, then 0.
 */
export function parseServeArguments(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ServeOptions {
  let msPerStep = Number(env.SHAPES_MS_PER_STEP ?? 0);
  const listen = parseServeCommand(
    argv,
    env,
    'usage: server.mjs serve [--port N] [--host H] [--ms-per-step N]',
    {
      '--ms-per-step': (value) => {
        msPerStep = Number(value);
      },
    },
  );
  if (!Number.isFinite(msPerStep) || msPerStep < 0) {
    throw new Error(`--ms-per-step must be a number >= 0, got ${msPerStep}`);
  }
  return { ...listen, msPerStep };
}

/**
 * Starts the server as a container does and prints `shapes-endpoint listening on http://HOST:PORT`
 * once it accepts requests (the local endpoint host reads the port from that line). SIGTERM, which
 * SageMaker sends before stopping an instance, closes it; so does the end of the local host that
 * started it (exitWithParent).
 */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<Server> {
  const options = parseServeArguments(argv, process.env);
  const server = createShapesEndpointServer({ msPerStep: options.msPerStep });
  await listenUntilStopped(server, options, 'shapes-endpoint');
  return server;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  });
}
