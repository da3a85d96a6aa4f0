/**
 * A benchmark server in a child process (bench/servers/*.ts, run through tsx): it prints one answer
 * line (ANSWER_PREFIX + JSON) when it listens, answers line commands on stdin, and stops when its stdin closes.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export interface ServerProcess<Info> {
  info: Info;
  /** Sends a command line and resolves with the next JSON line the server prints. */
  command(line: string, timeoutMs?: number): Promise<unknown>;
  stop(): Promise<void>;
}

const SERVERS_DIR = new URL('../servers', import.meta.url);

/** Servers prefix their answers with this, apart from whatever else they log on stdout. */
export const ANSWER_PREFIX = '@bench ';

/** How a server prints an answer. */
export function answer(value: unknown): void {
  process.stdout.write(`${ANSWER_PREFIX}${JSON.stringify(value)}\n`);
}

export async function startServerProcess<Info>(
  name: 'floor' | 'platform',
  env: NodeJS.ProcessEnv,
  startTimeoutMs = 60_000,
): Promise<ServerProcess<Info>> {
  const script = fileURLToPath(new URL(`${name}.ts`, SERVERS_DIR));
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(
    process.execPath,
    ['--import', 'tsx', script],
    { env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const info = (await nextJsonLine(lines, startTimeoutMs, exited, () => stderr)) as Info;
  return {
    info,
    async command(line, timeoutMs = 120_000) {
      const answer = nextJsonLine(lines, timeoutMs, exited, () => stderr);
      child.stdin.write(`${line}\n`);
      return answer;
    },
    async stop() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function nextJsonLine(
  lines: Interface,
  timeoutMs: number,
  exited: Promise<number | null>,
  stderr: () => string,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onLine = (line: string) => {
      if (!line.startsWith(ANSWER_PREFIX)) return; // anything else the server logs is not an answer
      cleanup();
      resolve(JSON.parse(line.slice(ANSWER_PREFIX.length)));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`server did not answer within ${timeoutMs} ms; stderr: ${stderr().slice(-500)}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      lines.off('line', onLine);
    };
    lines.on('line', onLine);
    void exited.then((code) => {
      cleanup();
      reject(new Error(`server exited (${code}); stderr: ${stderr().slice(-500)}`));
    });
  });
}
