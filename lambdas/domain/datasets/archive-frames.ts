/**
 * The images inside a generation job's result: its ZIP (lambdas/domain/generation/run-job.ts) holds
 * every entry under a folder named after the job, the frames as `<job>/frames/frame_0000.png` (or the
 * identity crops as `<job>/identities/id_0000/crop_0000.png`) and, for scenes, their COCO annotations
 * in `<job>/annotations.json`, whose `file_name`s are relative to that folder
 * (lambdas/domain/generators/shapes/shapes-generator.ts).
 */
import { ArchiveError, zipEntries } from '../archive/unzip.ts';
import type { CocoAnnotation, CocoCategory, CocoDataset } from '../generators/shapes/coco.ts';
import type { JobRecord } from '../jobs/model.ts';
import type { BlobStore } from '../ports.ts';
import { imageTypeOfName } from './paths.ts';

/** One image of a job's archive. */
export interface ArchiveFrame {
  /** Relative to the job's folder: `frames/frame_0000.png`. */
  entry: string;
  size: number;
  /** Its COCO annotations and the categories they use; absent when the archive has none (identity crops). */
  annotations?: { annotations: CocoAnnotation[]; categories: CocoCategory[] };
  /** The frame's bytes, checked against the archive's CRC-32. */
  read(): Uint8Array;
}

const ANNOTATIONS_ENTRY = 'annotations.json';

/** A completed job's result archive, read whole from the data bucket. */
export async function readArchive(
  blobs: Pick<BlobStore, 'get'>,
  job: Pick<JobRecord, 'id' | 'result'>,
): Promise<Uint8Array> {
  const key = job.result?.key;
  const archive = key === undefined ? undefined : await blobs.get(key);
  // The job says it completed with this result: a missing object is the platform's fault, not a 404.
  if (archive === undefined) throw new Error(`the result of job ${job.id} is missing from the data bucket`);
  return archive;
}

/** The images of a job's archive, in the archive's order (by name), each with its annotations. */
export function archiveFrames(archive: Uint8Array, jobId: string): ArchiveFrame[] {
  const folder = `${jobId}/`;
  const entries = zipEntries(archive).filter((entry) => entry.name.startsWith(folder));
  const annotationsEntry = entries.find((entry) => entry.name === `${folder}${ANNOTATIONS_ENTRY}`);
  const annotations = annotationsEntry ? annotationsByFile(annotationsEntry.read()) : undefined;
  return entries
    .filter((entry) => imageTypeOfName(entry.name) !== undefined)
    .map((entry) => {
      const name = entry.name.slice(folder.length);
      const own = annotations?.get(name);
      return {
        entry: name,
        size: entry.size,
        ...(own ? { annotations: own } : {}),
        read: entry.read,
      };
    });
}

/** Each image's annotations, by its `file_name`, with only the categories they use. */
function annotationsByFile(bytes: Uint8Array): Map<string, NonNullable<ArchiveFrame['annotations']>> {
  let coco: CocoDataset;
  try {
    coco = JSON.parse(new TextDecoder().decode(bytes)) as CocoDataset;
  } catch (error) {
    throw new ArchiveError(`${ANNOTATIONS_ENTRY} is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(coco.images) || !Array.isArray(coco.annotations) || !Array.isArray(coco.categories)) {
    throw new ArchiveError(`${ANNOTATIONS_ENTRY} is not a COCO dataset (images, annotations, categories)`);
  }
  const categories = new Map(coco.categories.map((category) => [category.id, category]));
  const byImage = new Map<number, CocoAnnotation[]>();
  for (const annotation of coco.annotations) {
    const list = byImage.get(annotation.image_id) ?? [];
    list.push(annotation);
    byImage.set(annotation.image_id, list);
  }
  const byFile = new Map<string, NonNullable<ArchiveFrame['annotations']>>();
  for (const image of coco.images) {
    const own = byImage.get(image.id) ?? [];
    const used = [...new Set(own.map((annotation) => annotation.category_id))]
      .sort((a, b) => a - b)
      .flatMap((id) => {
        const category = categories.get(id);
        return category ? [category] : [];
      });
    byFile.set(image.file_name, { annotations: own, categories: used });
  }
  return byFile;
}
