/**
 * synthforge/local-vision as a SageMaker inference container: a Node HTTP server that answers
 * `GET /ping` and `POST /invocations` on port 8080 when started with the argument `serve`, speaking
 * the OpenAI chat-completions protocol of the LMI (vLLM) container that serves the hosted VLMs
 * (Qwen2-VL and the others of seed 003), so that the inference gateway drives either.
 *
 * It is a real model, not a canned answer: it reads each image's size and format, measures its
 * brightness and colours, finds faces (face-api) and reads text (Tesseract), and answers with a
 * fixed-form description that names the model it stands in for (answer.ts). No VLM weights can be
 * had offline; these models ship inside npm packages
 * (lambdas/adapters/vision/bundled-models.ts).
 *
 * - `GET /ping`: 200 `{"status":"Healthy"}` once both models are loaded; 503 while they load (they
 *   start loading when the server is created); 500 if they failed to load.
 * - `POST /invocations` (`Content-Type: application/json`): a chat-completions request (chat.ts).
 *   Without `stream` the answer is one `chat.completion`; with `"stream": true` it is
 *   `application/jsonlines`, one `chat.completion.chunk` per line, written token by token as each is
 *   produced, as the LMI container writes vLLM's stream: a first chunk with the role, one per token,
 *   and a last one with `finish_reason` and `usage`.
 * - Errors: OpenAI's body, `{"error": {"message", "type", "param", "code"}}`, with 400 for a request
 *   it refuses (no messages, an image that is not PNG/JPEG/GIF/WebP, ...).
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import {
  closeVisionModels,
  FACE_DETECTORS,
  type FaceDetectorKind,
  loadVisionModels,
} from '../../lambdas/adapters/vision/bundled-models.ts';
import {
  listenUntilStopped,
  methodNotAllowed,
  parseServeCommand,
  type Refuse,
  readJsonBody,
  sendJson,
} from '../shared/http.ts';
import { analyzeImage, type ImageAnalysis, ImageError } from './analyze.ts';
import {
  countTokens,
  describeImages,
  IMAGE_PROMPT_TOKENS,
  limitTokens,
  MODEL_NAME,
  tokenize,
} from './answer.ts';
import {
  type ChatCompletion,
  type ChatCompletionChunk,
  type ChatRequest,
  type ErrorBody,
  type FinishReason,
  parseChatRequest,
  RequestError,
  type Usage,
} from './chat.ts';

export { DEFAULT_PORT } from '../shared/http.ts';
/** This file, for a launcher; import it from entry.ts to learn the path without loading the models' packages. */
export { LOCAL_VISION_SERVER } from './entry.ts';

/**
 * Far above what reaches a container: SageMaker stops a real-time request at 6 MB before it does;
 * the local Bedrock emulator may forward several images of up to 3.75 MB.
 */
export const MAX_REQUEST_BYTES = 32 * 1024 * 1024;
/** The model named when neither the request nor SYNTHFORGE_STANDS_IN_FOR names one. */
export const STANDS_IN_FOR_VARIABLE = 'SYNTHFORGE_STANDS_IN_FOR';

export interface LocalVisionOptions {
  /** Default `tiny`. */
  faceDetector?: FaceDetectorKind;
  /** The model the answers stand in for when the request names none (or names this one). */
  standsInFor?: string;
  /** Simulated time per answer token, in milliseconds (default 0), so that long answers take longer. */
  msPerToken?: number;
  /** Where the models' load times and each image's timings are reported; default: nowhere. */
  log?: (line: string) => void;
}

type ModelState = { state: 'loading' } | { state: 'ready' } | { state: 'failed'; message: string };

/**
 * The server, not yet listening; it starts loading the models at once, and `/ping` says when they
 * are ready. The models are the process's (bundled-models.ts): every server of a process shares them.
 */
export function createLocalVisionServer(options: LocalVisionOptions = {}): Server {
  const faceDetector = options.faceDetector ?? 'tiny';
  let models: ModelState = { state: 'loading' };
  loadVisionModels(faceDetector).then(
    (timings) => {
      models = { state: 'ready' };
      options.log?.(`local-vision models loaded: faces ${timings.facesMs} ms, OCR ${timings.ocrMs} ms`);
    },
    (error: unknown) => {
      models = { state: 'failed', message: error instanceof Error ? error.message : String(error) };
      options.log?.(`local-vision models failed to load: ${models.message}`);
    },
  );
  const settings: Settings = {
    faceDetector,
    standsInFor: options.standsInFor,
    msPerToken: options.msPerToken ?? 0,
    log: options.log ?? (() => undefined),
  };
  return createServer((request, response) => {
    handle(request, response, () => models, settings).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof RequestError) sendError(response, error.status, error.message, error.param);
      else sendError(response, 500, error instanceof Error ? error.message : String(error), null);
    });
  });
}

interface Settings {
  faceDetector: FaceDetectorKind;
  standsInFor: string | undefined;
  msPerToken: number;
  log: (line: string) => void;
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  models: () => ModelState,
  settings: Settings,
): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  if (path === '/ping') {
    if (request.method !== 'GET' && request.method !== 'HEAD') throw methodNotAllowed(request.method, refuse);
    const state = models();
    if (state.state === 'ready') sendJson(response, 200, { status: 'Healthy' });
    else if (state.state === 'loading') sendJson(response, 503, { status: 'Loading' });
    else sendJson(response, 500, { status: 'Failed', message: state.message });
    return;
  }
  if (path === '/invocations') {
    if (request.method !== 'POST') throw methodNotAllowed(request.method, refuse);
    await invoke(request, response, settings);
    return;
  }
  throw new RequestError(`${request.method} ${path} is not a route of this container`, null, 404);
}

async function invoke(request: IncomingMessage, response: ServerResponse, settings: Settings): Promise<void> {
  const contentType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (contentType !== 'application/json') {
    throw new RequestError(
      `Content-Type ${request.headers['content-type'] ?? '(none)'} is not supported: send application/json`,
    );
  }
  const chat = parseChatRequest(await readJsonBody(request, MAX_REQUEST_BYTES, refuse));
  const analyses: ImageAnalysis[] = [];
  // One image at a time: each already runs its two models side by side, and one process holds one
  // OCR worker.
  for (const [i, bytes] of chat.images.entries()) {
    const analysis = await analyzeImage(bytes, { faceDetector: settings.faceDetector }).catch(
      (error: unknown) => {
        if (error instanceof ImageError)
          throw new RequestError(`image ${i + 1} ${error.message}`, 'messages');
        throw error;
      },
    );
    const { decodeMs, facesMs, ocrMs } = analysis.timings;
    settings.log(
      `image ${i + 1} of ${chat.images.length}: ${analysis.width}×${analysis.height} ${analysis.format}, ` +
        `decode ${decodeMs} ms, faces ${facesMs} ms, OCR ${ocrMs} ms`,
    );
    analyses.push(analysis);
  }
  const answer = describeImages(analyses, {
    standsInFor: standsInFor(chat, settings),
    ...(chat.temperature === undefined ? {} : { temperature: chat.temperature }),
  });
  const { tokens, finishReason } = limitTokens(tokenize(answer), chat.maxTokens);
  const promptTokens =
    chat.texts.reduce((sum, text) => sum + countTokens(text), 0) + IMAGE_PROMPT_TOKENS * chat.images.length;
  const usage: Usage = {
    prompt_tokens: promptTokens,
    completion_tokens: tokens.length,
    total_tokens: promptTokens + tokens.length,
  };
  const head = { id: `chatcmpl-${randomUUID().replaceAll('-', '')}`, created: Math.floor(Date.now() / 1000) };
  if (chat.stream) {
    await stream(response, tokens, finishReason, usage, head, settings.msPerToken);
    return;
  }
  if (settings.msPerToken > 0) await sleep(tokens.length * settings.msPerToken);
  const completion: ChatCompletion = {
    ...head,
    object: 'chat.completion',
    model: MODEL_NAME,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: tokens.join('') },
        finish_reason: finishReason,
        logprobs: null,
      },
    ],
    usage,
  };
  sendJson(response, 200, completion);
}

/** The request's model, unless it names this one; then the server's; else none. */
function standsInFor(chat: ChatRequest, settings: Settings): string | undefined {
  if (chat.model !== undefined && chat.model !== MODEL_NAME) return chat.model;
  return settings.standsInFor;
}

/**
 * Writes the answer as `application/jsonlines`, one chunk per token, each written as soon as it is
 * ready: the loop yields to the event loop between chunks (so that each leaves in its own write),
 * waits when the socket is full, and stops when the client goes away.
 */
async function stream(
  response: ServerResponse,
  tokens: readonly string[],
  finishReason: FinishReason,
  usage: Usage,
  head: { id: string; created: number },
  msPerToken: number,
): Promise<void> {
  response.writeHead(200, { 'Content-Type': 'application/jsonlines', 'Cache-Control': 'no-cache' });
  const chunk = (delta: ChatCompletionChunk['choices'][0]['delta'], finish: FinishReason | null) => {
    const line: ChatCompletionChunk = {
      ...head,
      object: 'chat.completion.chunk',
      model: MODEL_NAME,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      ...(finish === null ? {} : { usage }),
    };
    return `${JSON.stringify(line)}\n`;
  };
  const write = async (line: string): Promise<boolean> => {
    if (response.destroyed || response.writableEnded) return false;
    if (!response.write(line)) await Promise.race([once(response, 'drain'), once(response, 'close')]);
    await yieldToLoop();
    return !response.destroyed;
  };
  if (!(await write(chunk({ role: 'assistant', content: '' }, null)))) return;
  for (const token of tokens) {
    if (msPerToken > 0) await sleep(msPerToken);
    if (!(await write(chunk({ content: token }, null)))) return;
  }
  if (!response.destroyed) response.end(chunk({}, finishReason));
}

/** A request refused by the HTTP helpers: a RequestError that names no field. */
const refuse: Refuse = (message, status) => new RequestError(message, null, status);

/** OpenAI's error types by status. */
const ERROR_TYPES: Readonly<Record<number, string>> = {
  404: 'not_found_error',
  500: 'server_error',
};

function sendError(response: ServerResponse, status: number, message: string, param: string | null): void {
  const body: ErrorBody = {
    error: { message, type: ERROR_TYPES[status] ?? 'invalid_request_error', param, code: status },
  };
  sendJson(response, status, body);
}

export interface ServeOptions {
  port: number;
  host: string;
  faceDetector: FaceDetectorKind;
  msPerToken: number;
  standsInFor: string | undefined;
}

/**
 * `serve [--port N] [--host H] [--face-detector tiny|ssd] [--ms-per-token N]`. The port defaults to
 * SAGEMAKER_BIND_TO_PORT, then 8080; `--port 0` takes a free one. The host defaults to 0.0.0.0 (all
 * interfaces, as a container must listen); the detector to LOCAL_VISION_FACE_DETECTOR, then `tiny`;
 * the ms-per-token to LOCAL_VISION_MS_PER_TOKEN, then 0. The model stood in for, when a request names
 * none, is SYNTHFORGE_STANDS_IN_FOR.
 */
export function parseServeArguments(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ServeOptions {
  const options: Omit<ServeOptions, 'port' | 'host'> = {
    faceDetector: (env.LOCAL_VISION_FACE_DETECTOR ?? 'tiny') as FaceDetectorKind,
    msPerToken: Number(env.LOCAL_VISION_MS_PER_TOKEN ?? 0),
    standsInFor: env[STANDS_IN_FOR_VARIABLE] || undefined,
  };
  const listen = parseServeCommand(
    argv,
    env,
    'usage: server.ts serve [--port N] [--host H] [--face-detector tiny|ssd] [--ms-per-token N]',
    {
      '--face-detector': (value) => {
        options.faceDetector = value as FaceDetectorKind;
      },
      '--ms-per-token': (value) => {
        options.msPerToken = Number(value);
      },
    },
  );
  if (!FACE_DETECTORS.includes(options.faceDetector)) {
    throw new Error(
      `--face-detector must be one of ${FACE_DETECTORS.join(', ')}, got ${options.faceDetector}`,
    );
  }
  if (!Number.isFinite(options.msPerToken) || options.msPerToken < 0) {
    throw new Error(`--ms-per-token must be a number >= 0, got ${options.msPerToken}`);
  }
  return { ...listen, ...options };
}

/**
 * Starts the server as a container does and prints `local-vision listening on http://HOST:PORT` once
 * it accepts requests (the local endpoint host reads the port from that line; `/ping` then says when
 * the models are loaded). SIGTERM, which SageMaker sends before stopping an instance, closes it; so
 * does the end of the local host that started it (exitWithParent).
 */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<Server> {
  const options = parseServeArguments(argv, process.env);
  const server = createLocalVisionServer({
    faceDetector: options.faceDetector,
    msPerToken: options.msPerToken,
    ...(options.standsInFor === undefined ? {} : { standsInFor: options.standsInFor }),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  await listenUntilStopped(server, options, 'local-vision', () => {
    // The OCR worker thread would keep the process alive; it ends first.
    closeVisionModels().finally(() => process.exit(0));
  });
  return server;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  });
}
