/**
 * One download of a completed batch's archives, in a process of its own (B8), so that its memory is
 * its own and not the platform's: `node [--expose-gc] --import tsx download-client.ts '<DownloadRun>'`.
 * Prints one answer line (ANSWER_PREFIX + DownloadMeasurement) and exits.
 *
 * Variants:
 * - `sdk-stream`: `Batch.download`, the project (each archive streamed to a file, then extracted).
 * - `s3-get`: the reference: each archive read straight from the S3 emulator with `GetObject`, its
 *   body streamed to a file (no extraction), at the same concurrency.
 * - `sdk-buffered`: the SDK's in-memory path, as `Batch.download` did before it streamed: each
 *   archive fetched whole with `fetchResult`, then extracted with `extractZip`.
 *
 * Memory is seen two ways. The resident set is what the system sees; it includes buffers that are
 * dead but not yet collected, which V8 lets reach tens of megabytes before it collects them. Live
 * memory (`liveMemory` runs, which need --expose-gc) is what the code still holds: the collector is
 * run whenever the counters have grown by LIVE_STEP_BYTES since the last collection, so its peak is
 * known to within that step. Those collections slow the download: their time is not a measurement.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { createAwsClients } from '../../lambdas/adapters/clients.ts';
import { ApiClient } from '../../sdk/src/api-client.ts';
import { Batch } from '../../sdk/src/batch.ts';
import { forEachConcurrently } from '../../sdk/src/pool.ts';
import { extractZip } from '../../sdk/src/unzip.ts';
import { answer } from './server-process.ts';

export type DownloadVariant = 'sdk-stream' | 's3-get' | 'sdk-buffered';

export interface DownloadRun {
  variant: DownloadVariant;
  /** A fresh folder to download into. */
  dir: string;
  concurrency: number;
  /** Track live memory (the process must run with --expose-gc). */
  liveMemory: boolean;
  api: { url: string; apiKey: string; batchId: string };
  s3: { endpoint: string; region: string; bucket: string; keys: string[] };
}

export interface DownloadMeasurement {
  seconds: number;
  /** Archive bytes downloaded. */
  bytes: number;
  jobs: number;
  /** Peak resident set size while downloading, less what it was just before. */
  rssGrowthBytes: number;
  /** `liveMemory` runs: peak of JS heap plus external (buffer) memory still referenced, less the start. */
  liveGrowthBytes?: number;
}

const SAMPLE_MS = 2;
const LIVE_STEP_BYTES = 2 * 1024 * 1024;

const run = JSON.parse(process.argv[2] ?? '') as DownloadRun;
const client = new ApiClient({ baseUrl: run.api.url, apiKey: run.api.apiKey });
const s3 = createAwsClients({
  region: run.s3.region,
  endpoints: { s3: run.s3.endpoint },
  timeouts: { requestMs: 300_000 },
}).s3;

async function download(): Promise<{ bytes: number; jobs: number }> {
  switch (run.variant) {
    case 'sdk-stream': {
      const report = await new Batch(client, run.api.batchId).download(run.dir, {
        concurrency: run.concurrency,
      });
      return { bytes: report.bytes, jobs: report.downloaded.length };
    }
    case 's3-get': {
      await mkdir(run.dir, { recursive: true });
      let bytes = 0;
      await forEachConcurrently(run.s3.keys, run.concurrency, async (key) => {
        const object = await s3.send(new GetObjectCommand({ Bucket: run.s3.bucket, Key: key }));
        const file = createWriteStream(join(run.dir, key.replaceAll('/', '_')));
        await pipeline(object.Body as Readable, file);
        bytes += file.bytesWritten;
      });
      return { bytes, jobs: run.s3.keys.length };
    }
    case 'sdk-buffered': {
      const summary = await client.getBatchSummary(run.api.batchId);
      let bytes = 0;
      await forEachConcurrently(summary.job_runs, run.concurrency, async (job) => {
        const archive = await client.fetchResult(job.result_url ?? '');
        await extractZip(archive, join(run.dir, job.id));
        bytes += archive.length;
      });
      return { bytes, jobs: summary.job_runs.length };
    }
  }
}

/**
 * One small request first, answered by the same server and client: connection pools, lazily loaded
 * modules and the JIT warm up outside the measurement, which then sees what the data costs.
 */
async function warmUp(): Promise<void> {
  if (run.variant === 's3-get') {
    await s3.send(new HeadObjectCommand({ Bucket: run.s3.bucket, Key: run.s3.keys[0] }));
  } else {
    await client.getBatchSummary(run.api.batchId);
  }
}

/** Peaks of the resident set and, when asked, of live memory, sampled every SAMPLE_MS. */
function trackMemory(liveMemory: boolean) {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (liveMemory && gc === undefined) throw new Error('liveMemory runs need node --expose-gc');
  const counted = () => {
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.external;
  };
  const live = () => {
    // Twice: backing stores of buffers found dead by one collection are freed by the next.
    gc?.();
    gc?.();
    return counted();
  };
  const rssBefore = process.memoryUsage.rss();
  const liveBefore = liveMemory ? live() : 0;
  let rssPeak = rssBefore;
  let livePeak = liveBefore;
  let lastLive = liveBefore;
  const sample = () => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    if (liveMemory && counted() - lastLive >= LIVE_STEP_BYTES) {
      lastLive = live();
      livePeak = Math.max(livePeak, lastLive);
    }
  };
  const timer = setInterval(sample, SAMPLE_MS);
  return () => {
    clearInterval(timer);
    sample();
    return {
      rssGrowthBytes: rssPeak - rssBefore,
      ...(liveMemory ? { liveGrowthBytes: livePeak - liveBefore } : {}),
    };
  };
}

await warmUp();
const stopTracking = trackMemory(run.liveMemory);
const started = performance.now();
const { bytes, jobs } = await download();
const seconds = (performance.now() - started) / 1000;
const memory = stopTracking();
s3.destroy();
answer({ seconds, bytes, jobs, ...memory } satisfies DownloadMeasurement);
