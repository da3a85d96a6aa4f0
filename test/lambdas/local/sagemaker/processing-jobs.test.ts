import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DescribedProcessingJob,
  LocalProcessingHost,
  type LocalProcessingHostOptions,
  type ProcessingJobRequest,
  type ProcessingLauncher,
} from '../../../../lambdas/local/sagemaker/processing-jobs.ts';
import { useEmulators } from '../../../support/emulators.ts';

/** The image the jobs below run: `node`, its entrypoint `['node', '-e', <script>, '--']`. */
const NODE_IMAGE = '000000000000.dkr.ecr.us-east-1.amazonaws.com/node:24';

/** Plays NODE_IMAGE: `node` is this Node; the image's own environment sits under the request's. */
const nodeLauncher: ProcessingLauncher = ({ entrypoint = [], arguments: args = [] }) => ({
  command: process.execPath,
  args: [...entrypoint.slice(1), ...args],
  env: { GREETING: 'from the image', IMAGE_ONLY: 'yes' },
});

/** Writes what it was given: the input files, its environment and arguments, a file in each output. */
const ECHO_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const ml = process.env.SYNTHFORGE_ML_ROOT;
const input = path.join(ml, 'processing', 'input');
const files = {};
for (const entry of fs.readdirSync(input, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile()) continue;
  const file = path.join(entry.parentPath, entry.name);
  files[path.relative(input, file)] = fs.readFileSync(file, 'utf8');
}
const results = path.join(ml, 'processing', 'output', 'results');
fs.writeFileSync(path.join(results, 'inputs.json'), JSON.stringify(files));
fs.mkdirSync(path.join(results, 'deep'));
fs.writeFileSync(path.join(results, 'deep', 'env.json'), JSON.stringify({
  greeting: process.env.GREETING,
  imageOnly: process.env.IMAGE_ONLY,
  root: ml,
  cwd: process.cwd(),
  args: process.argv.slice(1),
}));
fs.writeFileSync(path.join(ml, 'processing', 'output', 'extra', 'note.txt'), 'extra');
fs.writeFileSync(path.join(ml, 'output', 'message'), 'all good');
`;

/** Leaves a result, prints 15 numbered lines, exits 3. */
const FAILING_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const ml = process.env.SYNTHFORGE_ML_ROOT;
fs.writeFileSync(path.join(ml, 'processing', 'output', 'results', 'partial.txt'), 'half done');
for (let line = 1; line <= 15; line++) console.log('line ' + String(line).padStart(2, '0'));
process.exit(3);
`;

/** Leaves a result, says it is ready, then runs until stopped (ignoring SIGTERM with `ignore-term`). */
const SLEEPING_SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const ml = process.env.SYNTHFORGE_ML_ROOT;
if (process.argv.includes('ignore-term')) process.on('SIGTERM', () => console.log('SIGTERM ignored'));
fs.writeFileSync(path.join(ml, 'processing', 'output', 'results', 'partial.txt'), 'half done');
console.log('ready');
setInterval(() => {}, 1000);
`;

const fixture = useEmulators();
const logged: { message: string; details?: Record<string, unknown> }[] = [];
let host: LocalProcessingHost;
let workDir: string;

function hostOptions(overrides: Partial<LocalProcessingHostOptions> = {}): LocalProcessingHostOptions {
  return {
    s3: fixture.clients.s3,
    launchers: { [NODE_IMAGE]: nodeLauncher },
    workDir,
    stopGraceMs: 5_000,
    log: (message, details) => logged.push({ message, ...(details ? { details } : {}) }),
    ...overrides,
  };
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'processing-jobs-test-'));
  host = new LocalProcessingHost(hostOptions());
});

afterAll(async () => {
  await host?.stopAll();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function bucket(): string {
  return fixture.emulators.bucketName;
}

async function put(key: string, body: string): Promise<void> {
  await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket(), Key: key, Body: body }));
}

async function readText(key: string): Promise<string> {
  const object = await fixture.clients.s3.send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
  return (await object.Body?.transformToString('utf8')) ?? '';
}

async function keysUnder(prefix: string): Promise<string[]> {
  const page = await fixture.clients.s3.send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: prefix }));
  return (page.Contents ?? []).map((object) => object.Key ?? '').sort();
}

/** The Process state's Parameters, resolved: a `node -e <script>` job with one results output. */
function request(
  name: string,
  script: string,
  options: {
    inputs?: ProcessingJobRequest['ProcessingInputs'];
    maxRuntimeSeconds?: number;
    args?: string[];
  } = {},
): ProcessingJobRequest {
  return {
    ProcessingJobName: name,
    RoleArn: 'arn:aws:iam::000000000000:role/processing',
    AppSpecification: {
      ImageUri: NODE_IMAGE,
      ContainerEntrypoint: ['node', '-e', script, '--'],
      ...(options.args ? { ContainerArguments: options.args } : {}),
    },
    ProcessingInputs: options.inputs ?? [],
    ProcessingOutputConfig: {
      Outputs: [
        {
          OutputName: 'results',
          S3Output: {
            S3Uri: `s3://${bucket()}/results/${name}`,
            LocalPath: '/opt/ml/processing/output/results',
            S3UploadMode: 'EndOfJob',
          },
        },
      ],
    },
    ProcessingResources: {
      ClusterConfig: { InstanceCount: 1, InstanceType: 'ml.m5.xlarge', VolumeSizeInGB: 30 },
    },
    ...(options.maxRuntimeSeconds === undefined
      ? {}
      : { StoppingCondition: { MaxRuntimeInSeconds: options.maxRuntimeSeconds } }),
    Environment: { GREETING: 'hello' },
    NetworkConfig: { EnableNetworkIsolation: true },
  };
}

function s3Input(
  name: string,
  uri: string,
  localPath: string,
  dataType: 'S3Prefix' | 'ManifestFile' = 'S3Prefix',
): NonNullable<ProcessingJobRequest['ProcessingInputs']>[number] {
  return {
    InputName: name,
    S3Input: {
      S3Uri: uri,
      LocalPath: localPath,
      S3DataType: dataType,
      S3InputMode: 'File',
      S3DataDistributionType: 'FullyReplicated',
    },
  };
}

/** What a `.sync` step's failure carries: the error name and the DescribeProcessingJob in its Cause. */
async function failureOf(
  running: Promise<unknown>,
): Promise<{ error: string; described: DescribedProcessingJob }> {
  const error = await running.then(
    () => {
      throw new Error('the job completed, but it was expected to fail');
    },
    (failure: Error) => failure,
  );
  return { error: error.name, described: JSON.parse(error.message) as DescribedProcessingJob };
}

/** Resolves with the container's pid once it has printed `line`. */
async function printed(name: string, line: string): Promise<number> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (logged.some((entry) => entry.message === line && entry.details?.processingJobName === name)) {
      const started = logged.find(
        (entry) =>
          entry.message === 'processing container started' && entry.details?.processingJobName === name,
      );
      return started?.details?.pid as number;
    }
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${name} to print ${line}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('LocalProcessingHost: a job that completes', () => {
  it('downloads S3Prefix and ManifestFile inputs, runs the image with its environment, uploads the outputs', async () => {
    // Prepare: a spec named by its whole key, a prefix without its slash, a manifest of two tables.
    const name = 'sf-echo-1';
    await put('jobs/j1/spec/job.json', '{"spec":true}');
    await put('jobs/j1/data/a.csv', 'a');
    await put('jobs/j1/data/nested/b.csv', 'b');
    await put('tables/t1/x.csv', 'x');
    await put('tables/t2/y.csv', 'y');
    await put('tables/t3/unlisted.csv', 'unlisted');
    await put(
      'jobs/j1/manifest.json',
      JSON.stringify([{ prefix: `s3://${bucket()}/tables/` }, 't1/x.csv', 't2/y.csv']),
    );
    const job = request(name, ECHO_SCRIPT, {
      args: ['--mode', 'echo'],
      inputs: [
        s3Input('spec', `s3://${bucket()}/jobs/j1/spec/job.json`, '/opt/ml/processing/input/job'),
        s3Input('data', `s3://${bucket()}/jobs/j1/data`, '/opt/ml/processing/input/data/'),
        s3Input(
          'tables',
          `s3://${bucket()}/jobs/j1/manifest.json`,
          '/opt/ml/processing/input/tables',
          'ManifestFile',
        ),
      ],
    });
    job.ProcessingOutputConfig?.Outputs?.push({
      OutputName: 'extra',
      S3Output: {
        S3Uri: `s3://${bucket()}/extra/${name}/`,
        LocalPath: '/opt/ml/processing/output/extra',
        S3UploadMode: 'EndOfJob',
      },
    });

    // Act
    const described = await host.run(job);

    // Assess
    expect(described).toMatchObject({
      ProcessingJobName: name,
      ProcessingJobArn: `arn:aws:sagemaker:us-east-1:000000000000:processing-job/${name}`,
      ProcessingJobStatus: 'Completed',
      ExitMessage: 'all good',
      RoleArn: job.RoleArn,
      AppSpecification: job.AppSpecification,
      ProcessingInputs: job.ProcessingInputs,
      ProcessingOutputConfig: job.ProcessingOutputConfig,
      ProcessingResources: job.ProcessingResources,
      Environment: { GREETING: 'hello' },
      NetworkConfig: { EnableNetworkIsolation: true },
    });
    expect(described.FailureReason).toBeUndefined();
    expect(described.ProcessingEndTime).toBeGreaterThanOrEqual(described.ProcessingStartTime);
    expect(described.ProcessingStartTime).toBeGreaterThanOrEqual(described.CreationTime);
    expect(await keysUnder(`results/${name}/`)).toEqual([
      `results/${name}/deep/env.json`,
      `results/${name}/inputs.json`,
    ]);
    expect(await keysUnder(`extra/${name}/`)).toEqual([`extra/${name}/note.txt`]);
    expect(JSON.parse(await readText(`results/${name}/inputs.json`))).toEqual({
      'job/job.json': '{"spec":true}',
      'data/a.csv': 'a',
      'data/nested/b.csv': 'b',
      'tables/t1/x.csv': 'x',
      'tables/t2/y.csv': 'y',
    });
    const root = join(workDir, name);
    expect(JSON.parse(await readText(`results/${name}/deep/env.json`))).toEqual({
      greeting: 'hello',
      imageOnly: 'yes',
      root,
      cwd: root,
      args: ['--mode', 'echo'],
    });
    expect(existsSync(root)).toBe(false);
    expect(host.running).toEqual([]);
  });
});

describe('LocalProcessingHost: jobs that fail', () => {
  it('fails a job whose container exits non-zero, quoting the exit code and its last lines, and uploads nothing', async () => {
    // Prepare
    const name = 'sf-fail-1';

    // Act
    const { error, described } = await failureOf(host.run(request(name, FAILING_SCRIPT)));

    // Assess
    expect(error).toBe('States.TaskFailed');
    expect(described).toMatchObject({ ProcessingJobName: name, ProcessingJobStatus: 'Failed' });
    expect(described.FailureReason).toMatch(/^AlgorithmError: the container exited with code 3: /);
    expect(described.FailureReason).toContain('line 06');
    expect(described.FailureReason).toContain('line 15');
    expect(described.FailureReason).not.toContain('line 05');
    expect(await keysUnder(`results/${name}/`)).toEqual([]);
  });

  it('fails a job whose manifest names an object that does not exist, naming it', async () => {
    // Prepare
    const name = 'sf-missing-1';
    await put(
      'jobs/j2/manifest.json',
      JSON.stringify([{ prefix: `s3://${bucket()}/tables/` }, 't1/x.csv', 'gone.csv']),
    );
    const job = request(name, ECHO_SCRIPT, {
      inputs: [
        s3Input(
          'tables',
          `s3://${bucket()}/jobs/j2/manifest.json`,
          '/opt/ml/processing/input/tables',
          'ManifestFile',
        ),
      ],
    });

    // Act
    const { error, described } = await failureOf(host.run(job));

    // Assess
    expect(error).toBe('States.TaskFailed');
    expect(described.ProcessingJobStatus).toBe('Failed');
    expect(described.FailureReason).toMatch(/^ClientError: /);
    expect(described.FailureReason).toContain(`s3://${bucket()}/tables/gone.csv`);
    expect(
      logged.some(
        (entry) => entry.details?.processingJobName === name && entry.message.includes('container started'),
      ),
    ).toBe(false);
  });

  it('fails a job whose image has no launcher, as an image SageMaker cannot pull', async () => {
    // Prepare
    const job = request('sf-no-image-1', ECHO_SCRIPT);
    job.AppSpecification = { ImageUri: 'unknown/image:1' };

    // Act
    const { described } = await failureOf(host.run(job));

    // Assess
    expect(described.ProcessingJobStatus).toBe('Failed');
    expect(described.FailureReason).toMatch(/^ClientError: Requested image unknown\/image:1 not found/);
  });
});

describe('LocalProcessingHost: stops', () => {
  it('stops the jobs whose names start with a prefix: the container is gone, the job Stopped, nothing uploaded', async () => {
    // Prepare
    const name = 'sf-stop-exec-1';
    const failed = failureOf(host.run(request(name, SLEEPING_SCRIPT)));
    const pid = await printed(name, 'ready');

    // Act
    await host.stop('sf-stop-exec-');

    // Assess
    const { error, described } = await failed;
    expect(error).toBe('States.TaskFailed');
    expect(described).toMatchObject({ ProcessingJobStatus: 'Stopped' });
    expect(described.FailureReason).toMatch(/^Stopped: /);
    expect(isAlive(pid)).toBe(false);
    expect(host.running).toEqual([]);
    expect(await keysUnder(`results/${name}/`)).toEqual([]);
  });

  it('refuses a second job of the same name while the first runs', async () => {
    // Prepare
    const name = 'sf-twice-1';
    const first = failureOf(host.run(request(name, SLEEPING_SCRIPT)));
    await printed(name, 'ready');

    // Act
    const second = await host.run(request(name, ECHO_SCRIPT)).catch((error: Error) => error);

    // Assess
    expect(second).toBeInstanceOf(Error);
    expect((second as Error).name).toBe('SageMaker.ResourceInUse');
    expect((second as Error).message).toContain('Processing job names must be unique');
    await host.stop(name);
    expect((await first).described.ProcessingJobStatus).toBe('Stopped');
  });

  it('stops a job at MaxRuntimeInSeconds, killing a container that ignores SIGTERM', async () => {
    // Prepare: a second lasts a millisecond, and the grace after SIGTERM is short.
    const quick = new LocalProcessingHost(hostOptions({ msPerSecond: 1, stopGraceMs: 200 }));
    const name = 'sf-max-runtime-1';

    // Act
    const { error, described } = await failureOf(
      quick.run(request(name, SLEEPING_SCRIPT, { maxRuntimeSeconds: 300, args: ['ignore-term'] })),
    );

    // Assess
    expect(error).toBe('States.TaskFailed');
    expect(described).toMatchObject({
      ProcessingJobStatus: 'Stopped',
      StoppingCondition: { MaxRuntimeInSeconds: 300 },
    });
    expect(described.FailureReason).toMatch(/^MaxRuntimeExceeded: /);
    expect(quick.running).toEqual([]);
    expect(await keysUnder(`results/${name}/`)).toEqual([]);
  });
});

describe('LocalProcessingHost: validation', () => {
  const refusals: [string, (job: ProcessingJobRequest) => void, string | RegExp][] = [
    [
      'a name SageMaker does not allow',
      (job) => {
        job.ProcessingJobName = 'bad_name';
      },
      "Value 'bad_name' at 'processingJobName' failed to satisfy constraint",
    ],
    [
      'a request without a role',
      (job) => {
        delete job.RoleArn;
      },
      "Value null at 'roleArn'",
    ],
    [
      'a request without an image',
      (job) => {
        job.AppSpecification = { ImageUri: undefined };
      },
      "Value null at 'appSpecification.imageUri'",
    ],
    [
      'more than one instance',
      (job) => {
        job.ProcessingResources = { ClusterConfig: { InstanceCount: 2, VolumeSizeInGB: 30 } };
      },
      /^InstanceCount 2 is not emulated/,
    ],
    [
      'a LocalPath outside /opt/ml/processing/',
      (job) => {
        job.ProcessingInputs = [
          s3Input('spec', `s3://${bucket()}/jobs/j1/spec/job.json`, '/opt/ml/input/data'),
        ];
      },
      "at 'processingInputs.1.member.s3Input.localPath'",
    ],
    [
      'a LocalPath that climbs out of /opt/ml/processing/',
      (job) => {
        job.ProcessingInputs = [
          s3Input('spec', `s3://${bucket()}/jobs/j1/spec/job.json`, '/opt/ml/processing/../input'),
        ];
      },
      "at 'processingInputs.1.member.s3Input.localPath'",
    ],
    [
      'a Pipe input',
      (job) => {
        const input = s3Input(
          'spec',
          `s3://${bucket()}/jobs/j1/spec/job.json`,
          '/opt/ml/processing/input/job',
        );
        if (input.S3Input) input.S3Input.S3InputMode = 'Pipe';
        job.ProcessingInputs = [input];
      },
      'S3InputMode Pipe is not emulated',
    ],
    [
      'a Continuous output',
      (job) => {
        const output = job.ProcessingOutputConfig?.Outputs?.[0]?.S3Output;
        if (output) output.S3UploadMode = 'Continuous';
      },
      'S3UploadMode Continuous is not emulated',
    ],
  ];

  it.each(refusals)(
    'refuses %s with a ValidationException, running nothing',
    async (_what, change, message) => {
      // Prepare
      const job = request('sf-invalid-1', ECHO_SCRIPT);
      change(job);

      // Act
      const refused = await host.run(job).catch((error: Error) => error);

      // Assess
      expect(refused).toBeInstanceOf(Error);
      expect((refused as Error).name).toBe('SageMaker.ValidationException');
      if (typeof message === 'string') expect((refused as Error).message).toContain(message);
      else expect((refused as Error).message).toMatch(message);
      expect(host.running).toEqual([]);
      expect(existsSync(join(workDir, 'sf-invalid-1'))).toBe(false);
    },
  );
});
