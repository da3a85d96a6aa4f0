/**
 * The datasets family's part of the runtime (seed 001's validation, profiles and exports): the
 * stage's settings, the detectors (Rekognition and Comprehend, or the bundled models), the export
 * destination, the service over them, the datasets machine, and what its step needs.
 */
import { createS3ExportDestination, exportS3Client } from '../../adapters/s3/export-destination.ts';
import { StepFunctionsWorkflow } from '../../adapters/sfn/workflow.ts';
import { BundledDetectors } from '../../adapters/vision/bundled-detectors.ts';
import { ComprehendPiiDetector, createComprehend } from '../../adapters/vision/comprehend-pii.ts';
import { createRekognition, RekognitionDetectors } from '../../adapters/vision/rekognition-detectors.ts';
import { SharpPixelDecoder } from '../../adapters/vision/sharp-decoder.ts';
import {
  type DatasetExecutionInput,
  type DatasetsWorkflow,
  datasetJobId,
} from '../../domain/datasets/ports.ts';
import { ProfileStore } from '../../domain/datasets/profiles.ts';
import type { DatasetTaskDeps } from '../../domain/datasets/run-job.ts';
import { DatasetsService } from '../../domain/datasets/service.ts';
import { DatasetWork, type DatasetWorkSettings } from '../../domain/datasets/work.ts';
import type { ExportDestination } from '../../domain/exports/ports.ts';
import type { PrivacyDetectors } from '../../domain/validation/privacy.ts';
import { type CoreRuntime, compose, once, type RuntimeBuilder, required } from '../../runtime/core.ts';
import { numberFrom } from '../../runtime/env.ts';

export interface DatasetsConfig extends DatasetWorkSettings {
  /** Images an export writes within the request; a larger one runs as a job. */
  syncExportLimit: number;
  /** The datasets machine (statemachines/datasets.asl.json): the API functions start it. */
  stateMachineArn?: string;
}

/** 200 images of about 100 KB read and written at 8 at once finish well inside API Gateway's 29 s. */
export const DEFAULT_SYNC_EXPORT_LIMIT = 200;

export interface DatasetsOverrides {
  /** Locally: the datasets machine on aws-local-stepfunctions. */
  workflow?: DatasetsWorkflow;
  /** Locally: the bundled models, whatever the settings say (no Rekognition offline). */
  detectors?: PrivacyDetectors;
  /** Locally: the emulator's buckets. */
  destination?: ExportDestination;
  /** How long one step works before it hands over (tests make it short). */
  sliceMs?: number;
}

export interface DatasetsRuntime {
  readonly datasetsConfig: DatasetsConfig;
  readonly datasets: DatasetsService;
  /** What the datasets machine's step needs. */
  readonly datasetTasks: DatasetTaskDeps;
}

export function createDatasetsRuntime(
  core: CoreRuntime,
  config: DatasetsConfig,
  overrides: DatasetsOverrides = {},
): DatasetsRuntime {
  const workflow = once(
    () =>
      overrides.workflow ??
      new StepFunctionsWorkflow<DatasetExecutionInput>(core.clients.sfn, {
        stateMachineArn: required(config.stateMachineArn, 'DATASETS_STATE_MACHINE_ARN'),
        jobIdOf: datasetJobId,
        maxConcurrency: 1,
      }),
  );
  const detectors = once(
    (): PrivacyDetectors =>
      overrides.detectors ??
      (config.detectors === 'aws'
        ? {
            image: new RekognitionDetectors(core.clients.own(createRekognition)),
            pii: new ComprehendPiiDetector(core.clients.own(createComprehend)),
          }
        : { image: new BundledDetectors() }),
  );
  const decoder = once(() => new SharpPixelDecoder());
  const profiles = once(() => new ProfileStore(core.blobs));
  const work = once(
    () =>
      new DatasetWork({
        get jobs() {
          return core.store;
        },
        blobs: core.blobs,
        privacyDetectors: detectors,
        // Its own client, of one attempt per call: the export retries each object itself.
        destination: () =>
          overrides.destination ?? createS3ExportDestination(core.clients.own(exportS3Client)),
        settings: config,
      }),
  );
  const datasets = once(
    () =>
      new DatasetsService({
        // Read on use: only the routes that start jobs need the machine.
        jobs: {
          get engine() {
            return core.engine;
          },
          get workflow() {
            return workflow();
          },
        },
        work: work(),
        decoder: decoder(),
        profiles: profiles(),
        clock: core.clock,
        newId: core.newId,
        settings: { syncExportLimit: config.syncExportLimit },
        links: { blobs: core.blobs, ttlSeconds: core.config.resultUrlTtlSeconds },
      }),
  );
  const datasetTasks = once(
    (): DatasetTaskDeps => ({
      engine: core.engine,
      blobs: core.blobs,
      work: work(),
      decoder: decoder(),
      profiles: profiles(),
      clock: core.clock,
      ...(overrides.sliceMs === undefined ? {} : { sliceMs: overrides.sliceMs }),
    }),
  );
  return {
    datasetsConfig: config,
    get datasets() {
      return datasets();
    },
    get datasetTasks() {
      return datasetTasks();
    },
  };
}

const flag = (value: string | undefined) => value === 'true';

/**
 * The settings the stack gives a function (lib/families/datasets.ts), each only where its handler
 * uses it: a missing one is its default. No DATASETS_EXPORT_BUCKETS means no buckets (the stack
 * leaves it out rather than set it empty, which CloudFormation refuses).
 */
export function datasetsConfigFromEnv(env: NodeJS.ProcessEnv): DatasetsConfig {
  const detectors = env.DATASETS_DETECTORS ?? 'aws';
  if (detectors !== 'aws' && detectors !== 'bundled') {
    throw new Error(`environment variable DATASETS_DETECTORS must be aws or bundled, got ${detectors}`);
  }
  return {
    detectors,
    allowPublicRead: flag(env.DATASETS_ALLOW_PUBLIC_READ),
    exportBuckets: (env.DATASETS_EXPORT_BUCKETS ?? '').split(',').filter((name) => name !== ''),
    ...(env.DATASETS_EXPORT_BUCKET_TENANTS
      ? { exportBucketTenants: parseBucketTenants(env.DATASETS_EXPORT_BUCKET_TENANTS) }
      : {}),
    requirePrivacyValidation: flag(env.DATASETS_REQUIRE_PRIVACY_VALIDATION),
    syncExportLimit: numberFrom(env, 'DATASETS_SYNC_EXPORT_LIMIT', DEFAULT_SYNC_EXPORT_LIMIT),
    ...(env.DATASETS_STATE_MACHINE_ARN ? { stateMachineArn: env.DATASETS_STATE_MACHINE_ARN } : {}),
  };
}

/** The datasets part, from a function's environment. */
export const datasetsFromEnv = (core: CoreRuntime, env: NodeJS.ProcessEnv): DatasetsRuntime =>
  createDatasetsRuntime(core, datasetsConfigFromEnv(env));

/** A function's runtime: the core and the datasets part. */
export const withDatasets: RuntimeBuilder<CoreRuntime & DatasetsRuntime> = (core, env) =>
  compose(core, datasetsFromEnv(core, env));

/** `{"bucket": ["tenant", ...]}`; anything else fails the cold start, naming the variable. */
function parseBucketTenants(json: string): Record<string, string[]> {
  const parsed: unknown = JSON.parse(json);
  const valid =
    typeof parsed === 'object' &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Object.values(parsed).every(
      (tenants) => Array.isArray(tenants) && tenants.every((t) => typeof t === 'string'),
    );
  if (!valid)
    throw new Error(
      'environment variable DATASETS_EXPORT_BUCKET_TENANTS must map bucket names to lists of tenants',
    );
  return parsed as Record<string, string[]>;
}
