/**
 * `npm start` on a disk that fills up, with a real full disk: a small tmpfs mounted inside a user
 * and mount namespace of the test's own (no root needed), which the platform runs in and the test
 * reaches over 127.0.0.1 (the network is shared). Where the kernel does not allow unprivileged
 * namespaces these tests cannot run, and say why; test/lambdas/local/storage/emulator-disk.test.ts and
 * disk-space.test.ts cover the same guards with an injected full disk everywhere.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BatchSummary } from '../../contracts/batches.ts';
import { Api, expectError, waitForBatch } from '../support/platform.ts';
import { bannerOf, LOCAL_READY, REPO_ROOT, waitForOutput } from '../support/spawn.ts';

const MiB = 1024 ** 2;
/** The platform refuses new work below this; `--min-free-mb 1`. */
const MIN_FREE = MiB;
/** A tiny job (kilobytes) and a job whose result (about 2.5 MB of noise) fits in none of the gaps left below. */
const TINY = { name: 'shapes', param_values: { seed: 1, frames: 1, image_width: 64, image_height: 64 } };
const BIG = (seed: number) => ({
  name: 'shapes',
  param_values: { seed, frames: 1, image_width: 1024, image_height: 1024, noise: 0.5 },
});

/** Whether this machine lets the test mount a tmpfs in namespaces of its own; why not, if not. */
function namespaceSupport(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'user and mount namespaces are Linux only' };
  const folder = mkdtempSync(join(tmpdir(), 'synthforge-ns-probe-'));
  try {
    const probe = spawnSync(
      'unshare',
      [
        '--user',
        '--map-root-user',
        '--mount',
        'sh',
        '-c',
        'mount -t tmpfs -o size=1m tmpfs "$1" && nsenter --version',
        'sh',
        folder,
      ],
      { encoding: 'utf8' },
    );
    if (probe.error) return { ok: false, reason: `unshare cannot run: ${probe.error.message}` };
    if (probe.status !== 0)
      return {
        ok: false,
        reason: `an unprivileged tmpfs mount is not permitted here: ${probe.stderr.trim()}`,
      };
    return { ok: true };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

const support = namespaceSupport();
if (!support.ok) console.warn(`skipping the full-disk tests of npm start: ${support.reason}`);

/**
 * A small disk: a tmpfs at a fresh folder, seen only inside a user and mount namespace that a
 * `sleep` holds open. The platform and the shell commands that fill the disk enter it with nsenter.
 */
class SmallDisk {
  #fillers = 0;

  private constructor(
    readonly folder: string,
    private readonly holder: ChildProcessWithoutNullStreams,
  ) {}

  static async mount(sizeMiB: number): Promise<SmallDisk> {
    const folder = await mkdtemp(join(tmpdir(), 'synthforge-full-disk-'));
    const holder = spawn('unshare', [
      '--user',
      '--map-root-user',
      '--mount',
      'sh',
      '-c',
      'mount -t tmpfs -o size="$2" tmpfs "$1" && echo mounted && exec sleep infinity',
      'sh',
      folder,
      `${sizeMiB}m`,
    ]);
    await waitForOutput(holder, /mounted/);
    return new SmallDisk(folder, holder);
  }

  /** Fills the disk to the last byte, then gives back `leaveBytes` (a multiple of the page size). */
  fill(leaveBytes: number): void {
    const filler = `${this.folder}/filler-${++this.#fillers}`;
    // dd stops at ENOSPC (and says so, exiting 1): the disk is full.
    this.#shell(`dd if=/dev/zero of="${filler}" bs=64k 2>/dev/null; truncate -s -${leaveBytes} "${filler}"`);
  }

  /** Deletes every filler. */
  free(): void {
    this.#shell(`rm -f "${this.folder}"/filler-*`);
  }

  /** `npm start` on this disk: bin/local.ts with its data in the folder. */
  start(args: string[]): ChildProcessWithoutNullStreams {
    return spawn(
      'nsenter',
      this.#enter([
        process.execPath,
        '--import',
        'tsx',
        'bin/local.ts',
        '--port',
        '0',
        '--data-dir',
        this.folder,
        ...args,
      ]),
      { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
    );
  }

  /** Ends the namespace (the tmpfs goes with it) and removes the folder it was mounted on. */
  async unmount(): Promise<void> {
    const gone = once(this.holder, 'exit');
    this.holder.kill('SIGKILL');
    await gone;
    await rm(this.folder, { recursive: true, force: true });
  }

  #shell(script: string): void {
    execFileSync('nsenter', this.#enter(['sh', '-c', script]));
  }

  #enter(command: string[]): string[] {
    const pid = String(this.holder.pid);
    return ['--target', pid, '--user', '--mount', '--preserve-credentials', `--wd=${REPO_ROOT}`, ...command];
  }
}

interface Running {
  child: ChildProcessWithoutNullStreams;
  api: Api;
  url: string;
  /** What it printed up to its ready line. */
  output: string;
  /** The exit code, once it has exited. */
  exited: Promise<number | null>;
}

const disks: SmallDisk[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const disk of disks.splice(0)) await disk.unmount();
});

async function mounted(sizeMiB: number): Promise<SmallDisk> {
  const disk = await SmallDisk.mount(sizeMiB);
  disks.push(disk);
  return disk;
}

async function started(disk: SmallDisk, args: string[] = []): Promise<Running> {
  const child = disk.start(['--min-free-mb', String(MIN_FREE / MiB), ...args]);
  children.push(child);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const output = await waitForOutput(child, LOCAL_READY);
  const { url, key } = bannerOf(output);
  return { child, api: new Api(url, key), url, output, exited };
}

async function stopped(platform: Running): Promise<number | null> {
  platform.child.kill('SIGINT');
  return platform.exited;
}

/** Runs a start that is expected to fail; resolves with its exit code and what it printed on stderr. */
async function failedStart(disk: SmallDisk): Promise<{ code: number | null; stderr: string }> {
  const child = disk.start(['--min-free-mb', String(MIN_FREE / MiB)]);
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = await once(child, 'exit');
  return { code: code as number | null, stderr };
}

async function submitted(api: Api, jobRuns: unknown[]): Promise<string> {
  const answer = await api.post<{ id: string }>('/api/v1/batches', { name: 'disk', job_runs: jobRuns });
  expect(answer.status, answer.text).toBe(202);
  return answer.body.id;
}

async function resultOf(api: Api, batchId: string): Promise<Buffer> {
  const summary = await api.get<BatchSummary>(`/api/v1/batches/${batchId}/summary`);
  const url = summary.body.job_runs[0]?.result_url;
  if (!url) throw new Error(`no result: ${summary.text}`);
  return Buffer.from(await (await fetch(url)).arrayBuffer());
}

describe.runIf(support.ok)('npm start on a disk that fills up', () => {
  it('fails the jobs that do not fit with the reason, stays up, refuses new work, and keeps completed results', async () => {
    // Prepare: a completed job, then a disk with room to be admitted but not for the batch's results.
    const disk = await mounted(16);
    const platform = await started(disk);
    const completed = await submitted(platform.api, [TINY]);
    await waitForBatch(platform.api, completed, 60_000);
    const resultBefore = await resultOf(platform.api, completed);
    disk.fill(2 * MiB);

    // Act
    const batch = await submitted(platform.api, [BIG(1), BIG(2)]);
    const summary = await waitForBatch(platform.api, batch, 60_000);
    const health = await fetch(`${platform.url}/health`);
    disk.fill(MIN_FREE / 4);
    const refused = await platform.api.post<{ error: { message: string } }>('/api/v1/batches', {
      job_runs: [TINY],
    });
    const resultAfter = await resultOf(platform.api, completed);
    const exitCode = await stopped(platform);

    // Assess
    expect(summary.job_runs.map((job) => job.status)).toEqual(['failed', 'failed']);
    for (const job of summary.job_runs) {
      expect(job.error?.code).toBe('InsufficientStorage');
      expect(job.error?.message).toContain(`the disk holding ${disk.folder} is full (ENOSPC)`);
    }
    expect(health.status).toBe(200);
    expectError(refused, 503, 'UNAVAILABLE');
    expect(refused.body.error.message).toContain(`the disk holding ${disk.folder} is nearly full`);
    expect(resultAfter.equals(resultBefore)).toBe(true);
    expect(exitCode).toBe(0);
  }, 180_000);

  it('restarts on a full disk: fails once saying why, then with a little room fails the interrupted jobs, then runs new work', async () => {
    // Prepare: a batch cut off by Ctrl-C while its first job runs, on a disk that cannot take its results.
    const disk = await mounted(16);
    const first = await started(disk, ['--concurrency', '1']);
    disk.fill(2 * MiB);
    const batch = await submitted(first.api, [BIG(1), BIG(2), BIG(3)]);
    await vi.waitFor(
      async () => {
        const summary = await first.api.get<BatchSummary>(`/api/v1/batches/${batch}/summary`);
        expect(summary.body.job_runs.map((job) => job.status)).toContain('running');
      },
      { timeout: 60_000, interval: 50 },
    );
    const firstExit = await stopped(first);

    // Act: no room at all, then a little room, then room.
    disk.fill(0);
    const full = await failedStart(disk);
    disk.free();
    disk.fill(MIN_FREE / 2);
    const second = await started(disk);
    const resumed = await waitForBatch(second.api, batch, 60_000);
    const health = await fetch(`${second.url}/health`);
    const refused = await second.api.post('/api/v1/batches', { job_runs: [TINY] });
    disk.free();
    const later = await submitted(second.api, [TINY]);
    const laterSummary = await waitForBatch(second.api, later, 60_000);
    const secondExit = await stopped(second);

    // Assess
    expect(firstExit).toBe(0);
    expect(full.code).toBe(1);
    expect(full.stderr).toContain(
      `SynthForge could not start: the disk holding ${disk.folder} is full (ENOSPC)`,
    );
    expect(full.stderr).not.toContain('    at ');
    expect(second.output).toMatch(/Resumed\s+1 interrupted batch/);
    expect(resumed.job_runs.map((job) => job.status)).toEqual(['failed', 'failed', 'failed']);
    for (const job of resumed.job_runs) {
      expect(job.error?.message).toContain(`the disk holding ${disk.folder} is full (ENOSPC)`);
    }
    expect(health.status).toBe(200);
    expect(refused.status).toBe(503);
    expect(laterSummary.job_runs.map((job) => job.status)).toEqual(['completed']);
    expect(secondExit).toBe(0);
  }, 300_000);
});
