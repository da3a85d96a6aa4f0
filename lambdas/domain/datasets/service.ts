/**
 * Seed 001's dataset routes: one image's quality and privacy at once, and the work on many images
 * (a dataset's validation, a profile, an export too large for the request) as jobs of the datasets
 * machine. Every image is one of the tenant's (sources.ts decides, and answers 404 for any other);
 * every key written starts with the tenant.
 */
import type {
  BatchValidationRequest,
  CreateProfileRequest,
  DatasetJobAccepted,
  ExportJsonlRequest,
  ExportJsonlResponse,
  ExportS3Request,
  ExportS3Response,
  PrivacyRequest,
  PrivacyResponse,
  Profile,
  ProfileList,
  QualityRequest,
  QualityResponse,
} from '../../../contracts/datasets.ts';
import { DomainError } from '../errors.ts';
import type { JobsEngine } from '../jobs/engine.ts';
import { storeAndStart } from '../jobs/start.ts';
import type { BlobStore, Clock } from '../ports.ts';
import { qualityMetrics } from '../validation/quality.ts';
import { assessQuality } from '../validation/quality-score.ts';
import type { DatasetJobRecord, ImageExportParams } from './job-record.ts';
import type { DatasetsWorkflow, PixelDecoder } from './ports.ts';
import type { ProfileStore } from './profiles.ts';
import type { DatasetWork } from './work.ts';

/** What a dataset job is asked to do: its kind and its request, kind by kind. */
type DatasetWorkOrder = DatasetJobRecord extends infer R
  ? R extends DatasetJobRecord
    ? Pick<R, 'kind' | 'params'>
    : never
  : never;

export interface DatasetsSettings {
  /** Images an export writes within the request; a larger one runs as a job (202). */
  syncExportLimit: number;
}

/** What signs the link to a JSONL export answered within the request. */
export interface ExportLinks {
  blobs: Pick<BlobStore, 'bucket' | 'presignGet'>;
  ttlSeconds: number;
}

export interface DatasetsDeps {
  /** Read on use: only the routes that start jobs need them. */
  jobs: { readonly engine: JobsEngine; readonly workflow: DatasetsWorkflow };
  work: DatasetWork;
  decoder: PixelDecoder;
  profiles: ProfileStore;
  clock: Clock;
  newId: () => string;
  settings: DatasetsSettings;
  links: ExportLinks;
}

export class DatasetsService {
  constructor(private readonly deps: DatasetsDeps) {}

  /** `POST /validate/quality`: the image's metrics against the request's thresholds. */
  async validateQuality(tenant: string, request: QualityRequest): Promise<QualityResponse> {
    const image = await this.deps.work.sources.image(tenant, request.image_path);
    const pixels = await this.deps.decoder.decode(await image.bytes());
    const assessment = assessQuality(qualityMetrics(pixels), request.metrics, request.thresholds);
    return {
      image_path: request.image_path,
      quality_score: assessment.quality_score,
      metrics: assessment.metrics,
      passed: assessment.passed,
      checks: assessment.checks,
      width: pixels.width,
      height: pixels.height,
    };
  }

  /** `POST /validate/privacy`: faces, text and personal data, each finding with its region. */
  async validatePrivacy(tenant: string, request: PrivacyRequest): Promise<PrivacyResponse> {
    const image = await this.deps.work.sources.image(tenant, request.image_path);
    const report = await this.deps.work.privacy(image, {
      checkFaces: request.check_faces,
      checkText: request.check_text,
    });
    return { image_path: request.image_path, ...report };
  }

  /** `POST /validate/batch`: every image of the dataset, as a job. */
  async submitValidation(tenant: string, request: BatchValidationRequest): Promise<DatasetJobAccepted> {
    const count = await this.deps.work.sources.count(tenant, request.dataset_dir);
    return this.#start(
      tenant,
      { kind: 'image-validation', params: request },
      count,
      `validate ${count} images of ${request.dataset_dir}`,
    );
  }

  /** `GET /profiles`: each profile's summary (its statistics are on `GET /profiles/{name}`). */
  async listProfiles(tenant: string): Promise<ProfileList> {
    const profiles = await this.deps.profiles.list(tenant);
    return {
      profiles: profiles.map(({ name, created_at, sample_count, path }) => ({
        name,
        created_at,
        sample_count,
        path,
      })),
    };
  }

  getProfile(tenant: string, name: string): Promise<Profile> {
    return this.deps.profiles.get(tenant, name);
  }

  /** `POST /profiles`: the statistics of the source's images, as a job; the profile is written when it ends. */
  async submitProfile(tenant: string, request: CreateProfileRequest): Promise<DatasetJobAccepted> {
    const source = 'batch_id' in request.source ? request.source.batch_id : request.source.s3_prefix;
    const count = await this.deps.work.sources.count(tenant, source);
    return this.#start(
      tenant,
      { kind: 'image-profile', params: request },
      count,
      `profile ${request.name} from ${count} images of ${source}`,
    );
  }

  /** `POST /export/jsonl`: within the request when the dataset is small, else as a job (202). */
  async exportJsonl(
    tenant: string,
    request: ExportJsonlRequest,
  ): Promise<ExportJsonlResponse | { accepted: DatasetJobAccepted }> {
    this.deps.work.checkJsonlRequest(request);
    return this.#export(tenant, { format: 'jsonl', request }, async () => {
      const result = await this.deps.work.exportJsonl(tenant, request);
      const { blobs, ttlSeconds } = this.deps.links;
      const key = result.output_file.slice(`s3://${blobs.bucket}/`.length);
      const name = key.slice(key.lastIndexOf('/') + 1);
      return { ...result, output_url: await blobs.presignGet(key, ttlSeconds, name) };
    });
  }

  /** `POST /export/s3`: to the user's bucket, within the request when small, else as a job (202). */
  async exportS3(
    tenant: string,
    request: ExportS3Request,
  ): Promise<ExportS3Response | { accepted: DatasetJobAccepted }> {
    this.deps.work.checkS3Request(request, tenant);
    return this.#export(tenant, { format: 's3', request }, () => this.deps.work.exportS3(tenant, request));
  }

  async #export<T>(
    tenant: string,
    params: ImageExportParams,
    now: () => Promise<T>,
  ): Promise<T | { accepted: DatasetJobAccepted }> {
    const dir = params.request.dataset_dir;
    // Resolved once for the gate and the count (a batch's jobs are one query, a prefix a listing).
    const dataset = await this.deps.work.sources.dataset(tenant, dir);
    await this.deps.work.checkGate(tenant, dir, params.request.require_privacy_validation, dataset);
    const { count } = dataset;
    if (count <= this.deps.settings.syncExportLimit) return now();
    const what = params.format === 'jsonl' ? 'JSONL' : `s3://${params.request.bucket_name}`;
    return {
      accepted: await this.#start(
        tenant,
        { kind: 'image-export', params },
        count,
        `export ${count} images of ${dir} to ${what}`,
      ),
    };
  }

  async #start(
    tenant: string,
    work: DatasetWorkOrder,
    count: number,
    what: string,
  ): Promise<DatasetJobAccepted> {
    if (count === 0) throw new DomainError('NOT_FOUND', 'the dataset holds no images', {});
    const { jobs, clock, newId } = this.deps;
    const id = newId();
    const now = clock.now().toISOString();
    const job: DatasetJobRecord = {
      tenant,
      id,
      ...work,
      status: 'pending',
      version: 1,
      progress: 0,
      message: `waiting to ${what}`,
      createdAt: now,
      updatedAt: now,
    };
    const started = await storeAndStart(jobs, {
      job,
      logLine: `asked to ${what}`,
      input: { tenant, jobId: id },
      names: { job: 'the dataset job', workflow: 'the datasets workflow', idDetail: 'job_id' },
    });
    return {
      job_id: started.id,
      kind: work.kind,
      status: started.status,
      image_count: count,
      created_at: now,
    };
  }
}
