/**
 * Seed 004's larger tables over HTTP: a platform whose worker threads take no table at all sends
 * every avatar job down the avatars machine's processing branch (PrepareProcessing, Process on the
 * local SageMaker's processing jobs running containers/avatarizer's code, RecordProcessing), as a
 * deployed stage does with tables larger than its 10 GB function holds.
 */
import { readFileSync } from 'node:fs';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { inProcessEngine } from '../../lambdas/domain/avatars/compute.ts';
import {
  AVATAR_DATA,
  createJob,
  download,
  putSet,
  results,
  setYaml,
  upload,
  waitForJob,
} from '../support/avatars-api.ts';
import { usePlatform } from '../support/platform.ts';

const wbcd = readFileSync(new URL('breast_cancer_wisconsin.csv', AVATAR_DATA));
const WBCD_SET = setYaml(
  'wbcd',
  'wbcd.csv',
  '      columns:\n        - {field: Sample_code_number, identifier: true}\n',
);

describe('avatar jobs run as processing jobs', () => {
  const fixture = usePlatform({ avatars: { workerThreadsMaxInputBytes: 0 } });

  it('runs the whole graph as processing jobs, with the results typed and nothing of the job left behind', async () => {
    // Prepare
    const { api, platform } = fixture;
    await upload(api, 'wbcd.csv', wbcd);
    expect((await putSet(api, 'big', WBCD_SET)).status).toBe(200);

    // Act
    const standard = await createJob(api, { set_name: 'big', parameters_name: 'standard' });
    const privacy = await createJob(api, {
      set_name: 'big',
      parameters_name: 'privacy_metrics',
      depends_on: [standard.name],
    });
    const report = await createJob(api, {
      set_name: 'big',
      parameters_name: 'report',
      depends_on: [privacy.name],
    });
    const ended = await waitForJob(api, report.name, 120_000);

    // Assess: the job says where it ran and why.
    expect(ended.status, ended.exception ?? '').toBe('finished');
    const made = await waitForJob(api, standard.name);
    expect(made.compute).toMatchObject({ target: 'processing', instance_type: 'ml.m5.2xlarge' });
    expect(made.compute?.reason).toMatch(/SageMaker Processing job on ml\.m5\.2xlarge/);

    // The same engine as the functions': the avatars are those it makes in this process.
    const avatars = await results(api, standard.name);
    const shuffled = await fetch(avatars.shuffled![0]!);
    expect(shuffled.headers.get('content-type')).toMatch(/^text\/csv/);
    const direct = await inProcessEngine.run({
      plan: {
        kind: 'standard',
        seed: 42,
        tables: [
          {
            table: { name: 'wbcd', key: 'wbcd.csv', types: {}, drop: ['Sample_code_number'] },
            parameters: { k: 20, ncp: 5 },
          },
        ],
      },
      inputs: { 'wbcd.csv': wbcd },
      jobId: standard.name,
      resultPrefix: '',
    });
    const expected = direct.files.find((file) => file.resultKey === 'shuffled')!;
    expect(await shuffled.text()).toBe(new TextDecoder().decode(expected.bytes));
    const metrics = JSON.parse(await download((await results(api, privacy.name)).privacy_metrics![0]!));
    expect(metrics.hidden_rate).toBeGreaterThan(50);
    const html = await fetch((await results(api, report.name)).report![0]!);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);

    // The spec, the manifest and the outcome are gone; only the results the job lists stay.
    const listed = await platform.runtime.clients.s3.send(
      new ListObjectsV2Command({ Bucket: platform.runtime.blobs.bucket }),
    );
    const keys = (listed.Contents ?? []).map((object) => object.Key ?? '');
    expect(keys.filter((key) => key.includes('/avatars/processing/'))).toEqual([]);
    expect(keys.filter((key) => key.endsWith('_outcome.json'))).toEqual([]);
    expect(keys.filter((key) => key.includes(`/avatars/results/${standard.name}/`)).length).toBeGreaterThan(
      0,
    );
  });

  it('fails a job whose table the engine refuses with the engine’s message, and its dependants parent_error', async () => {
    // Prepare: a ragged row.
    const { api } = fixture;
    await upload(api, 'ragged.csv', new TextEncoder().encode('a,b,c\n1,2,3\n4,5\n6,7,8\n'));
    await putSet(api, 'ragged', setYaml('ragged', 'ragged.csv'));

    // Act
    const standard = await createJob(api, { set_name: 'ragged', parameters_name: 'standard' });
    const privacy = await createJob(api, {
      set_name: 'ragged',
      parameters_name: 'privacy_metrics',
      depends_on: [standard.name],
    });

    // Assess
    const failed = await waitForJob(api, standard.name);
    expect(failed.status).toBe('error');
    expect(failed.exception).toMatch(/line 3/);
    expect((await waitForJob(api, privacy.name)).status).toBe('parent_error');
  });
});

describe('a processing job that fails', () => {
  // Fault injection: the spec PrepareProcessing wrote is deleted before the processing job starts.
  const fixture = usePlatform({
    avatars: { workerThreadsMaxInputBytes: 0 },
    wrapTask: (placeholder, task) =>
      placeholder === 'PrepareAvatarProcessingFunctionArn'
        ? async (runtime, event) => {
            const prepared = (await task(runtime, event)) as { request?: { specUri: string } };
            const key = prepared.request?.specUri.replace(/^s3:\/\/[^/]+\//, '');
            if (key) await runtime.blobs.delete(`${key}job.json`);
            return prepared;
          }
        : task,
  });

  it('fails its job with SageMaker’s reason, and the job’s dependants parent_error', async () => {
    // Prepare
    const { api } = fixture;
    await upload(api, 'wbcd.csv', wbcd);
    await putSet(api, 'lost', WBCD_SET);

    // Act
    const standard = await createJob(api, { set_name: 'lost', parameters_name: 'standard' });
    const privacy = await createJob(api, {
      set_name: 'lost',
      parameters_name: 'privacy_metrics',
      depends_on: [standard.name],
    });

    // Assess
    const failed = await waitForJob(api, standard.name);
    expect(failed.status).toBe('error');
    expect(failed.exception).toMatch(/sfa-[0-9a-z]+-1/);
    expect((await waitForJob(api, privacy.name)).status).toBe('parent_error');
  });
});

describe('RecordProcessing run again', () => {
  // Fault injection: the first attempt of each RecordProcessing dies as it completes the job (a
  // crash, a timeout), and Step Functions runs the step again.
  const failedOnce = new Set<string>();
  const fixture = usePlatform({
    avatars: { workerThreadsMaxInputBytes: 0 },
    wrapTask: (placeholder, task) =>
      placeholder === 'RecordAvatarProcessingFunctionArn'
        ? async (runtime, event) => {
            const { jobId } = event as { jobId: string };
            if (failedOnce.has(jobId)) return task(runtime, event);
            failedOnce.add(jobId);
            const deps = runtime.avatarProcessing;
            const dying = new Proxy(deps.engine, {
              get: (target, name) =>
                name === 'transition'
                  ? () => Promise.reject(new Error('the function died'))
                  : Reflect.get(target, name).bind(target),
            });
            await task({ ...runtime, avatarProcessing: { ...deps, engine: dying } }, event).catch(
              () => undefined,
            );
            return task(runtime, event);
          }
        : task,
  });

  it('completes the job on the second attempt, with its results', async () => {
    // Prepare
    const { api } = fixture;
    await upload(api, 'wbcd.csv', wbcd);
    await putSet(api, 'twice', WBCD_SET);

    // Act
    const job = await createJob(api, { set_name: 'twice', parameters_name: 'standard' });
    const ended = await waitForJob(api, job.name, 60_000);

    // Assess
    expect(failedOnce.has(job.name)).toBe(true);
    expect(ended.status, ended.exception ?? '').toBe('finished');
    const shuffled = await download((await results(api, job.name)).shuffled![0]!);
    expect(shuffled.trim().split('\n')).toHaveLength(684);
  });
});
