/**
 * B8, result download (the SDK's transfer throughput): `Batch.download` of
 * a completed batch of `shapes` archives from the local platform, next to the reference, the same
 * objects read straight from the S3 emulator with the AWS SDK's `GetObject`, each body streamed to a
 * file. Every download runs in a fresh process of its own (bench/lib/download-client.ts) while the
 * platform serves from this one, so that each has its own peak memory; project and reference rounds
 * alternate (ABAB) and the throughput ratio is the median of per-round ratios.
 *
 * Memory, seen two ways (bench/lib/download-client.ts says how): the peak RSS a download adds to its
 * process, next to the largest archive and the whole batch; and the peak of live memory (what the
 * code still references), next to the SDK's in-memory path (`fetchResult` + `extractZip`, what
 * `Batch.download` did before it streamed). The resident set also holds dead buffers that V8 has not
 * collected yet, tens of MiB whatever the batch, so below that it cannot tell streaming from
 * buffering; live memory can, at any batch size.
 *
 * The project does more than the reference: it also extracts every entry, verifying its CRC-32, and
 * so writes each byte twice. Absolute rates are informational: only ratios are held to targets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { bareEnv, runNode } from './lib/child.ts';
import type { DownloadMeasurement, DownloadRun, DownloadVariant } from './lib/download-client.ts';
import { fmt, type Row, row } from './lib/rows.ts';
import { ANSWER_PREFIX } from './lib/server-process.ts';
import { bootstrapMedianCi, median, pairedRatios } from './lib/stats.ts';

export interface B8Options {
  /** Standard jobs in the batch; each is one archive. */
  jobs: number;
  framesPerJob: number;
  width: number;
  height: number;
  /** Project/reference rounds (each a fresh process per download). */
  rounds: number;
  /** Archives downloaded at once, by project and reference alike (`Batch.download`'s default is 4). */
  concurrency: number;
  log: (line: string) => void;
}

const MiB = 1024 * 1024;
const CLIENT_SCRIPT = fileURLToPath(new URL('./lib/download-client.ts', import.meta.url));
const UNLIMITED = { perSecond: 1e9, burst: 1e9 };
/** The local platform's development key belongs to this tenant (lambdas/local/platform.ts). */
const DEV_TENANT = 'dev';

/** Renders the batch on a local platform, downloads it in every variant, and returns B8's rows. */
export async function benchDownload(options: B8Options): Promise<Row[]> {
  const [{ startLocalPlatform }, { resultKey }, { ApiClient }, { Batch }] = await Promise.all([
    import('../lambdas/local/platform.ts'),
    import('../lambdas/domain/generation/run-job.ts'),
    import('../sdk/src/api-client.ts'),
    import('../sdk/src/batch.ts'),
  ]);
  const platform = await startLocalPlatform({ port: 0, retryIntervalMs: 0, rateLimit: UNLIMITED });
  const scratch = await mkdtemp(join(tmpdir(), 'synthforge-b8-'));
  try {
    const client = new ApiClient({ baseUrl: platform.url, apiKey: platform.devKey });
    const renderStarted = performance.now();
    const submitted = await client.submitBatch({
      name: 'bench B8',
      job_runs: Array.from({ length: options.jobs }, (_, seed) => ({
        name: 'shapes',
        // Noise makes every PNG incompressible (about 3 bytes a pixel), so the archives are large
        // for the time they take to render, and the download moves what it measures.
        param_values: {
          image_width: options.width,
          image_height: options.height,
          frames: options.framesPerJob,
          background: 'solid',
          noise: 0.5,
          seed,
        },
      })),
    });
    const summary = await new Batch(client, submitted.id).awaitCompletion({
      pollIntervalMs: 100,
      timeoutMs: 600_000,
    });
    const notCompleted = summary.job_runs.filter((job) => job.status !== 'completed');
    if (notCompleted.length > 0) throw new Error(`${notCompleted.length} jobs of the batch did not complete`);
    const keys = summary.job_runs.map((job) => resultKey(DEV_TENANT, job.id));
    const sizes = await Promise.all(
      keys.map(async (key) => {
        const head = await platform.runtime.clients.s3.send(
          new HeadObjectCommand({ Bucket: platform.emulators.bucketName, Key: key }),
        );
        return head.ContentLength ?? 0;
      }),
    );
    const archives = { total: sizes.reduce((sum, size) => sum + size, 0), largest: Math.max(...sizes) };
    options.log(
      `B8: ${options.jobs} archives, ${fmt(archives.total / MiB)} MiB, rendered in ` +
        `${((performance.now() - renderStarted) / 1000).toFixed(1)} s`,
    );

    let downloads = 0;
    const measure = async (variant: DownloadVariant, liveMemory = false): Promise<DownloadMeasurement> => {
      const dir = join(scratch, `${variant}-${downloads++}`);
      const run: DownloadRun = {
        variant,
        dir,
        concurrency: options.concurrency,
        liveMemory,
        api: { url: platform.url, apiKey: platform.devKey, batchId: submitted.id },
        s3: {
          endpoint: platform.emulators.s3Endpoint,
          region: platform.emulators.region,
          bucket: platform.emulators.bucketName,
          keys,
        },
      };
      try {
        const measurement = await downloadInChild(run);
        if (measurement.bytes !== archives.total) {
          throw new Error(`${variant} downloaded ${measurement.bytes} bytes of ${archives.total}`);
        }
        return measurement;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    };

    const project: DownloadMeasurement[] = [];
    const reference: DownloadMeasurement[] = [];
    for (let round = 0; round < options.rounds; round++) {
      if (round % 2 === 0) {
        reference.push(await measure('s3-get'));
        project.push(await measure('sdk-stream'));
      } else {
        project.push(await measure('sdk-stream'));
        reference.push(await measure('s3-get'));
      }
    }
    options.log('B8: throughput rounds done');
    // Live memory barely varies between runs, and these runs' times are not measurements: one each.
    const live = {
      project: await measure('sdk-stream', true),
      buffered: await measure('sdk-buffered', true),
    };
    options.log('B8: live memory runs done');
    return [
      throughputRow(project, reference, archives.total, options),
      liveMemoryRow(live.project, live.buffered, archives),
      ...rssRows(project, reference, archives),
    ];
  } finally {
    await platform.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

async function downloadInChild(run: DownloadRun): Promise<DownloadMeasurement> {
  const flags = run.liveMemory ? ['--expose-gc'] : [];
  const result = await runNode([...flags, '--import', 'tsx', CLIENT_SCRIPT, JSON.stringify(run)], {
    env: bareEnv({ AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }),
    timeoutMs: 600_000,
  });
  const line = result.stdout.split('\n').find((candidate) => candidate.startsWith(ANSWER_PREFIX));
  if (result.code !== 0 || line === undefined) {
    throw new Error(`${run.variant} download exited ${result.code}: ${result.stderr.slice(-500)}`);
  }
  return JSON.parse(line.slice(ANSWER_PREFIX.length)) as DownloadMeasurement;
}

const rate = (run: DownloadMeasurement) => run.bytes / MiB / run.seconds;
const jobRate = (run: DownloadMeasurement) => run.jobs / run.seconds;
const rssGrowth = (run: DownloadMeasurement) => run.rssGrowthBytes / MiB;
const liveGrowth = (run: DownloadMeasurement) => (run.liveGrowthBytes ?? Number.NaN) / MiB;

function throughputRow(
  project: DownloadMeasurement[],
  reference: DownloadMeasurement[],
  totalBytes: number,
  options: B8Options,
): Row {
  const ratios = pairedRatios(project.map(rate), reference.map(rate));
  return row({
    bench: 'B8',
    metric: `Batch.download throughput (${options.jobs} archives, ${fmt(totalBytes / MiB)} MiB, concurrency ${options.concurrency})`,
    unit: 'MiB/s',
    reference: median(reference.map(rate)),
    project: median(project.map(rate)),
    ratio: median(ratios),
    ratioCi: bootstrapMedianCi(ratios),
    // The project writes every byte twice (the archive, then its files) and checks each CRC; the
    // reference writes it once. Half the reference's rate is what that extra work allows.
    target: { kind: 'min', value: 0.5 },
    note:
      `reference = GetObject streamed to files, no extraction; n=${options.rounds} rounds ABAB, ` +
      `fresh process each; ${fmt(median(reference.map(jobRate)))} → ${fmt(median(project.map(jobRate)))} jobs/s`,
  });
}

function liveMemoryRow(
  project: DownloadMeasurement,
  buffered: DownloadMeasurement,
  archives: { total: number; largest: number },
): Row {
  const peak = liveGrowth(project);
  return row({
    bench: 'B8',
    metric: 'Batch.download peak live memory vs the in-memory path (fetchResult + extractZip)',
    unit: 'MiB',
    reference: liveGrowth(buffered),
    project: peak,
    // The in-memory path holds each archive in flight whole; streaming holds a few hundred KiB per
    // job whatever the archive. From archives of a few MiB (both profiles) a quarter leaves room.
    target: { kind: 'max', value: 0.25 },
    note:
      `JS heap + external memory still referenced; streaming = ${fmt(peak / (archives.largest / MiB))}× ` +
      `the largest archive, ${fmt(peak / (archives.total / MiB))}× the whole batch`,
  });
}

function rssRows(
  project: DownloadMeasurement[],
  reference: DownloadMeasurement[],
  archives: { total: number; largest: number },
): Row[] {
  // The worst round: a bound on memory must hold in every run, not in the median one.
  const peak = Math.max(...project.map(rssGrowth));
  const note =
    `worst of ${project.length} runs; GetObject reference ${fmt(Math.max(...reference.map(rssGrowth)))} MiB; ` +
    'includes dead buffers V8 has not collected yet, which pile up to tens of MiB before it does';
  return [
    row({
      bench: 'B8',
      metric: 'Batch.download peak RSS growth vs the largest archive',
      unit: 'MiB',
      reference: archives.largest / MiB,
      project: peak,
      note,
    }),
    row({
      bench: 'B8',
      metric: 'Batch.download peak RSS growth vs the whole batch',
      unit: 'MiB',
      reference: archives.total / MiB,
      project: peak,
      note,
    }),
  ];
}
