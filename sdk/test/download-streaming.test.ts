/**
 * `Batch.download` streams each archive to disk and extracts it from there: memory stays flat while
 * an archive far larger than any buffer downloads, an archive whose connection breaks mid-body is
 * fetched again (by the same retry loop as the in-memory `fetchResult`) and extracted whole, a
 * failure of the local disk is not retried, and an archive with a corrupt entry fails its job
 * without leaving a folder behind. Archives are served by the local
 * platform's S3 emulator, through a fault-injecting proxy where a test needs one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createZip } from '../../lambdas/domain/archive/zip.ts';
import { resultKey } from '../../lambdas/domain/generation/run-job.ts';
import { usePlatform } from '../../test/support/platform.ts';
import { ApiClient } from '../src/api-client.ts';
import { Batch } from '../src/batch.ts';
import { ArchiveError } from '../src/errors.ts';
import { readZip } from '../src/unzip.ts';
import { FaultProxy } from './support/fault-proxy.ts';

const fixture = usePlatform();
const dirs: string[] = [];
let proxy: FaultProxy;

const SMALL = { image_width: 64, image_height: 64, frames: 2 };
const FAST_RETRIES = { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 100 };
const ARCHIVE = { method: 'GET', path: /\/result\.zip$/ };
const MiB = 1024 * 1024;

beforeAll(async () => {
  proxy = await FaultProxy.start(fixture.platform.emulators.s3Endpoint);
});
afterAll(async () => {
  await proxy.close();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});
afterEach(() => {
  proxy.reset();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'synthforge-stream-'));
  dirs.push(dir);
  return dir;
}

/** A client whose archive requests (presigned S3 links) go through the proxy; API calls do not. */
function clientThroughProxy(): ApiClient {
  const s3Origin = new URL(fixture.platform.emulators.s3Endpoint).origin;
  return new ApiClient({
    baseUrl: fixture.platform.url,
    apiKey: fixture.platform.devKey,
    retries: FAST_RETRIES,
    fetch: (input, init) =>
      fetch(input.startsWith(s3Origin) ? `${proxy.url}${input.slice(s3Origin.length)}` : input, init),
  });
}

const directClient = () => new ApiClient({ baseUrl: fixture.platform.url, apiKey: fixture.platform.devKey });

/** A completed batch of one small job. */
async function completedJob(seed: number): Promise<{ batchId: string; jobId: string }> {
  const client = directClient();
  const submitted = await client.submitBatch({
    job_runs: [{ name: 'shapes', param_values: { ...SMALL, seed } }],
  });
  await new Batch(client, submitted.id).awaitCompletion({ pollIntervalMs: 25 });
  return { batchId: submitted.id, jobId: submitted.job_runs[0]?.id ?? '' };
}

/** The job's result as stored, and a way to replace it, straight in the S3 emulator. */
function storedResult(jobId: string) {
  const { runtime } = fixture.platform;
  const object = { Bucket: runtime.config.bucket, Key: resultKey('dev', jobId) };
  return {
    read: async () =>
      (await runtime.clients.s3.send(new GetObjectCommand(object))).Body?.transformToByteArray(),
    replace: (archive: Uint8Array) =>
      runtime.clients.s3.send(new PutObjectCommand({ ...object, Body: archive })),
  };
}

/** `global.gc`, exposed at run time: the memory test counts live buffers, not garbage. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('Batch.download, streaming', () => {
  it('keeps live buffers far below the size of a 48 MiB archive while it downloads and extracts', async () => {
    // Prepare: the job's result replaced by an archive of incompressible data, so nothing shrinks it.
    const { batchId, jobId } = await completedJob(21);
    const archiveBytes = 48 * MiB;
    const digest = await (async () => {
      const data = randomBytes(archiveBytes);
      await storedResult(jobId).replace(createZip([{ name: 'frames/big.bin', data, store: true }]));
      return sha256(data);
    })();
    const dir = await tempDir();
    const gc = exposeGc();
    const liveBuffers = () => {
      // Twice: backing stores of buffers found dead by one collection are freed by the next.
      gc();
      gc();
      return process.memoryUsage().arrayBuffers;
    };
    const baseline = liveBuffers();
    const limit = archiveBytes / 6;
    let worst = 0;
    const check = () => {
      // Counting is cheap and collecting is not: collect only once the count, garbage included,
      // reaches the limit, to see how much of it is alive.
      if (worst >= limit || process.memoryUsage().arrayBuffers - baseline < limit) return;
      worst = Math.max(worst, liveBuffers() - baseline);
    };
    const timer = setInterval(check, 5);
    let received = 0;
    const onBytes = (bytes: number) => {
      received += bytes;
      check();
    };

    // Act: straight from the emulator; the proxy would hold the whole archive in this process.
    const report = await new Batch(directClient(), batchId)
      .download(dir, { onBytes })
      .finally(() => clearInterval(timer));

    // Assess
    expect(report.downloaded).toEqual([jobId]);
    expect(report.bytes).toBeGreaterThan(archiveBytes);
    expect(received).toBe(report.bytes);
    expect(worst).toBeLessThan(limit);
    expect(sha256(await readFile(join(dir, jobId, 'frames', 'big.bin')))).toBe(digest);
    expect((await readdir(dir)).sort()).toEqual(['batch_id.txt', jobId].sort());
  });

  it('fetches an archive again when its connection breaks mid-body, and extracts it whole', async () => {
    // Prepare
    const { batchId, jobId } = await completedJob(22);
    const archive = (await storedResult(jobId).read()) ?? new Uint8Array();
    proxy.inject(ARCHIVE, { kind: 'cut-body', bytes: Math.floor(archive.length / 2) });
    const dir = await tempDir();

    // Act
    const report = await new Batch(clientThroughProxy(), batchId).download(dir);

    // Assess
    expect(proxy.count(ARCHIVE)).toBe(2);
    expect(report).toMatchObject({ downloaded: [jobId], bytes: archive.length });
    // Every entry of the archive is under the job's folder: extracted as named, it lands in dir/<job>/.
    for (const file of readZip(archive)) {
      expect(file.name.startsWith(`${jobId}/`)).toBe(true);
      expect(sha256(await readFile(join(dir, ...file.name.split('/'))))).toBe(sha256(file.data));
    }
    expect((await readdir(dir)).sort()).toEqual(['batch_id.txt', jobId].sort());
  });

  it('retries fetchResult, the in-memory fetch, through a broken body the same way', async () => {
    // Prepare
    const { batchId, jobId } = await completedJob(25);
    const archive = (await storedResult(jobId).read()) ?? new Uint8Array();
    const client = clientThroughProxy();
    const url = (await client.getBatchSummary(batchId)).job_runs[0]?.result_url ?? '';
    proxy.inject(ARCHIVE, { kind: 'cut-body', bytes: Math.floor(archive.length / 2) });

    // Act
    const body = await client.fetchResult(url);

    // Assess
    expect(proxy.count(ARCHIVE)).toBe(2);
    expect(sha256(body)).toBe(sha256(archive));
  });

  it('does not retry a failure to write the archive file', async () => {
    // Prepare
    const { batchId } = await completedJob(23);
    const client = clientThroughProxy();
    const url = (await client.getBatchSummary(batchId)).job_runs[0]?.result_url ?? '';
    const dir = await tempDir();

    // Act
    const error = await client
      .fetchResultToFile(url, join(dir, 'no-such-folder', 'result.zip'))
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ code: 'ENOENT' });
    expect(proxy.count(ARCHIVE)).toBe(1);
  });

  it('fails a job whose archive has a corrupt entry, leaves nothing of it, and gets it on the next run', async () => {
    // Prepare: one byte of a stored PNG flipped, so only its CRC-32 can tell.
    const { batchId, jobId } = await completedJob(24);
    const result = storedResult(jobId);
    const original = (await result.read()) ?? new Uint8Array();
    const corrupt = Buffer.from(original);
    const at = corrupt.indexOf(Buffer.from([0x89, 0x50, 0x4e, 0x47])) + 64;
    corrupt[at] = (corrupt[at] ?? 0) ^ 0xff;
    await result.replace(corrupt);
    const dir = await tempDir();
    const batch = new Batch(clientThroughProxy(), batchId);

    // Act
    const error = await batch.download(dir).catch((caught: unknown) => caught);
    const afterFailure = (await readdir(dir)).sort();
    await result.replace(original);
    const report = await batch.download(dir);

    // Assess
    expect(error).toBeInstanceOf(ArchiveError);
    expect((error as Error).message).toMatch(/CRC-32/);
    expect(afterFailure).toEqual(['batch_id.txt']);
    expect(report.downloaded).toEqual([jobId]);
    expect((await readdir(dir)).sort()).toEqual(['batch_id.txt', jobId].sort());
  });
});
