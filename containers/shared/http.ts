/**
 * What the local platform's Node inference containers (local-vision, shapes-endpoint) share as
 * SageMaker servers: reading a JSON request, writing a JSON answer, the `serve` command's `--port`
 * and `--host`, and listening until stopped. Each container keeps its own error shape: the helpers
 * that refuse a request build the container's error with its `Refuse`. Bundled into each
 * container's server by its build.ts, so it imports nothing but Node's own modules.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exitWithParent } from './exit-with-parent.ts';

/** SageMaker sends requests to this port unless it says otherwise (SAGEMAKER_BIND_TO_PORT). */
export const DEFAULT_PORT = 8080;

/** The container's own error for a request it refuses with `status`; its handler answers it. */
export type Refuse = (message: string, status: number) => Error;

/** The body decoded as JSON; a 413 past `maxBytes`, a 400 when it is not JSON. */
export async function readJsonBody(
  request: IncomingMessage,
  maxBytes: number,
  refuse: Refuse,
): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw refuse(`the request body exceeds ${maxBytes} bytes`, 413);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw refuse(`the request body is not valid JSON: ${(error as Error).message}`, 400);
  }
}

export function methodNotAllowed(method: string | undefined, refuse: Refuse): Error {
  return refuse(`Method ${method ?? '(none)'} is not allowed`, 405);
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  response.end(text);
}

export interface ListenOptions {
  port: number;
  host: string;
}

/**
 * `serve [--port N] [--host H]` followed by the container's own flags, each taking one value
 * that its entry in `flags` reads. The port defaults to SAGEMAKER_BIND_TO_PORT, then 8080;
 * `--port 0` takes a free one. The host defaults to 0.0.0.0 (all interfaces, as a container must
 * listen). Throws `usage` when the command is not `serve`.
 */
export function parseServeCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  usage: string,
  flags: Readonly<Record<string, (value: string) => void>>,
): ListenOptions {
  const [command, ...rest] = argv;
  if (command !== 'serve') throw new Error(usage);
  const options: ListenOptions = {
    port: Number(env.SAGEMAKER_BIND_TO_PORT ?? DEFAULT_PORT),
    host: '0.0.0.0',
  };
  for (let i = 0; i < rest.length; i += 2) {
    const flag = rest[i] as string;
    const value = rest[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    const read = Object.hasOwn(flags, flag) ? flags[flag] : undefined;
    if (flag === '--port') options.port = Number(value);
    else if (flag === '--host') options.host = value;
    else if (read) read(value);
    else throw new Error(`unknown option ${flag}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535) {
    throw new Error(`--port must be an integer in 0..65535, got ${options.port}`);
  }
  return options;
}

/**
 * Listens as a container does and prints `NAME listening on http://HOST:PORT` once it accepts
 * requests (the local endpoint host reads the port from that line). SIGTERM, which SageMaker sends
 * before stopping an instance, closes it; so do SIGINT and the end of the local host that started
 * it (exitWithParent). Once closed, `closed` runs: by default the process exits with 0.
 */
export async function listenUntilStopped(
  server: Server,
  options: ListenOptions,
  name: string,
  closed: () => void = () => process.exit(0),
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${name} listening on http://${options.host}:${port}\n`);
  const shutdown = () => {
    server.close(() => closed());
    server.closeAllConnections();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  exitWithParent(process.env, process.stdin, shutdown);
}
