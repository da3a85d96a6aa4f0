import { TrainRequest } from '../../contracts/training.ts';
import { DynamoJobStore } from '../../lambdas/adapters/dynamo/job-store.ts';
import { newJobId } from '../../lambdas/adapters/ids.ts';
import type { ImageJobParams } from '../../lambdas/domain/images/job-record.ts';
import { JobsEngine } from '../../lambdas/domain/jobs/engine.ts';
import {
  isJobRecord,
  type JobKind,
  type JobOfKind,
  type JobRecord,
  jobRecordProblem,
} from '../../lambdas/domain/jobs/model.ts';
import type { EmulatorFixture } from './emulators.ts';

/** An image job's parameters unless a test says otherwise. */
export const IMAGE_JOB_PARAMS: Readonly<ImageJobParams> = {
  prompt: 'a red circle',
  model_id: 'runwayml/stable-diffusion-v1-5',
  width: 512,
  height: 512,
  num_inference_steps: 20,
  guidance_scale: 7.5,
  seed: 1,
};

/** What a job of each kind holds unless a test says otherwise. */
const KIND_DEFAULTS: {
  [K in JobKind]: () => Omit<
    JobOfKind<K>,
    'tenant' | 'id' | 'status' | 'version' | 'progress' | 'createdAt' | 'updatedAt'
  >;
} = {
  generation: () => ({
    kind: 'generation',
    generator: 'shapes',
    params: { shape: 'circle', count: 3, nested: { colours: ['red', 'blue'] } },
  }),
  batch: () => ({ kind: 'batch', total: 1 }),
  image: () => ({ kind: 'image', generator: 'sd15', params: { ...IMAGE_JOB_PARAMS } }),
  training: () => ({
    kind: 'training',
    params: { ...TrainRequest.parse({}), custom_name: 'run' },
    training: {
      customName: 'run',
      dataset: { type: 'S3Prefix', key: 'tenant/datasets/players/' },
      attempts: 0,
      instanceType: 'ml.m5.xlarge',
      spot: false,
      maxRuntimeSeconds: 3600,
    },
  }),
  inference: () => ({
    kind: 'inference',
    params: { model_key: 'nova', provider: 'bedrock' },
  }),
  avatars: () => ({
    kind: 'avatars',
    params: { setName: 'set', parametersName: 'standard', avatarKind: 'standard', dependsOn: [] },
    avatars: {
      compute: { target: 'local', reason: 'the local platform runs every table on worker threads' },
    },
  }),
  'image-validation': () => ({
    kind: 'image-validation',
    params: { dataset_dir: 'batch', quality: true, privacy: true, check_faces: true, check_text: true },
  }),
  'image-profile': () => ({
    kind: 'image-profile',
    params: { name: 'nature', source: { s3_prefix: 'uploads/nature/' } },
  }),
  'image-export': () => ({
    kind: 'image-export',
    params: {
      format: 'jsonl',
      request: {
        dataset_dir: 'batch',
        output_file: 'set.jsonl',
        include_metadata: true,
        include_annotations: true,
        require_privacy_validation: false,
      },
    },
  }),
};

/**
 * A pending job created at `createdAt` (its id is minted at the same instant): a generation job
 * unless `kind` says otherwise, with its kind's defaults. Checked as the store checks what it reads.
 */
export function aJob(
  overrides: Partial<JobOfKind<'generation'>> & { tenant: string; kind?: 'generation' },
  createdAt?: Date,
): JobOfKind<'generation'>;
export function aJob<K extends JobKind>(
  overrides: Partial<JobOfKind<K>> & { tenant: string; kind: K },
  createdAt?: Date,
): JobOfKind<K>;
export function aJob(overrides: Partial<JobRecord> & { tenant: string }, createdAt?: Date): JobRecord;
export function aJob(
  overrides: Partial<JobRecord> & { tenant: string; kind?: JobKind },
  createdAt = new Date(),
): JobRecord {
  const at = createdAt.toISOString();
  const job = {
    id: newJobId(createdAt),
    status: 'pending',
    version: 1,
    progress: 0,
    ...KIND_DEFAULTS[overrides.kind ?? 'generation'](),
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
  if (isJobRecord(job)) return job;
  throw new Error(`aJob made no job record: its ${jobRecordProblem(job)} does not fit its kind`);
}

/** A tenant name no other test in the file uses, so tests never see each other's jobs. */
export function aTenant(label = 'tenant'): string {
  return `${label}-${crypto.randomUUID()}`;
}

/** A running batch of three jobs (one running, two pending) whose cancel got as far as the batch. */
export async function aBatchCancelledHalfway(engine: JobsEngine) {
  const tenant = aTenant();
  const batch = aJob({ tenant, kind: 'batch', total: 3 });
  const jobs = [0, 1, 2].map(() => aJob({ tenant, batchId: batch.id, params: { seed: 1, frames: 1 } }));
  await engine.store.create([batch, ...jobs]);
  await engine.transition(tenant, batch.id, 'running');
  await engine.transition(tenant, jobs[0]?.id ?? '', 'running');
  // The commit point of a cancel, and nothing after it: as if the process died there.
  await engine.transition(tenant, batch.id, 'cancelled', { message: 'cancelled by the user' });
  return { tenant, batch, jobs };
}

/**
 * The jobs engine over the real state table of `fixture`, for the workflow steps that run on it:
 * nothing behind its workflow port and its bus (a cancel stops nothing, events go nowhere).
 */
export function engineOver(fixture: EmulatorFixture): JobsEngine {
  const store = new DynamoJobStore(fixture.clients.dynamo, {
    tableName: fixture.emulators.tableNames.state,
    cursorSecret: 'test-support-cursor-secret-0123',
  });
  return new JobsEngine({
    store,
    executions: {
      stop: async () => undefined,
    },
    clock: { now: () => new Date() },
    events: { publishJobStateChanges: async () => undefined },
  });
}
