/**
 * The privacy gate (seed 001, issue 15): a dataset whose images all passed a privacy validation is
 * recorded as such, one object per dataset named by its canonical URI (a batch's id, a prefix's
 * `s3://` URI). Exports check it where the stage or the request requires it (work.ts); where the
 * stage requires it, the images of a batch are linked only once it passed (images/present.ts).
 */
import { createHash } from 'node:crypto';
import type { BlobStore } from '../ports.ts';

/** What a privacy validation of a dataset left for the gate. */
export interface PrivacyGateRecord {
  dataset: string;
  job_id: string;
  passed: boolean;
  image_count: number;
  /**
   * SHA-256 over the validated images' URIs and sizes (imagesDigest): an image replaced since, or
   * one removed and another added, changes it. Absent in records written before it existed.
   */
  images_digest?: string;
  validated_at: string;
}

/** One image as the gate's digest counts it. */
export const digestLine = (image: { uri: string; size: number }) => `${image.uri}\t${image.size}`;

/** The digest of a set of images, in any order: their sorted lines (digestLine) hashed. */
export function imagesDigest(lines: readonly string[]): string {
  return createHash('sha256')
    .update([...lines].sort().join('\n'), 'utf8')
    .digest('hex');
}

/** Where the gate of a dataset is recorded. */
export const privacyGateKey = (tenant: string, datasetUri: string) =>
  `${tenant}/dataset-jobs/privacy-gates/${encodeURIComponent(datasetUri)}.json`;

export async function readPrivacyGate(
  blobs: Pick<BlobStore, 'get'>,
  tenant: string,
  datasetUri: string,
): Promise<PrivacyGateRecord | undefined> {
  const bytes = await blobs.get(privacyGateKey(tenant, datasetUri));
  return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as PrivacyGateRecord) : undefined;
}

export async function writePrivacyGate(
  blobs: Pick<BlobStore, 'put'>,
  tenant: string,
  record: PrivacyGateRecord,
): Promise<void> {
  await blobs.put(
    privacyGateKey(tenant, record.dataset),
    new TextEncoder().encode(JSON.stringify(record)),
    'application/json',
  );
}

/**
 * Whether an image finished at `finishedAt` in the dataset `datasetUri` may be linked: its dataset
 * passed a privacy validation made after the image existed.
 */
export async function imageCleared(
  blobs: Pick<BlobStore, 'get'>,
  tenant: string,
  datasetUri: string,
  finishedAt: string | undefined,
): Promise<boolean> {
  const gate = await readPrivacyGate(blobs, tenant, datasetUri);
  if (!gate?.passed) return false;
  return finishedAt === undefined || Date.parse(gate.validated_at) >= Date.parse(finishedAt);
}
