/**
 * Runs the `synthforge` CLI from a test: in process (fast; streams captured, fetch injectable) or as
 * a spawned process, the way a user runs it (the TypeScript entry through tsx, on the tests' Node).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  /**
   * The whole environment of the run: nothing is inherited. Without SYNTHFORGE_CONFIG_DIR or
   * XDG_CONFIG_HOME the run gets a configuration folder of its own (see `hermetic`).
   */
  env?: NodeJS.ProcessEnv;
  stdin?: string;
  fetch?: FetchFunction;
  signal?: AbortSignal;
  /** Whether stderr is a terminal (progress bars) — in process only. */
  tty?: boolean;
  /**
   * Presses Ctrl-C once the output matches: spawned, SIGINT once stderr matches; in process, the
   * run's signal aborts (what main.ts does on SIGINT) once stdout or stderr matches.
   */
  interruptWhen?: RegExp;
}

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * `env`, with a configuration folder that does not exist when it names none. Without one the CLI
 * falls back on the home folder of whoever runs the tests (`os.homedir()` reads the process's HOME,
 * or the password file, never the run's env), so a developer who followed the README's `synthforge
 * config set` would see tests fail. A folder per run: nothing one run writes is read by another.
 */
export function hermetic(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  if (env.SYNTHFORGE_CONFIG_DIR || env.XDG_CONFIG_HOME) return env;
  return { ...env, SYNTHFORGE_CONFIG_DIR: join(tmpdir(), `synthforge-no-config-${randomUUID()}`) };
}

class Capture {
  text = '';
  constructor(
    readonly isTTY: boolean,
    private readonly onWrite: () => void = () => {},
  ) {}
  readonly columns = 100;
  write(chunk: string): boolean {
    this.text += chunk;
    this.onWrite();
    return true;
  }
}

export async function runInProcess(argv: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  const interrupt = new AbortController();
  const watch = () => {
    if (!interrupt.signal.aborted && options.interruptWhen?.test(stdout.text + stderr.text))
      interrupt.abort();
  };
  const stdout = new Capture(false, watch);
  const stderr = new Capture(options.tty === true, watch);
  const code = await runCli(argv, {
    stdout,
    stderr,
    stdin: Readable.from([options.stdin ?? '']),
    env: hermetic(options.env),
    signal: options.signal ? AbortSignal.any([options.signal, interrupt.signal]) : interrupt.signal,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

export function runSpawned(argv: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...argv], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...hermetic(options.env),
    },
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
