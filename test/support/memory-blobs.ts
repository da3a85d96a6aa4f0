/**
 * A data bucket and a jobs store in memory, for the domain's dataset and export tests: the BlobStore
 * port whole (listing in S3's order: the keys' UTF-8 bytes), and the two reads of the JobStore port
 * that datasets make.
 */
import type { JobRecord } from '../../lambdas/domain/jobs/model.ts';
import type { BlobListing, BlobStore, JobStore } from '../../lambdas/domain/ports.ts';

export class MemoryBlobStore implements BlobStore {
  readonly objects = new Map<string, { body: Uint8Array; contentType: string }>();
  readonly reads: string[] = [];
  readonly listings: { prefix: string; after?: string; limit?: number }[] = [];

  constructor(readonly bucket = 'synthforge-data') {}

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    this.objects.set(key, { body, contentType });
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.reads.push(key);
    return this.objects.get(key)?.body;
  }

  async copy(fromKey: string, toKey: string, contentType: string): Promise<{ bytes: number }> {
    const from = this.objects.get(fromKey);
    if (!from) throw new Error(`NoSuchKey: ${fromKey}`);
    this.objects.set(toKey, { body: from.body, contentType });
    return { bytes: from.body.byteLength };
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  async size(key: string): Promise<number | undefined> {
    return this.objects.get(key)?.body.byteLength;
  }

  async list(prefix: string, options: { after?: string; limit?: number } = {}): Promise<BlobListing[]> {
    this.listings.push({ prefix, ...options });
    const after = options.after === undefined ? undefined : Buffer.from(options.after);
    return [...this.objects.keys()]
      .filter((key) => key.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .filter((key) => after === undefined || Buffer.compare(Buffer.from(key), after) > 0)
      .slice(0, options.limit ?? 1000)
      .map((key) => ({ key, bytes: this.objects.get(key)?.body.byteLength ?? 0 }));
  }

  async presignGet(key: string): Promise<string> {
    return `https://${this.bucket}.s3.example/${key}?X-Amz-Signature=get`;
  }

  async presignPut(key: string): Promise<string> {
    return `https://${this.bucket}.s3.example/${key}?X-Amz-Signature=put`;
  }

  /** The object's text (UTF-8), or undefined. */
  text(key: string): string | undefined {
    const object = this.objects.get(key);
    return object === undefined ? undefined : new TextDecoder().decode(object.body);
  }
}

/** The reads of the jobs store that datasets make, over records held in memory. */
export class MemoryJobs implements Pick<JobStore, 'get' | 'listBatchItems'> {
  readonly jobs: JobRecord[] = [];

  add(...jobs: JobRecord[]): void {
    this.jobs.push(...jobs);
  }

  async get(tenant: string, id: string): Promise<JobRecord | undefined> {
    return this.jobs.find((job) => job.tenant === tenant && job.id === id);
  }

  async listBatchItems(tenant: string, batchId: string): Promise<JobRecord[]> {
    return this.jobs
      .filter((job) => job.tenant === tenant && job.batchId === batchId)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }
}
