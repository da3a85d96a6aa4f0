/**
 * What the dataset routes and their jobs need besides the jobs engine and the data bucket: pixels
 * from image bytes (sharp in the adapter; the domain does arithmetic only), and the workflow that
 * runs their jobs (statemachines/datasets.asl.json).
 */
import type { ExecutionInput, Workflow } from '../ports.ts';
import type { Pixels } from '../validation/quality.ts';

/** Decoded pixels, and the format the bytes were in. */
export interface DecodedImage extends Pixels {
  format: 'png' | 'jpeg' | 'gif' | 'webp';
}

export interface PixelDecoder {
  /**
   * 8-bit pixels of the image's first frame; a DomainError INVALID_PARAMETERS (400) when the bytes
   * are no PNG, JPEG, GIF or WebP, or hold more pixels than the decoder takes.
   */
  decode(bytes: Uint8Array): Promise<DecodedImage>;
}

export interface DatasetExecutionInput extends ExecutionInput {
  /** The job's id: it names the execution. */
  jobId: string;
}

/** The job a dataset execution runs. */
export const datasetJobId = (input: DatasetExecutionInput): string => input.jobId;

export type DatasetsWorkflow = Workflow<DatasetExecutionInput>;

/** Where a dataset job keeps what it has done and its answer: under its tenant, like every key. */
export const datasetJobKeys = (tenant: string, jobId: string) => ({
  /** What the slices so far have done (run-job.ts), rewritten after each slice. */
  progress: `${tenant}/dataset-jobs/${jobId}/progress.json`,
  /** The route's answer (a validation report, an export's answer). */
  result: `${tenant}/dataset-jobs/${jobId}/result.json`,
});
