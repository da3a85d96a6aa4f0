/**
 * Seed 001's validation, profiles and exports on the local platform, on the same code as in AWS:
 * the datasets machine runs on aws-local-stepfunctions, the privacy checks on the bundled face-api
 * and Tesseract models (there is no Rekognition or Comprehend offline: the local platform always
 * uses the bundled detectors, which a stage may choose too), and exports write to another bucket of
 * the S3 emulator, which the user creates as they would their own. A dataset job the last shutdown
 * left open is run again on the next start, from the progress its last slice kept.
 */
import { BundledDetectors } from '../../adapters/vision/bundled-detectors.ts';
import { closeVisionModels } from '../../adapters/vision/bundled-models.ts';
import { type DatasetExecutionInput, datasetJobId } from '../../domain/datasets/ports.ts';
import { datasetsLambdas } from '../../families/datasets/family.ts';
import {
  createDatasetsRuntime,
  type DatasetsRuntime,
  DEFAULT_SYNC_EXPORT_LIMIT,
} from '../../families/datasets/runtime.ts';
import { logger } from '../../shared/logger.ts';
import { LocalWorkflow } from '../stepfunctions/runner.ts';
import type { LocalFamily } from './family.ts';
import type { PlatformRuntime } from './index.ts';

export const localDatasets: LocalFamily<DatasetsRuntime, PlatformRuntime> = {
  lambdas: datasetsLambdas,
  async start({ options, core, runnerDefaults }) {
    const settings = options.datasets ?? {};
    const workflow = new LocalWorkflow<DatasetExecutionInput, PlatformRuntime>({
      ...runnerDefaults,
      machine: 'datasets',
      tasks: datasetsLambdas.tasks.datasets,
      jobIdOf: datasetJobId,
      maxConcurrency: 1,
    });
    const part = createDatasetsRuntime(
      core,
      {
        detectors: 'bundled',
        allowPublicRead: settings.allowPublicRead ?? false,
        exportBuckets: settings.exportBuckets ?? 'any',
        ...(settings.exportBucketTenants ? { exportBucketTenants: settings.exportBucketTenants } : {}),
        requirePrivacyValidation: settings.requirePrivacyValidation ?? false,
        syncExportLimit: settings.syncExportLimit ?? DEFAULT_SYNC_EXPORT_LIMIT,
      },
      {
        workflow,
        detectors: { image: new BundledDetectors() },
        ...(settings.sliceMs === undefined ? {} : { sliceMs: settings.sliceMs }),
      },
    );
    const resume = async (job: { tenant: string; id: string }) => {
      await workflow.start({ tenant: job.tenant, jobId: job.id });
      logger.info('resumed an interrupted dataset job', { jobId: job.id });
    };
    return {
      part,
      workflows: { datasets: workflow },
      resumers: [
        { kind: 'image-validation', resume },
        { kind: 'image-profile', resume },
        { kind: 'image-export', resume },
      ],
      async stop() {
        await workflow.shutdown();
        await closeVisionModels();
      },
    };
  },
};
