/**
 * `npm start` leaves nothing running when it is killed outright: the endpoint instance and the
 * trainer it started notice their parent is gone (their stdin pipe ends) and exit by themselves.
 * Linux only: children are found in /proc.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Api } from '../support/platform.ts';
import { bannerOf, LOCAL_READY, REPO_ROOT, spawnBin, waitForOutput } from '../support/spawn.ts';
import { identityCropsBatch, TINY_TRAINING, until } from '../support/training.ts';

const HAS_TORCH = spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision']).status === 0;
/** Bounds for a loaded 2-core machine; every wait ends as soon as what it waits for has happened. */
const START_MS = 120_000;
const GONE_MS = 60_000;

interface Process {
  pid: number;
  command: string;
}

/** The processes whose parent is `pid` now (from every thread's children list). */
function childrenOf(pid: number): Process[] {
  const pids = new Set<number>();
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const listed = readText(`/proc/${pid}/task/${task}/children`) ?? '';
    for (const child of listed.split(/\s+/).filter(Boolean)) pids.add(Number(child));
  }
  return [...pids].map((child) => ({ pid: child, command: commandOf(child) }));
}

function commandOf(pid: number): string {
  return (readText(`/proc/${pid}/cmdline`) ?? '').replaceAll('\0', ' ').trim();
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process is gone already
  }
}

/** Every process below `pid`, parents before their children. */
function descendantsOf(pid: number): Process[] {
  const children = readText(`/proc/${pid}/stat`) === undefined ? [] : childrenOf(pid);
  return children.flatMap((child) => [child, ...descendantsOf(child.pid)]);
}

/** `npm start` as a person runs it, in a process group of its own as a terminal would give it. */
async function npmStart(): Promise<{ npm: ChildProcessWithoutNullStreams; output: string }> {
  const npm = spawn('npm', ['start', '--', '--port', '0', '--memory'], {
    cwd: REPO_ROOT,
    detached: true,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  return { npm, output: await waitForOutput(npm, LOCAL_READY) };
}

/** Still running: it exists and is not a zombie (an orphan's zombie waits for PID 1 to reap it). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const state = /\) (\S)/.exec(readText(`/proc/${pid}/stat`) ?? '')?.[1];
  return state !== undefined && state !== 'Z';
}

describe.runIf(process.platform === 'linux')('npm start killed with SIGKILL', () => {
  const leftovers: Process[] = [];
  afterEach(() => {
    // A failed run must not leave its orphans to the next test file.
    // Only a process that is still the one recorded: a pid freed by its exit may be another test's now.
    for (const found of leftovers.splice(0)) {
      if (running(found.pid) && commandOf(found.pid) === found.command) process.kill(found.pid, 'SIGKILL');
    }
  });

  it(
    `takes its endpoint instance${HAS_TORCH ? ' and its trainer' : ''} with it`,
    async () => {
      // Prepare: the platform, an endpoint instance (a generate request) and, with torch, a trainer.
      const platform = spawnBin('bin/local.ts', ['--port', '0', '--memory']);
      const output = await waitForOutput(platform, LOCAL_READY);
      const { url, key } = bannerOf(output);
      if (platform.pid === undefined) throw new Error(`no pid:\n${output}`);
      const api = new Api(url, key);
      const generated = await api.post('/api/v1/generate', {
        prompt: 'stars',
        model_id: 'synthforge/shapes',
        width: 64,
        height: 64,
        seed: 1,
      });
      expect([200, 202], generated.text).toContain(generated.status);
      const expected = ['shapes-endpoint/server.ts'];
      if (HAS_TORCH) {
        const batchId = await identityCropsBatch(api);
        const accepted = await api.post('/api/v1/train', {
          dataset: { batch_id: batchId },
          ...TINY_TRAINING,
          training_kwargs: {
            ...TINY_TRAINING.training_kwargs,
            num_epochs: 500,
            early_stopping_patience: 500,
          },
        });
        expect(accepted.status, accepted.text).toBe(202);
        expected.push('synthforge_trainer');
      }
      const platformPid = platform.pid;
      const children = await until(
        async () => childrenOf(platformPid),
        (found) => expected.every((part) => found.some((child) => child.command.includes(part))),
        START_MS,
      );
      leftovers.push(...children);
      expect(children.map((child) => child.command).join('\n')).toSatisfy((commands: string) =>
        expected.every((part) => commands.includes(part)),
      );
      const platformExited = new Promise((resolve) => platform.once('exit', resolve));

      // Act
      platform.kill('SIGKILL');
      await platformExited;
      const stillRunning = await until(
        async () => children.filter((child) => running(child.pid)),
        (left) => left.length === 0,
        GONE_MS,
      );

      // Assess
      expect(stillRunning).toEqual([]);
    },
    START_MS + GONE_MS + 60_000,
  );

  it(
    'is killed with the process its start script runs: the platform runs in it, not under a tsx CLI',
    async () => {
      // Prepare
      const { npm } = await npmStart();
      const npmPid = npm.pid as number;
      const below = descendantsOf(npmPid);
      leftovers.push(...below);
      // What the script runs: the first process below npm that is neither npm nor the shell it uses.
      const script = below.find((found) => !/^(npm|sh -c|\/bin\/sh -c)/.test(found.command));
      if (!script) throw new Error(`nothing below npm: ${JSON.stringify(below)}`);
      const npmExited = new Promise((resolve) => npm.once('exit', resolve));

      // Act
      process.kill(script.pid, 'SIGKILL');
      await npmExited;
      const stillRunning = await until(
        async () => below.filter((found) => running(found.pid)),
        (left) => left.length === 0,
        GONE_MS,
      );

      // Assess
      expect(script.command).toMatch(/bin\/local\.ts/);
      expect(stillRunning).toEqual([]);
    },
    START_MS + GONE_MS,
  );

  it(
    'still stops cleanly on Ctrl-C, leaving nothing of its process group running',
    async () => {
      // Prepare
      const { npm } = await npmStart();
      const below = descendantsOf(npm.pid as number);
      leftovers.push(...below);
      let output = '';
      npm.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      let errors = '';
      npm.stderr.on('data', (chunk: Buffer) => {
        errors += chunk.toString();
      });
      // Its output ends once every process that could write to it has exited.
      const outputEnded = once(npm.stdout, 'end', { signal: AbortSignal.timeout(GONE_MS) });

      // Act: Ctrl-C at a terminal signals the whole foreground process group.
      process.kill(-(npm.pid as number), 'SIGINT');
      await outputEnded;
      const stillRunning = await until(
        async () => below.filter((found) => running(found.pid)),
        (left) => left.length === 0,
        GONE_MS,
      );

      // Assess
      expect(output, errors).toMatch(/SIGINT: stopping/);
      expect(stillRunning).toEqual([]);
    },
    START_MS + GONE_MS,
  );
});
