/**
 * Runs the `synthforge` CLI from a test: in process (fast; streams captured, fetch injectable) or as
 * a spawned process, the way a user runs it (the TypeScript entry through tsx, on the tests' Node).
 */
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/program.ts';
import type { FetchFunction } from '../../src/http.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** The whole environment of the run (nothing is inherited, so a developer's own config never leaks in). */
  env?: NodeJS.ProcessEnv;
  stdin?: string;
  fetch?: FetchFunction;
  signal?: AbortSignal;
  /** Whether stderr is a terminal (progress bars) — in process only. */
  tty?: boolean;
  /** Spawned only: sends SIGINT (Ctrl-C) once stderr matches. */
  interruptWhen?: RegExp;
}

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

class Capture {
  text = '';
  constructor(readonly isTTY: boolean) {}
  readonly columns = 100;
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

export async function runInProcess(argv: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  const stdout = new Capture(false);
  const stderr = new Capture(options.tty === true);
  const code = await runCli(argv, {
    stdout,
    stderr,
    stdin: Readable.from([options.stdin ?? '']),
    env: options.env ?? {},
    signal: options.signal ?? new AbortController().signal,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

export function runSpawned(argv: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...argv], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  let interrupted = false;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (!interrupted && options.interruptWhen?.test(stderr)) {
      interrupted = true;
      child.kill('SIGINT');
    }
  });
  child.stdin.end(options.stdin ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
}
