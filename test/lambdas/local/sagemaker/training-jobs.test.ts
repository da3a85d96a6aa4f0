import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createZip } from '../../../../lambdas/domain/archive/zip.ts';
import {
  type DescribedTrainingJob,
  LocalTrainingHost,
  type TrainingJobRequest,
} from '../../../../lambdas/local/sagemaker/training-jobs.ts';
import { useEmulators } from '../../../support/emulators.ts';

const PYTHON = '/usr/bin/python3';
/** Checked without importing torch (which takes seconds): the jobs below need it. */
/** The trainer's own test settings: 32-pixel crops, 2 batches of 8 per epoch, no loader workers. */
const FAST_HYPERPARAMETERS: Record<string, string> = {
  num_epochs: '2',
  batch_size: '8',
  image_size: '32',
  num_workers: '0',
  embedding_dim: '32',
  use_cbam: 'true',
  attention_layers: '["layer1","layer4"]',
  eval_fraction: '0.2',
  seed: '7',
};

const fixture = useEmulators();
const logged: { message: string; details?: Record<string, unknown> }[] = [];
let host: LocalTrainingHost;
let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'training-jobs-test-'));
  host = new LocalTrainingHost({
    s3: fixture.clients.s3,
    python: PYTHON,
    workDir,
    checkpointSyncMs: 200,
    stopGraceMs: 15_000,
    log: (message, details) => logged.push({ message, ...(details ? { details } : {}) }),
  });
  await uploadIdentities('datasets/five/', 5, 4);
});

afterAll(async () => {
  await host?.stopAll();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function bucket(): string {
  return fixture.emulators.bucketName;
}

/** A 32×32 crop: the identity's colour with a little per-crop noise. */
function crop(identity: number, index: number): Buffer {
  const png = new PNG({ width: 32, height: 32 });
  const base = [(identity * 53) % 256, (identity * 97 + 40) % 256, (identity * 151 + 80) % 256];
  for (let pixel = 0; pixel < 32 * 32; pixel++) {
    for (let channel = 0; channel < 3; channel++) {
      const noise = ((pixel * 31 + index * 17 + channel * 7) % 21) - 10;
      png.data[pixel * 4 + channel] = Math.max(0, Math.min(255, (base[channel] ?? 0) + noise));
    }
    png.data[pixel * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}

async function put(key: string, body: Uint8Array | string, contentType = 'application/octet-stream') {
  await fixture.clients.s3.send(
    new PutObjectCommand({ Bucket: bucket(), Key: key, Body: body, ContentType: contentType }),
  );
}

/** `<prefix>player_00i/crop_00j.png`: one folder per identity, as the trainer reads a channel. */
async function uploadIdentities(prefix: string, identities: number, crops: number): Promise<void> {
  const uploads: Promise<void>[] = [];
  for (let identity = 0; identity < identities; identity++) {
    for (let index = 0; index < crops; index++) {
      uploads.push(
        put(`${prefix}player_00${identity}/crop_00${index}.png`, crop(identity, index), 'image/png'),
      );
    }
  }
  await Promise.all(uploads);
}

async function readObject(key: string): Promise<Buffer | undefined> {
  try {
    const object = await fixture.clients.s3.send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
    return Buffer.from((await object.Body?.transformToByteArray()) ?? []);
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

async function readJson<T = Record<string, unknown>>(key: string): Promise<T | undefined> {
  const body = await readObject(key);
  return body ? (JSON.parse(body.toString('utf8')) as T) : undefined;
}

/** progress.json while it is being rewritten: s3rver is not atomic, so a read can catch it half-written. */
async function pollProgress(key: string): Promise<Progress | undefined> {
  try {
    return await readJson<Progress>(key);
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

interface Progress {
  status: string;
  current_epoch: number;
  total_epochs: number;
  datasets_found: number;
  logs: string[];
}

/** The Train state's Parameters, resolved, for a job named `name`. */
function request(
  name: string,
  options: {
    hyperParameters?: Record<string, string>;
    dataType?: 'S3Prefix' | 'ManifestFile';
    dataUri?: string;
    maxRuntimeSeconds?: number;
    checkpointKey?: string;
  } = {},
): TrainingJobRequest {
  return {
    TrainingJobName: name,
    RoleArn: 'arn:aws:iam::000000000000:role/training',
    AlgorithmSpecification: { TrainingImage: 'synthforge-trainer:local', TrainingInputMode: 'File' },
    HyperParameters: { ...FAST_HYPERPARAMETERS, ...options.hyperParameters },
    InputDataConfig: [
      {
        ChannelName: 'train',
        DataSource: {
          S3DataSource: {
            S3DataType: options.dataType ?? 'S3Prefix',
            S3Uri: options.dataUri ?? `s3://${bucket()}/datasets/five/`,
            S3DataDistributionType: 'FullyReplicated',
          },
        },
      },
    ],
    OutputDataConfig: { S3OutputPath: `s3://${bucket()}/t1/training/${name}/output` },
    CheckpointConfig: {
      S3Uri: `s3://${bucket()}/${options.checkpointKey ?? `t1/training/runs/${name}/checkpoints`}`,
      LocalPath: '/opt/ml/checkpoints',
    },
    ResourceConfig: { InstanceCount: 1, InstanceType: 'ml.g5.xlarge', VolumeSizeInGB: 30 },
    StoppingCondition: { MaxRuntimeInSeconds: options.maxRuntimeSeconds ?? 3600 },
  };
}

/** What a `.sync` step's failure carries: the error name and the DescribeTrainingJob in its Cause. */
async function failureOf(
  running: Promise<unknown>,
): Promise<{ error: string; described: DescribedTrainingJob }> {
  const error = await running.then(
    () => {
      throw new Error('the job completed, but it was expected to fail');
    },
    (failure: Error) => failure,
  );
  return { error: error.name, described: JSON.parse(error.message) as DescribedTrainingJob };
}

/** Polls `check` until it answers something, or fails after `ms`. */
async function waitFor<T>(check: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** `tar -tzf` over the archive: what a user listing the model would see. */
async function listTarGz(body: Buffer): Promise<string[]> {
  const path = join(workDir, `listing-${Date.now()}.tar.gz`);
  await writeFile(path, body);
  const listing = spawnSync('tar', ['-tzf', path], { encoding: 'utf8' });
  expect(listing.status, listing.stderr).toBe(0);
  return listing.stdout.split('\n').filter(Boolean).sort();
}

function pidOf(name: string): number {
  const started = logged.find(
    (entry) => entry.message === 'trainer started' && entry.details?.trainingJobName === name,
  );
  return started?.details?.pid as number;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('LocalTrainingHost.available', () => {
  it('says how to install torch when the interpreter cannot import it', async () => {
    // Prepare
    const bare = new LocalTrainingHost({ s3: fixture.clients.s3, python: '/bin/false' });

    // Act
    const answer = await bare.available();

    // Assess
    expect(answer).toEqual({
      ok: false,
      reason: expect.stringContaining('sudo apt-get install python3-torch python3-torchvision'),
    });
  });
});

describe('LocalTrainingHost.available, as PyTorch is installed while it runs', () => {
  it('asks again while unavailable (callers at once share a probe) and keeps an available answer', async () => {
    // Prepare: a python3 that logs each call and cannot import torch until a file appears.
    const dir = await mkdtemp(join(workDir, 'python-'));
    const calls = join(dir, 'calls');
    const installed = join(dir, 'torch-installed');
    const python = join(dir, 'python3');
    await writeFile(
      python,
      `#!/bin/sh\necho "$*" >> '${calls}'\n[ -e '${installed}' ] && exit 0\necho "ModuleNotFoundError: No module named 'torch'" >&2\nexit 1\n`,
      { mode: 0o755 },
    );
    const host = new LocalTrainingHost({ s3: fixture.clients.s3, python });

    // Act
    const atOnce = await Promise.all([host.available(), host.available()]);
    const stillMissing = await host.available();
    await writeFile(installed, '');
    const afterInstall = await host.available();
    const later = await host.available();

    // Assess
    expect(atOnce).toEqual([
      { ok: false, reason: expect.stringContaining(`${python} cannot import torch`) },
      {
        ok: false,
        reason: expect.stringContaining('sudo apt-get install python3-torch python3-torchvision'),
      },
    ]);
    expect(stillMissing.ok).toBe(false);
    expect(afterInstall).toEqual({ ok: true });
    expect(later).toEqual({ ok: true });
    // One probe for the two callers at once, one more while missing, one that found it; none after.
    expect((await readFile(calls, 'utf8')).trim().split('\n')).toHaveLength(3);
  });
});

describe('LocalTrainingHost: the train channel', () => {
  it('fails the job with a ClientError when the manifest does not exist', async () => {
    // Prepare
    const job = request('missing-manifest', {
      dataType: 'ManifestFile',
      dataUri: `s3://${bucket()}/t1/training/nothing/manifest.json`,
    });

    // Act
    const { error, described } = await failureOf(host.run(job));

    // Assess
    expect(error).toBe('States.TaskFailed');
    expect(described.TrainingJobStatus).toBe('Failed');
    expect(described.FailureReason).toMatch(/^ClientError: .*manifest\.json.*NoSuchKey/);
    expect(host.running).toEqual([]);
  });

  it('fails the job with a ClientError naming a listed object that does not exist', async () => {
    // Prepare
    await put(
      't1/training/gone/manifest.json',
      JSON.stringify([{ prefix: `s3://${bucket()}/` }, 't1/jobs/never-written/result.zip']),
      'application/json',
    );
    const job = request('missing-archive', {
      dataType: 'ManifestFile',
      dataUri: `s3://${bucket()}/t1/training/gone/manifest.json`,
    });

    // Act
    const { described } = await failureOf(host.run(job));

    // Assess
    expect(described.TrainingJobStatus).toBe('Failed');
    expect(described.FailureReason).toContain(`s3://${bucket()}/t1/jobs/never-written/result.zip`);
    expect(described.FailureReason).toMatch(/^ClientError: /);
  });
});

// These need the trainer's PyTorch: `npm test` installs it first (scripts/setup-trainer.sh), and a
// machine without it fails here, naming what is missing, rather than skipping what the platform does.
describe('LocalTrainingHost: training jobs', () => {
  it('finds torch and torchvision in the interpreter', async () => {
    // Act
    const answer = await host.available();

    // Assess
    expect(answer).toEqual({ ok: true });
  });

  it('completes a job: progress.json reaches S3 while it runs, then model.tar.gz and completed progress', async () => {
    // Prepare: each epoch's weights kept (seed 002's save_intermediate), which stay with the checkpoints.
    const name = 'sf-complete-1';
    const progressKey = `t1/training/runs/${name}/checkpoints/progress.json`;
    const hyperParameters = { ...FAST_HYPERPARAMETERS, save_intermediate: 'true' };

    // Act
    const running = host.run(request(name, { hyperParameters }));
    let settled = false;
    void running.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    const live = await waitFor(
      async () => (settled ? null : pollProgress(progressKey)),
      60_000,
      'progress.json in S3 while the job runs',
    );
    const stillRunning = host.running.includes(name) && !settled;
    const described = await running;

    // Assess
    expect(live).toMatchObject({ status: 'running' });
    expect(stillRunning).toBe(true);
    const modelKey = `t1/training/${name}/output/${name}/output/model.tar.gz`;
    expect(described).toMatchObject({
      TrainingJobName: name,
      TrainingJobArn: `arn:aws:sagemaker:us-east-1:000000000000:training-job/${name}`,
      TrainingJobStatus: 'Completed',
      SecondaryStatus: 'Completed',
      ModelArtifacts: { S3ModelArtifacts: `s3://${bucket()}/${modelKey}` },
      HyperParameters: hyperParameters,
    });
    expect(described.BillableTimeInSeconds).toBeGreaterThanOrEqual(1);
    expect(described.TrainingEndTime).toBeGreaterThan(described.TrainingStartTime);
    const archive = await readObject(modelKey);
    expect(archive).toBeDefined();
    // The final weights, the best ones when an earlier epoch had the lowest loss, and how to use them.
    const listed = await listTarGz(archive as Buffer);
    expect(listed.filter((entry) => entry !== 'model_best.pt')).toEqual(['model.json', 'model.pt']);
    const progress = await readJson<Progress>(progressKey);
    expect(progress).toMatchObject({ status: 'completed', current_epoch: 2, total_epochs: 2 });
    for (const kept of ['checkpoint.pt', 'best.pt', 'epochs/epoch_001.pt', 'epochs/epoch_002.pt']) {
      expect(await readObject(`t1/training/runs/${name}/checkpoints/${kept}`), kept).toBeDefined();
    }
    expect(host.running).toEqual([]);
  });

  // The manifest job leaves the checkpoint that the resume test after it continues.
  const resumable = 't1/training/runs/resumable/checkpoints';

  it('trains on a manifest of ZIP archives, each unpacked by the trainer', async () => {
    // Prepare: two generation jobs' result archives of 3 identities each, as a batch leaves them.
    for (const owner of ['job-a', 'job-b']) {
      const entries = [];
      for (let identity = 0; identity < 3; identity++) {
        for (let index = 0; index < 4; index++) {
          entries.push({
            name: `identities/id_000${identity}/crop_00${index}.png`,
            data: crop(identity + (owner === 'job-a' ? 0 : 3), index),
            store: true,
          });
        }
      }
      await put(`t1/jobs/${owner}/result.zip`, createZip(entries), 'application/zip');
    }
    await put(
      't1/training/zips/manifest.json',
      JSON.stringify([
        { prefix: `s3://${bucket()}/` },
        't1/jobs/job-a/result.zip',
        't1/jobs/job-b/result.zip',
      ]),
      'application/json',
    );

    // Act
    const described = await host.run(
      request('sf-manifest-1', {
        dataType: 'ManifestFile',
        dataUri: `s3://${bucket()}/t1/training/zips/manifest.json`,
        checkpointKey: resumable,
        hyperParameters: { num_epochs: '1' },
      }),
    );

    // Assess
    expect(described.TrainingJobStatus).toBe('Completed');
    const progress = await readJson<Progress>(`${resumable}/progress.json`);
    expect(progress).toMatchObject({ status: 'completed', current_epoch: 1, datasets_found: 6 });
  });

  it('resumes, in a new job, from the checkpoint the previous job left at the same CheckpointConfig.S3Uri', async () => {
    // Prepare: the checkpoint of the manifest job above, one epoch in.
    expect(await readObject(`${resumable}/checkpoint.pt`)).toBeDefined();

    // Act
    const described = await host.run(
      request('sf-manifest-2', {
        dataType: 'ManifestFile',
        dataUri: `s3://${bucket()}/t1/training/zips/manifest.json`,
        checkpointKey: resumable,
        hyperParameters: { num_epochs: '2', resume_from_checkpoint: 'true' },
      }),
    );

    // Assess
    expect(described.TrainingJobStatus).toBe('Completed');
    const progress = await readJson<Progress>(`${resumable}/progress.json`);
    expect(progress).toMatchObject({ status: 'completed', current_epoch: 2, total_epochs: 2 });
    expect(progress?.logs.some((line) => line.includes('resumed from'))).toBe(true);
  });

  it('fails a job with a bad hyperparameter, with the trainer’s reason as FailureReason', async () => {
    // Prepare
    const name = 'sf-bad-lr-1';

    // Act
    const { error, described } = await failureOf(
      host.run(request(name, { hyperParameters: { learning_rate: '-1' } })),
    );

    // Assess
    expect(error).toBe('States.TaskFailed');
    expect(described).toMatchObject({ TrainingJobName: name, TrainingJobStatus: 'Failed' });
    expect(described.FailureReason).toContain('learning_rate');
    expect(described.ModelArtifacts).toBeUndefined();
    expect(await readObject(`t1/training/${name}/output/${name}/output/model.tar.gz`)).toBeUndefined();
  });

  it('stops a job mid-training: the process is gone, the job is Stopped, and its checkpoint is in S3', async () => {
    // Prepare
    const name = 'sf-stop-task-1';
    const checkpoints = `t1/training/runs/${name}/checkpoints`;
    const failed = failureOf(host.run(request(name, { hyperParameters: { num_epochs: '50' } })));
    await waitFor(() => pollProgress(`${checkpoints}/progress.json`), 60_000, 'the training to start');
    const pid = pidOf(name);

    // Act
    await host.stop('sf-stop-task-');

    // Assess
    const { error, described } = await failed;
    expect(error).toBe('States.TaskFailed');
    expect(described).toMatchObject({ TrainingJobStatus: 'Stopped', SecondaryStatus: 'Stopped' });
    expect(isAlive(pid)).toBe(false);
    expect(host.running).toEqual([]);
    expect(await readObject(`${checkpoints}/checkpoint.pt`)).toBeDefined();
    expect(await readJson<Progress>(`${checkpoints}/progress.json`)).toMatchObject({ status: 'suspended' });
  });

  it('refuses a second job of the same name while the first runs', async () => {
    // Prepare
    const name = 'sf-twice-1';
    const first = failureOf(host.run(request(name, { hyperParameters: { num_epochs: '50' } })));

    // Act
    const second = await host.run(request(name)).catch((error: Error) => error);

    // Assess
    expect(second).toBeInstanceOf(Error);
    expect((second as Error).name).toBe('SageMaker.ResourceInUse');
    expect((second as Error).message).toContain('Training job names must be unique');
    await host.stop(name);
    expect((await first).described.TrainingJobStatus).toBe('Stopped');
  });

  it('stops a job at MaxRuntimeInSeconds', async () => {
    // Prepare
    const name = 'sf-max-runtime-1';

    // Act
    const { error, described } = await failureOf(
      host.run(request(name, { maxRuntimeSeconds: 1, hyperParameters: { num_epochs: '50' } })),
    );

    // Assess
    expect(error).toBe('States.TaskFailed');
    expect(described).toMatchObject({ TrainingJobStatus: 'Stopped', SecondaryStatus: 'MaxRuntimeExceeded' });
    expect(described.FailureReason).toMatch(/^MaxRuntimeExceeded/);
    expect(host.running).toEqual([]);
  });
});
