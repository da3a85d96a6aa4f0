/**
 * `npm start` as a process of its own (bin/local.ts on a data dir), for tests that stop it with
 * Ctrl-C or kill it outright at chosen points and start it again on the same data. Each start runs
 * in a process group of its own, so that a kill takes the platform and every process it started
 * (endpoint containers, trainers) at once, as a crash of the machine's session would.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobStateChange } from '../../lambdas/domain/ports.ts';
import { Api } from './platform.ts';
import { bannerOf, LOCAL_READY, REPO_ROOT } from './spawn.ts';

export class LocalProcess {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly api: Api,
    readonly output: () => string,
    private readonly exited: Promise<number | null>,
  ) {}

  /** Starts the platform on `dataDir` and resolves once it serves (its printed URL and key). */
  static async start(dataDir: string, extraArgs: string[] = []): Promise<LocalProcess> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bin/local.ts', '--port', '0', '--data-dir', dataDir, ...extraArgs],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        detached: true,
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (LOCAL_READY.test(output)) resolve();
      };
      child.stdout.on('data', check);
      void exited.then((code) =>
        reject(new Error(`the platform exited (${code}) before it was ready:\n${output}`)),
      );
    });
    const { url, key } = bannerOf(output);
    return new LocalProcess(child, new Api(url, key), () => output, exited);
  }

  /** Ctrl-C: the graceful stop. Resolves with the exit code. */
  async stop(): Promise<number | null> {
    this.child.kill('SIGINT');
    return this.exited;
  }

  /** SIGKILL to the platform's whole process group: nothing gets to clean up. */
  async kill(): Promise<void> {
    // Once it has exited its pid (and group id) may be another process's: never signal it then.
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(-(this.child.pid ?? 0), 'SIGKILL');
    } catch {
      // Already gone.
    }
    await this.exited;
  }
}

/** The `Job State Change` events the platforms of `dataDir` have published so far (events.jsonl). */
export async function eventsOf(dataDir: string): Promise<JobStateChange[]> {
  const text = await readFile(join(dataDir, 'events.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.startsWith('{') && line.endsWith('}'))
    .map((line) => JSON.parse(line) as JobStateChange);
}

/**
 * Resolves with the first event of `dataDir` that `matches`, once there is one (polled: another
 * process writes them); fails after `timeoutMs`, showing the last events seen.
 */
export async function eventSeen(
  dataDir: string,
  matches: (event: JobStateChange) => boolean,
  timeoutMs = 60_000,
): Promise<JobStateChange> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await eventsOf(dataDir);
    const found = events.find(matches);
    if (found) return found;
    if (Date.now() > deadline) {
      const last = events
        .slice(-5)
        .map((event) => `${event.kind} ${event.jobId}: ${event.previousStatus} -> ${event.status}`);
      throw new Error(`the awaited job event never came; the last were:\n${last.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
