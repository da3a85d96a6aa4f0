/**
 * Downloads a batch's results, one folder per job with its ZIP extracted, as seed 000's client does:
 * resumable, in parallel, and refusing to mix two batches in one folder.
 *
 * Layout of `dir`:
 *   batch_id.txt            the batch this folder belongs to
 *   <jobId>/                one completed job's archive, extracted; a model's image as image.png
 *                           (an archive holds a folder named after its job: that folder is <jobId>/)
 *   <jobId>/.complete       written last: the job's folder is whole and is skipped next time
 *   .<jobId>.zip.partial    a job's archive as it downloads; removed once extracted
 *   .<jobId>.partial/       a job being extracted; renamed to <jobId>/ once whole
 *
 * An archive streams to its file and is extracted from there entry by entry, so memory holds a few
 * buffers per job in flight, whatever the archives' sizes.
 */
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiClient, DownloadRequestOptions } from './api-client.ts';
import { BatchFolderMismatchError } from './errors.ts';
import { forEachConcurrently } from './pool.ts';
import type { BatchSummary, BatchSummaryJob } from './resources.ts';
import { extractZipFile } from './unzip.ts';

/** The file in a download folder naming its batch. */
export const BATCH_MARKER_FILE = 'batch_id.txt';
/** The file in a job folder saying that its extraction finished. */
export const JOB_COMPLETE_MARKER = '.complete';

/** Options of `Batch.download`. */
export interface DownloadOptions {
  /** Jobs downloaded at once. Default 4. */
  concurrency?: number;
  /** Called after each job is downloaded or found already there. A throw stops the download. */
  onProgress?: (progress: DownloadProgress) => void | Promise<void>;
  /**
   * Called with the length of each chunk of archive data as it arrives, from every job downloading
   * at once, so that a progress bar can show bytes and rate while a large archive downloads
   * (`onProgress` comes only once a job is whole). A chunk of an attempt that breaks off and is
   * retried was counted already: the retry counts the archive again from its start, so the sum can
   * exceed `DownloadReport.bytes`. A throw stops the download.
   */
  onBytes?: (bytes: number) => void;
  signal?: AbortSignal;
  /** Per archive request. Default 5 minutes. */
  timeoutMs?: number;
}

/** One step of a download. */
export interface DownloadProgress {
  jobId: string;
  /** `skipped`: its folder was already complete. */
  outcome: 'downloaded' | 'skipped';
  /** The archive's size in bytes (0 when skipped). */
  bytes: number;
  /** Jobs handled so far, this one included, and the number to handle. */
  done: number;
  total: number;
  /** Archive bytes downloaded so far. */
  totalBytes: number;
}

/** What a download did. */
export interface DownloadReport {
  batchId: string;
  dir: string;
  /** Jobs downloaded now. */
  downloaded: string[];
  /** Jobs whose folder was already complete. */
  skipped: string[];
  /** Jobs with no result to download: failed, cancelled, or not finished yet. */
  unavailable: Pick<BatchSummaryJob, 'id' | 'status'>[];
  /** Archive bytes downloaded now. */
  bytes: number;
}

/** Downloads every completed job of `batchId` into `dir`; see the module comment for the layout. */
export async function downloadBatch(
  client: ApiClient,
  batchId: string,
  dir: string,
  options: DownloadOptions = {},
): Promise<DownloadReport> {
  const signal = options.signal;
  // Read first: an unknown batch is a 404 before the folder is marked as its own.
  const links = new ResultLinks(
    client,
    batchId,
    await client.getBatchSummary(batchId, signal ? { signal } : {}),
  );
  await mkdir(dir, { recursive: true });
  await claimFolder(dir, batchId);

  const ready = links.jobs.filter((job) => job.status === 'completed' && job.result_url !== null);
  const report: DownloadReport = {
    batchId,
    dir,
    downloaded: [],
    skipped: [],
    unavailable: links.jobs.filter((job) => !ready.includes(job)).map(({ id, status }) => ({ id, status })),
    bytes: 0,
  };
  const progress = async (jobId: string, outcome: DownloadProgress['outcome'], bytes: number) => {
    (outcome === 'downloaded' ? report.downloaded : report.skipped).push(jobId);
    report.bytes += bytes;
    const done = report.downloaded.length + report.skipped.length;
    await options.onProgress?.({
      jobId,
      outcome,
      bytes,
      done,
      total: ready.length,
      totalBytes: report.bytes,
    });
  };

  await forEachConcurrently(ready, options.concurrency ?? 4, async (job) => {
    signal?.throwIfAborted();
    // Job ids are ULIDs (the contract's JobId pattern), so they are safe as folder names.
    const jobDir = join(dir, job.id);
    if (await exists(join(jobDir, JOB_COMPLETE_MARKER))) return progress(job.id, 'skipped', 0);
    const bytes = await downloadJob(client, await links.urlFor(job.id), dir, batchId, job.id, {
      signal,
      timeoutMs: options.timeoutMs,
      onBytes: options.onBytes,
    });
    return progress(job.id, 'downloaded', bytes);
  });
  return report;
}

/**
 * Marks `dir` as `batchId`'s, or checks that it already is. The marker is created exclusively, so
 * two downloads of different batches racing into one folder cannot both claim it.
 */
async function claimFolder(dir: string, batchId: string): Promise<void> {
  const marker = join(dir, BATCH_MARKER_FILE);
  try {
    await writeFile(marker, `${batchId}\n`, { flag: 'wx' });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const existing = (await readFile(marker, 'utf8')).trim();
  if (existing !== batchId) throw new BatchFolderMismatchError(dir, batchId, existing);
}

/**
 * Streams a job's archive to `.<jobId>.zip.partial` (replacing one an interrupted run left), then
 * extracts it into a staging folder that is renamed into place once whole, so that `<jobId>/` exists
 * only complete. A job that fails takes its archive and staging folder with it; one that is
 * interrupted leaves them for the next run to replace. Resolves with the archive's size.
 */
async function downloadJob(
  client: ApiClient,
  url: string,
  dir: string,
  batchId: string,
  jobId: string,
  request: DownloadRequestOptions,
): Promise<number> {
  const archive = join(dir, `.${jobId}.zip.partial`);
  const staging = join(dir, `.${jobId}.partial`);
  const target = join(dir, jobId);
  try {
    const bytes = await client.fetchResultToFile(url, archive, request);
    await rm(staging, { recursive: true, force: true });
    const files = await unpackResult(archive, staging);
    // A result archive holds one folder named after its job, so that any number extract into one
    // folder side by side (seed 000's client extracts them so); archives written before that did
    // not, and their files are the job's folder themselves.
    const prefix = `${jobId}/`;
    const inFolder = files.length > 0 && files.every((file) => file.name.startsWith(prefix));
    const jobFolder = inFolder ? join(staging, jobId) : staging;
    const names = files.map((file) => (inFolder ? file.name.slice(prefix.length) : file.name));
    const marker = { batch_id: batchId, job_id: jobId, files: names, bytes };
    await writeFile(join(jobFolder, JOB_COMPLETE_MARKER), `${JSON.stringify(marker, null, 2)}\n`);
    // A folder without its marker is an earlier, unfinished attempt (or a stray copy): replaced.
    await rm(target, { recursive: true, force: true });
    await rename(jobFolder, target);
    if (inFolder) await rm(staging, { recursive: true, force: true });
    return bytes;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  } finally {
    await rm(archive, { force: true });
  }
}

/** A PNG's first bytes: the result of a job on a model endpoint is one image, not an archive. */
const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/**
 * A job's downloaded result into `staging`: a ZIP archive (procedural generators) extracted, a PNG
 * (models) moved in as `image.png`. Told apart by their first bytes, which are the formats' own.
 */
async function unpackResult(downloaded: string, staging: string): Promise<{ name: string }[]> {
  const handle = await open(downloaded, 'r');
  const head = new Uint8Array(PNG_SIGNATURE.length);
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  if (!head.every((byte, index) => byte === PNG_SIGNATURE[index])) return extractZipFile(downloaded, staging);
  await mkdir(staging, { recursive: true });
  await rename(downloaded, join(staging, 'image.png'));
  return [{ name: 'image.png' }];
}

/**
 * The result links of a batch. A link lives `result_url_expires_in` seconds; once half of that has
 * passed, the summary is read again so that a long download never uses an expired link.
 */
class ResultLinks {
  #summary: BatchSummary;
  #readAtMs = Date.now();
  #reading: Promise<BatchSummary> | undefined;

  constructor(
    private readonly client: ApiClient,
    private readonly batchId: string,
    summary: BatchSummary,
  ) {
    this.#summary = summary;
  }

  get jobs(): BatchSummaryJob[] {
    return this.#summary.job_runs;
  }

  async urlFor(jobId: string): Promise<string> {
    const halfLifeMs = (this.#summary.result_url_expires_in * 1000) / 2;
    if (Date.now() - this.#readAtMs > halfLifeMs) {
      // One read shared by every worker that finds the links stale at the same time.
      this.#reading ??= this.client.getBatchSummary(this.batchId).finally(() => {
        this.#reading = undefined;
      });
      this.#summary = await this.#reading;
      this.#readAtMs = Date.now();
    }
    const url = this.#summary.job_runs.find((job) => job.id === jobId)?.result_url;
    if (!url) throw new Error(`job ${jobId} of batch ${this.batchId} has no result link any more`);
    return url;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
