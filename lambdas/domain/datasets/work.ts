/**
 * The work behind the dataset routes and jobs, over the tenant's images: which images a path or a
 * dataset names (sources.ts), their privacy (the stage's detectors), the exports, and the privacy
 * gate. The service (service.ts) answers requests with it; the datasets machine's step (run-job.ts)
 * runs jobs with it.
 */
import type { ExportJsonlRequest, ExportS3Request, PrivacyResponse } from '../../../contracts/datasets.ts';
import { DomainError } from '../errors.ts';
import {
  exportJsonl,
  type JsonlExportDeps,
  type JsonlExportResult,
  jsonlOutputKey,
} from '../exports/jsonl.ts';
import type { ExportDestination } from '../exports/ports.ts';
import { checkS3ExportRequest, exportToS3, type S3ExportResult } from '../exports/s3-export.ts';
import type { BlobStore } from '../ports.ts';
import { type PrivacyDetectors, validatePrivacy } from '../validation/privacy.ts';
import {
  digestLine,
  imagesDigest,
  type PrivacyGateRecord,
  readPrivacyGate,
  writePrivacyGate,
} from './privacy-gate.ts';
import {
  type Dataset,
  type DatasetSourceDeps,
  type ResolvedImage,
  resolveDataset,
  resolveImage,
} from './sources.ts';

export interface DatasetWorkSettings {
  /** Which detectors find faces and text: AWS's services, or the bundled models. */
  detectors: PrivacyResponse['detectors'];
  /** The stage lets exports write objects anyone can read (`public_read: true`). */
  allowPublicRead: boolean;
  /**
   * The buckets exports may write to (the export role's own policy names the same buckets in AWS,
   * lib/families/datasets.ts), or `any` locally, where the emulator's buckets are all the user's.
   */
  exportBuckets: readonly string[] | 'any';
  /**
   * The tenants that may export to a listed bucket, by bucket; a bucket not named here takes every
   * tenant of the stage. One role writes every export, so this is what keeps one tenant's exports
   * out of another's bucket.
   */
  exportBucketTenants?: Readonly<Record<string, readonly string[]>>;
  /** Every export needs the dataset to have passed a privacy validation first (the privacy gate). */
  requirePrivacyValidation: boolean;
}

export interface DatasetWorkDeps extends DatasetSourceDeps {
  blobs: Pick<BlobStore, 'bucket' | 'get' | 'size' | 'list' | 'put'>;
  /** Built on first use: the bundled models load in seconds, and only privacy checks need them. */
  privacyDetectors: () => PrivacyDetectors;
  destination: () => ExportDestination;
  settings: DatasetWorkSettings;
}

export { type PrivacyGateRecord, privacyGateKey } from './privacy-gate.ts';

export class DatasetWork {
  readonly sources: {
    image(tenant: string, path: string): Promise<ResolvedImage>;
    dataset(tenant: string, dir: string): Promise<Dataset>;
    count(tenant: string, dir: string): Promise<number>;
  };

  constructor(private readonly deps: DatasetWorkDeps) {
    this.sources = {
      image: (tenant, path) => resolveImage(deps, tenant, path),
      dataset: (tenant, dir) => resolveDataset(deps, tenant, dir),
      count: async (tenant, dir) => (await resolveDataset(deps, tenant, dir)).count,
    };
  }

  get settings(): DatasetWorkSettings {
    return this.deps.settings;
  }

  /** One image's privacy, with the detectors the stage chose. */
  async privacy(
    image: ResolvedImage,
    options: { checkFaces: boolean; checkText: boolean },
  ): Promise<Omit<PrivacyResponse, 'image_path'>> {
    const bytes = await image.bytes();
    const stored = storedObject(this.deps.blobs.bucket, image.uri);
    const report = await validatePrivacy(
      bytes,
      { ...options, ...(stored ? { stored } : {}) },
      this.deps.privacyDetectors(),
    );
    return { ...report, detectors: this.deps.settings.detectors };
  }

  /** Refuses a JSONL export's request before anything is read (its output name). */
  checkJsonlRequest(request: ExportJsonlRequest): void {
    jsonlOutputKey('tenant', request.output_file);
  }

  /** Refuses an S3 export's request before anything is read: its bucket, prefix and public_read. */
  checkS3Request(request: ExportS3Request, tenant?: string): void {
    checkS3ExportRequest(request, {
      allowPublicRead: this.deps.settings.allowPublicRead,
      dataBucket: this.deps.blobs.bucket,
    });
    const allowed = this.deps.settings.exportBuckets;
    if (allowed !== 'any' && !allowed.includes(request.bucket_name)) {
      throw new DomainError(
        'FORBIDDEN',
        `bucket ${request.bucket_name} is not one this stage exports to: its operator adds it to the stage's datasets.exportBuckets`,
        { parameter: 'bucket_name', value: request.bucket_name, allowed },
      );
    }
    const tenants = this.deps.settings.exportBucketTenants?.[request.bucket_name];
    if (tenants && (tenant === undefined || !tenants.includes(tenant))) {
      throw new DomainError(
        'FORBIDDEN',
        `bucket ${request.bucket_name} takes the exports of other tenants: its operator names yours in the stage's datasets.exportBucketTenants`,
        { parameter: 'bucket_name', value: request.bucket_name },
      );
    }
  }

  /**
   * The privacy gate: where the stage (or the request) requires it, a dataset is exported only once
   * a privacy validation of it has passed over the images it holds now: a batch that grew, or an
   * image replaced since, is validated again.
   */
  async checkGate(tenant: string, datasetDir: string, required: boolean, resolved?: Dataset): Promise<void> {
    if (!required && !this.deps.settings.requirePrivacyValidation) return;
    const dataset = resolved ?? (await resolveDataset(this.deps, tenant, datasetDir));
    const gate = await this.gate(tenant, dataset.uri);
    const validate = 'validate it with POST /api/v1/validate/batch (privacy: true) first';
    if (!gate) throw gateClosed(datasetDir, `it has not passed a privacy validation: ${validate}`);
    if (!gate.passed) throw gateClosed(datasetDir, `its privacy validation (job ${gate.job_id}) failed`);
    if (gate.image_count !== dataset.count) {
      throw gateClosed(
        datasetDir,
        `it holds ${dataset.count} images, and its privacy validation (job ${gate.job_id}) saw ${gate.image_count}: ${validate}`,
      );
    }
    if (gate.images_digest !== undefined) {
      const lines: string[] = [];
      for await (const image of dataset.images()) lines.push(digestLine(image));
      if (imagesDigest(lines) !== gate.images_digest) {
        throw gateClosed(
          datasetDir,
          `its images changed since its privacy validation (job ${gate.job_id}): ${validate}`,
        );
      }
    }
  }

  gate(tenant: string, datasetUri: string): Promise<PrivacyGateRecord | undefined> {
    return readPrivacyGate(this.deps.blobs, tenant, datasetUri);
  }

  recordGate(tenant: string, record: PrivacyGateRecord): Promise<void> {
    return writePrivacyGate(this.deps.blobs, tenant, record);
  }

  exportJsonl(
    tenant: string,
    request: ExportJsonlRequest,
    onProgress?: (done: number, total: number) => Promise<void>,
  ): Promise<JsonlExportResult> {
    const deps: JsonlExportDeps = this.deps;
    return exportJsonl(deps, tenant, request, onProgress ? { onProgress } : {});
  }

  exportS3(
    tenant: string,
    request: ExportS3Request,
    onProgress?: (done: number, total: number) => Promise<void>,
  ): Promise<S3ExportResult> {
    return exportToS3({ ...this.deps, destination: this.deps.destination() }, tenant, request, {
      allowPublicRead: this.deps.settings.allowPublicRead,
      ...(onProgress ? { onProgress } : {}),
    });
  }
}

function gateClosed(datasetDir: string, why: string): DomainError {
  return new DomainError('ILLEGAL_STATE', `dataset ${datasetDir} cannot be exported: ${why}`, {
    dataset_dir: datasetDir,
    privacy_gate: 'required',
  });
}

/** The bucket and key of an image stored as an object of the data bucket; undefined for a frame in an archive. */
function storedObject(bucket: string, uri: string): { bucket: string; key: string } | undefined {
  const prefix = `s3://${bucket}/`;
  return uri.startsWith(prefix) ? { bucket, key: uri.slice(prefix.length) } : undefined;
}
