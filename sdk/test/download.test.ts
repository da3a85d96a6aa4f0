/**
 * `Batch.download` against the local platform: an interrupted download completes when run again
 * without touching the jobs it had finished, leftovers of an interrupted download or extraction are
 * replaced, jobs without results are reported, and a folder holding another batch is refused.
 * (download-streaming.test.ts covers memory, broken connections and corrupt archives.)
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../../test/support/platform.ts';
import type { Batch } from '../src/batch.ts';
import type { DownloadProgress } from '../src/download.ts';
import { BatchFolderMismatchError } from '../src/errors.ts';
import { Manager } from '../src/manager.ts';
import { FAILING_SEED, jobControls } from './support/job-controls.ts';

const controls = jobControls();
const fixture = usePlatform({ wrapTask: controls.wrapTask });
const dirs: string[] = [];
const SMALL = { image_width: 64, image_height: 64, frames: 2 };
let batch: Batch;

beforeAll(async () => {
  const session = await new Manager({
    baseUrl: fixture.platform.url,
    apiKey: fixture.platform.devKey,
  }).session('shapes');
  batch = await session.submit([1, 2, 3].map((seed) => ({ ...SMALL, seed })));
  await batch.awaitCompletion({ pollIntervalMs: 25 });
});
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'synthforge-download-'));
  dirs.push(dir);
  return dir;
}

const jobIds = () => batch.latest?.job_runs.map((job) => job.id) ?? [];

describe('Batch.download', () => {
  it('resumes an interrupted download without rewriting the jobs it finished', async () => {
    // Prepare: the first run stops after its first job; then leftovers of a crash are planted.
    const dir = await tempDir();
    const interruption = new Error('interrupted after the first job');
    const firstRun = await batch
      .download(dir, {
        concurrency: 1,
        onProgress: () => {
          throw interruption;
        },
      })
      .catch((caught: unknown) => caught);
    const folders = (await readdir(dir)).filter((name) => jobIds().includes(name));
    const finished = folders[0] ?? '';
    const [stale, staging] = jobIds().filter((id) => id !== finished);
    await writeFile(join(dir, finished, 'sentinel.txt'), 'left by the test');
    const paramsMtime = (await stat(join(dir, finished, 'params.json'))).mtimeMs;
    await mkdir(join(dir, stale ?? ''), { recursive: true });
    await writeFile(join(dir, stale ?? '', 'stray.txt'), 'an extraction that never finished');
    await mkdir(join(dir, `.${staging}.partial`), { recursive: true });
    // Larger than the archive: had it been written over rather than replaced, its tail would remain.
    await writeFile(join(dir, `.${staging}.zip.partial`), 'x'.repeat(256 * 1024));
    const progress: DownloadProgress[] = [];
    let received = 0;

    // Act
    const report = await batch.download(dir, {
      onProgress: (step) => void progress.push(step),
      onBytes: (bytes) => {
        received += bytes;
      },
    });

    // Assess
    expect(firstRun).toBe(interruption);
    expect(folders).toHaveLength(1);
    expect(report.skipped).toEqual([finished]);
    expect(report.downloaded.sort()).toEqual([stale, staging].sort());
    expect(progress.find((step) => step.jobId === finished)).toMatchObject({ outcome: 'skipped', bytes: 0 });
    expect(progress.at(-1)).toMatchObject({ done: 3, total: 3, totalBytes: report.bytes });
    expect(received).toBe(report.bytes);
    expect(await readFile(join(dir, finished, 'sentinel.txt'), 'utf8')).toBe('left by the test');
    expect((await stat(join(dir, finished, 'params.json'))).mtimeMs).toBe(paramsMtime);
    expect(await readdir(join(dir, stale ?? ''))).not.toContain('stray.txt');
    expect((await readdir(dir)).sort()).toEqual(['batch_id.txt', ...jobIds()].sort());
    for (const id of jobIds()) {
      const marker = JSON.parse(await readFile(join(dir, id, '.complete'), 'utf8'));
      expect(marker).toMatchObject({ batch_id: batch.id, job_id: id });
      expect((await readdir(join(dir, id, 'frames'))).length).toBe(2);
    }
  });

  it('refuses to download a second batch into the same folder', async () => {
    // Prepare
    const dir = await tempDir();
    await batch.download(dir);
    const session = await new Manager({
      baseUrl: fixture.platform.url,
      apiKey: fixture.platform.devKey,
    }).session('shapes');
    const other = await session.submit([{ ...SMALL, seed: 9 }]);
    await other.awaitCompletion({ pollIntervalMs: 25 });
    const before = (await readdir(dir)).sort();

    // Act
    const error = await other.download(dir).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(BatchFolderMismatchError);
    expect(error).toMatchObject({ dir, batchId: other.id, existingBatchId: batch.id });
    expect((await readdir(dir)).sort()).toEqual(before);
  });

  it('downloads what completed and reports the jobs that have no result', async () => {
    // Prepare
    const dir = await tempDir();
    const session = await new Manager({
      baseUrl: fixture.platform.url,
      apiKey: fixture.platform.devKey,
    }).session('shapes');
    const mixed = await session.submit([
      { ...SMALL, seed: 10 },
      { ...SMALL, seed: FAILING_SEED },
    ]);
    await mixed.awaitCompletion({ pollIntervalMs: 25 });
    const [good, bad] = mixed.latest?.job_runs ?? [];

    // Act
    const report = await mixed.download(dir);

    // Assess
    expect(report.downloaded).toEqual([good?.id]);
    expect(report.unavailable).toEqual([{ id: bad?.id, status: 'failed' }]);
    expect((await readdir(dir)).sort()).toEqual(['batch_id.txt', good?.id].sort());
  });
});
