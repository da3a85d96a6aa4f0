/**
 * Seed 004 over HTTP against the local platform, as the avatars client drives it: upload the tables,
 * put the set's YAML, create the job graph (standard → privacy and signal metrics → report), poll
 * each job until it finishes, and read its results through their links.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AvatarJob } from '../../contracts/avatars.ts';
import { Seed004Error } from '../../contracts/errors.ts';
import {
  createJob,
  AVATAR_DATA as DATA,
  download,
  putSet,
  results,
  setYaml,
  upload,
  waitForJob,
} from '../support/avatars-api.ts';
import { type Api, type ApiResponse, keyFor, LEAK_PATTERNS, usePlatform } from '../support/platform.ts';

const wbcd = readFileSync(new URL('breast_cancer_wisconsin.csv', DATA));
const synthpop = readFileSync(new URL('wbcd_synthpop_base.csv', DATA));
const aids = readFileSync(new URL('aids_original_data.csv', DATA));

function expectSeed004Error(response: ApiResponse<unknown>, status: number, code: string): void {
  expect(response.status, response.text).toBe(status);
  const body = Seed004Error.safeParse(response.body);
  expect(body.success, response.text).toBe(true);
  expect(body.data?.detail.code).toBe(code);
  for (const pattern of LEAK_PATTERNS) expect(response.text).not.toMatch(pattern);
}

describe('avatarization over HTTP (seed 004)', () => {
  const fixture = usePlatform();

  it('runs WBCD through the whole graph: avatars, privacy and signal metrics against their targets, a report', async () => {
    // Prepare
    const { api } = fixture;
    await upload(api, 'wbcd.csv', wbcd);
    const put = await putSet(
      api,
      'wbcd_set',
      setYaml(
        'wbcd',
        'wbcd.csv',
        '      columns:\n        - {field: Sample_code_number, identifier: true}\n',
      ),
    );
    expect(put.status, put.text).toBe(200);
    expect(put.body.documents).toHaveLength(7);

    // Act: the Runner's order, each job naming its parents by the Location its POST answered.
    const standard = await createJob(api, { set_name: 'wbcd_set', parameters_name: 'standard' });
    const privacy = await createJob(api, {
      set_name: 'wbcd_set',
      parameters_name: 'privacy_metrics',
      depends_on: [standard.Location],
    });
    const signal = await createJob(api, {
      set_name: 'wbcd_set',
      parameters_name: 'signal_metrics',
      depends_on: [standard.name],
    });
    const report = await createJob(api, {
      set_name: 'wbcd_set',
      parameters_name: 'report',
      depends_on: [privacy.name, signal.name],
    });
    expect(report.status).toBe('waiting');
    const ended = await waitForJob(api, report.name);

    // Assess: every job finished, in the client's vocabulary.
    expect(ended.status, ended.exception ?? '').toBe('finished');
    for (const job of [standard, privacy, signal])
      expect((await waitForJob(api, job.name)).status).toBe('finished');
    expect(ended.compute).toMatchObject({ target: 'local' });

    const avatars = await results(api, standard.name);
    expect(Object.keys(avatars).sort()).toEqual(
      [
        'avatar_projections',
        'figures',
        'figures_metadata',
        'original_projections',
        'run_metadata',
        'shuffled',
        'unshuffled',
      ].sort(),
    );
    const shuffled = (await download(avatars.shuffled![0]!)).trim().split('\n');
    expect(shuffled).toHaveLength(684);
    // The identifier is left out; every other column is there, with values of the original's range.
    expect(shuffled[0]).toBe(
      'Clump_Thickness,Uniformity_of_Cell_Size,Uniformity_of_Cell_Shape,Marginal_Adhesion,Single_Epithelial_Cell_Size,Bare_Nuclei,Bland_Chromatin,Normal_Nucleoli,Mitoses,Class',
    );
    for (const line of shuffled.slice(1)) {
      for (const value of line.split(',').map(Number)) expect(value).toBeGreaterThanOrEqual(1);
    }

    const privacyMetrics = JSON.parse(
      await download((await results(api, privacy.name)).privacy_metrics![0]!),
    );
    expect(privacyMetrics.hidden_rate).toBeGreaterThan(50);
    expect(privacyMetrics.local_cloaking).toBeGreaterThan(0);
    expect(privacyMetrics.targets.hidden_rate).toBe('> 90');
    expect(typeof privacyMetrics.met.hidden_rate).toBe('boolean');
    const signalMetrics = JSON.parse(await download((await results(api, signal.name)).signal_metrics![0]!));
    expect(signalMetrics.hellinger_mean).toBeGreaterThan(0);
    expect(signalMetrics.hellinger_mean).toBeLessThan(0.5);

    const html = await download((await results(api, report.name)).report![0]!);
    expect(html).toContain('<html');
    expect(html).toContain('hidden_rate');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/);
  });

  it('gives the same avatars for the same seed', async () => {
    // Prepare
    const { api } = fixture;
    await upload(api, 'wbcd.csv', wbcd);
    await putSet(
      api,
      'seeded',
      setYaml(
        'wbcd',
        'wbcd.csv',
        '      columns:\n        - {field: Sample_code_number, identifier: true}\n',
      ),
    );

    // Act
    const first = await createJob(api, { set_name: 'seeded', parameters_name: 'standard' });
    const second = await createJob(api, { set_name: 'seeded', parameters_name: 'standard' });
    await waitForJob(api, first.name);
    await waitForJob(api, second.name);

    // Assess
    const one = await download((await results(api, first.name)).shuffled![0]!);
    const two = await download((await results(api, second.name)).shuffled![0]!);
    expect(one).toBe(two);
  });

  it('measures a table of another generator against the original on the same footing', async () => {
    // Prepare: the paper's synthpop table of WBCD, row-aligned with the original.
    const { api } = fixture;
    await upload(api, 'wbcd.csv', wbcd);
    await upload(api, 'wbcd_synthpop.csv', synthpop);
    const yaml = `kind: AvatarSchema
metadata: {name: schema}
spec:
  tables:
    - name: wbcd
      data: {file: wbcd.csv}
      columns:
        - {field: Sample_code_number, identifier: true}
---
kind: AvatarSchema
metadata: {name: compared}
spec:
  schema_ref: schema
  tables:
    - name: wbcd
      avatars_data: {file: wbcd_synthpop.csv}
---
kind: AvatarPrivacyMetricsParameters
metadata: {name: privacy_metrics}
spec: {schema: compared}
`;
    expect((await putSet(api, 'compare', yaml)).status).toBe(200);

    // Act: no standard job: the metrics measure the uploaded table.
    const job = await createJob(api, { set_name: 'compare', parameters_name: 'privacy_metrics' });
    const ended = await waitForJob(api, job.name);

    // Assess
    expect(ended.status, ended.exception ?? '').toBe('finished');
    const metrics = JSON.parse(await download((await results(api, job.name)).privacy_metrics![0]!));
    expect(metrics.hidden_rate).toBeGreaterThanOrEqual(0);
    expect(metrics.metadata.table_name).toBe('wbcd');
  });

  it('runs AIDS (semicolons, a quoted header, missing values) through standard and privacy metrics', async () => {
    // Prepare
    const { api } = fixture;
    await upload(api, 'aids.csv', aids);
    // zprior is 1 in every row: a constant column is refused, so the schema leaves it out.
    await putSet(
      api,
      'aids_set',
      setYaml(
        'aids',
        'aids.csv',
        '      columns:\n        - {field: pidnum, identifier: true}\n        - {field: zprior, identifier: true}\n',
      ),
    );

    // Act
    const standard = await createJob(api, { set_name: 'aids_set', parameters_name: 'standard' });
    const privacy = await createJob(api, {
      set_name: 'aids_set',
      parameters_name: 'privacy_metrics',
      depends_on: [standard.name],
    });
    const ended = await waitForJob(api, privacy.name);

    // Assess
    expect(ended.status, ended.exception ?? '').toBe('finished');
    const unshuffled = (await download((await results(api, standard.name)).unshuffled![0]!))
      .trim()
      .split('\n');
    expect(unshuffled).toHaveLength(2140);
    expect(unshuffled[0]?.split(',')).toHaveLength(25);
    const metrics = JSON.parse(await download((await results(api, privacy.name)).privacy_metrics![0]!));
    expect(metrics.hidden_rate).toBeGreaterThan(80);
  });

  it('advises parameters as a job of its own', async () => {
    // Prepare
    const { api } = fixture;
    await upload(api, 'wbcd.csv', wbcd);
    await putSet(
      api,
      'advised',
      setYaml(
        'wbcd',
        'wbcd.csv',
        '      columns:\n        - {field: Sample_code_number, identifier: true}\n',
      ),
    );

    // Act
    const job = await createJob(api, { set_name: 'advised', parameters_name: 'advice' });
    await waitForJob(api, job.name);

    // Assess
    const advice = JSON.parse(await download((await results(api, job.name)).advice![0]!));
    expect(advice).toEqual([
      expect.objectContaining({
        table_name: 'wbcd',
        advice: expect.objectContaining({
          parameters: expect.objectContaining({
            k: expect.any(Number),
            ncp: expect.any(Number),
            use_categorical_reduction: false,
          }),
        }),
      }),
    ]);
  });

  it('ends the dependants of a failed job parent_error without running them, and says why the parent failed', async () => {
    // Prepare: a table with a ragged row fails its standard job.
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
    const report = await createJob(api, {
      set_name: 'ragged',
      parameters_name: 'report',
      depends_on: [privacy.name],
    });

    // Assess
    const failed = await waitForJob(api, standard.name);
    expect(failed.status).toBe('error');
    expect(failed.exception).toMatch(/line 3 has 2 fields/);
    for (const child of [privacy, report]) {
      const ended = await waitForJob(api, child.name);
      expect(ended.status).toBe('parent_error');
      expect(ended.progress).toBe(0);
    }
  });

  it.each([
    ['no delimiter it knows', 'a b c\n1 2 3\n4 5 6\n', /delimiter/],
    ['a column with one value', 'a,b\n1,x\n2,x\n3,x\n', /column "b" has the same value/],
    [
      'a category with more distinct values than rows allow',
      `id,v\n${Array.from({ length: 60 }, (_, i) => `name${i},${i % 7}`).join('\n')}\n`,
      /column "id" has 60 distinct values in 60 rows/,
    ],
    [
      'more columns than allowed',
      `${Array.from({ length: 201 }, (_, i) => `c${i}`).join(',')}\n${Array.from({ length: 201 }, (_, i) => i).join(',')}\n${Array.from({ length: 201 }, (_, i) => i + 1).join(',')}\n`,
      /201 columns/,
    ],
    [
      'text that is not UTF-8',
      new Uint8Array([
        ...new TextEncoder().encode('a,b\n1,caf'),
        0xe9,
        ...new TextEncoder().encode('\n2,x\n'),
      ]),
      /UTF-8/,
    ],
  ])(
    'fails a job on %s with a message that says what and where, before any avatar is made',
    async (_what, table, message) => {
      // Prepare
      const { api } = fixture;
      const bytes = typeof table === 'string' ? new TextEncoder().encode(table) : table;
      await upload(api, 'bad.csv', bytes);
      await putSet(api, 'bad_table', setYaml('bad', 'bad.csv'));

      // Act
      const job = await createJob(api, { set_name: 'bad_table', parameters_name: 'standard' });
      const ended = await waitForJob(api, job.name);

      // Assess
      expect(ended.status).toBe('error');
      expect(ended.exception).toMatch(message);
      expect(ended.exception).toContain('table bad');
      expectSeed004Error(await api.get(`/api/v1/avatars/results/${job.name}`), 409, 'illegal_state');
    },
  );

  it('cancels a job with every job that depends on it, and leaves its parent running to the end', async () => {
    // Prepare: AIDS takes long enough that the privacy job is still waiting for it.
    const { api } = fixture;
    await upload(api, 'aids.csv', aids);
    await putSet(
      api,
      'cancelled',
      setYaml(
        'aids',
        'aids.csv',
        '      columns:\n        - {field: pidnum, identifier: true}\n        - {field: zprior, identifier: true}\n',
      ),
    );
    const standard = await createJob(api, { set_name: 'cancelled', parameters_name: 'standard' });
    const privacy = await createJob(api, {
      set_name: 'cancelled',
      parameters_name: 'privacy_metrics',
      depends_on: [standard.name],
    });
    const report = await createJob(api, {
      set_name: 'cancelled',
      parameters_name: 'report',
      depends_on: [privacy.name],
    });

    // Act
    const cancelled = await api.delete<AvatarJob>(`/api/v1/avatars/jobs/${privacy.name}`);

    // Assess
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect((await waitForJob(api, report.name)).status).toBe('cancelled');
    expect((await waitForJob(api, standard.name)).status).toBe('finished');
    expect((await api.get<AvatarJob>(`/api/v1/avatars/jobs/${privacy.name}`)).body.status).toBe('cancelled');
    expectSeed004Error(await api.delete(`/api/v1/avatars/jobs/${privacy.name}`), 409, 'illegal_state');
  });

  it('runs the set a job was created with, whatever is put under its name meanwhile', async () => {
    // Prepare
    const { api } = fixture;
    await upload(api, 'wbcd.csv', wbcd);
    const columns = '      columns:\n        - {field: Sample_code_number, identifier: true}\n';
    await putSet(api, 'changing', setYaml('wbcd', 'wbcd.csv', columns));
    const standard = await createJob(api, { set_name: 'changing', parameters_name: 'standard' });
    const privacy = await createJob(api, {
      set_name: 'changing',
      parameters_name: 'privacy_metrics',
      depends_on: [standard.name],
    });

    // Act: the set loses its privacy document before the job runs.
    const replaced = await putSet(
      api,
      'changing',
      setYaml('wbcd', 'wbcd.csv', columns).split('---\nkind: AvatarPrivacyMetricsParameters')[0]!,
    );

    // Assess
    expect(replaced.status, replaced.text).toBe(200);
    expect((await waitForJob(api, privacy.name)).status).toBe('finished');
    expectSeed004Error(
      await api.post('/api/v1/avatars/jobs', { set_name: 'changing', parameters_name: 'privacy_metrics' }),
      404,
      'not_found',
    );
  });

  it('lists the jobs of one kind even when newer jobs of other kinds fill a page', async () => {
    // Prepare
    const { api } = fixture;
    await upload(api, 'wbcd.csv', wbcd);
    await putSet(
      api,
      'listed',
      setYaml(
        'wbcd',
        'wbcd.csv',
        '      columns:\n        - {field: Sample_code_number, identifier: true}\n',
      ),
    );
    const advice = await createJob(api, { set_name: 'listed', parameters_name: 'advice' });
    for (let i = 0; i < 3; i++) await createJob(api, { set_name: 'listed', parameters_name: 'standard' });

    // Act
    const listed = await api.get<{ jobs: AvatarJob[] }>('/api/v1/avatars/jobs', { kind: 'advice', limit: 2 });

    // Assess
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.jobs.map((job) => job.name)).toContain(advice.name);
    expect(listed.body.jobs.every((job) => job.kind === 'advice')).toBe(true);
  });

  it('reports on avatars whose category lost its rare text level (it reads back as numbers)', async () => {
    // Prepare: `grade` is 1, 2 or 3, and "?" once: a category, whose avatars are numbers only.
    const { api } = fixture;
    const rows = Array.from(
      { length: 300 },
      (_, i) => `${i % 7},${(i * 13) % 11},${i === 5 ? '?' : (i % 3) + 1}`,
    );
    await upload(api, 'grades.csv', new TextEncoder().encode(`a,b,grade\n${rows.join('\n')}\n`));
    await putSet(
      api,
      'grades',
      setYaml('grades', 'grades.csv').replace('{k: 20, ncp: 5}', '{k: 10, ncp: 2}'),
    );

    // Act
    const standard = await createJob(api, { set_name: 'grades', parameters_name: 'standard' });
    const privacy = await createJob(api, {
      set_name: 'grades',
      parameters_name: 'privacy_metrics',
      depends_on: [standard.name],
    });
    const signal = await createJob(api, {
      set_name: 'grades',
      parameters_name: 'signal_metrics',
      depends_on: [standard.name],
    });
    const report = await createJob(api, {
      set_name: 'grades',
      parameters_name: 'report',
      depends_on: [privacy.name, signal.name],
    });

    // Assess
    const ended = await waitForJob(api, report.name);
    expect(ended.status, ended.exception ?? '').toBe('finished');
  });

  it('computes the attack metrics from the known variables and target the set names, and refuses unknown columns', async () => {
    // Prepare
    const { api } = fixture;
    await upload(api, 'wbcd.csv', wbcd);
    const columns = '      columns:\n        - {field: Sample_code_number, identifier: true}\n';
    const yaml = setYaml('wbcd', 'wbcd.csv', columns).replace(
      'spec: {schema: schema_avatarized, avatarization_ref: standard, seed: 42}',
      'spec:\n  schema: schema_avatarized\n  avatarization_ref: standard\n  privacy_metrics:\n    wbcd: {known_variables: [Clump_Thickness, Mitoses], target: Class}',
    );
    await putSet(api, 'attacked', yaml);
    const badYaml = setYaml('wbcd', 'wbcd.csv', columns).replace(
      'wbcd: {k: 20, ncp: 5}',
      'wbcd: {k: 20, ncp: 5, exclude_variables: {variable_names: [Mitosis]}}',
    );
    await putSet(api, 'misspelt', badYaml);

    // Act
    const standard = await createJob(api, { set_name: 'attacked', parameters_name: 'standard' });
    const privacy = await createJob(api, {
      set_name: 'attacked',
      parameters_name: 'privacy_metrics',
      depends_on: [standard.name],
    });
    const misspelt = await createJob(api, { set_name: 'misspelt', parameters_name: 'standard' });

    // Assess
    expect((await waitForJob(api, privacy.name)).status).toBe('finished');
    const metrics = JSON.parse(await download((await results(api, privacy.name)).privacy_metrics![0]!));
    expect(metrics.correlation_protection_rate).not.toBeNull();
    expect(metrics.details.known_variables).toEqual(['Clump_Thickness', 'Mitoses']);
    const failed = await waitForJob(api, misspelt.name);
    expect(failed.status).toBe('error');
    expect(failed.exception).toMatch(/name "Mitosis", which the table does not have/);
  });

  it('refuses a bad set with the document and field at fault, and stores nothing', async () => {
    // Act
    const { api } = fixture;
    const bad = await putSet(
      api,
      'bad',
      'kind: AvatarParameters\nmetadata: {name: standard}\nspec:\n  schema: missing\n  avatarization:\n    t: {k: 0}\n',
    );

    // Assess
    expectSeed004Error(bad, 400, 'invalid_parameters');
    expect(bad.text).toMatch(/document 1 \(AvatarParameters standard\): spec\.avatarization\.t\.k/);
    expectSeed004Error(await api.get('/api/v1/avatars/resources/bad'), 404, 'not_found');
  });

  it('keeps sets, jobs and results of one tenant from another', async () => {
    // Prepare
    const { api, platform } = fixture;
    await upload(api, 'wbcd.csv', wbcd);
    await putSet(
      api,
      'mine',
      setYaml(
        'wbcd',
        'wbcd.csv',
        '      columns:\n        - {field: Sample_code_number, identifier: true}\n',
      ),
    );
    const job = await createJob(api, { set_name: 'mine', parameters_name: 'advice' });
    await waitForJob(api, job.name);
    const other = api.withKey((await keyFor(platform, 'other-tenant')).key);

    // Act + Assess
    expectSeed004Error(await other.get('/api/v1/avatars/resources/mine'), 404, 'not_found');
    expectSeed004Error(await other.get(`/api/v1/avatars/jobs/${job.name}`), 404, 'not_found');
    expectSeed004Error(await other.get(`/api/v1/avatars/results/${job.name}`), 404, 'not_found');
    expectSeed004Error(
      await other.post('/api/v1/avatars/jobs', { set_name: 'mine', parameters_name: 'advice' }),
      404,
      'not_found',
    );
    const listed = await other.get<{ jobs: AvatarJob[] }>('/api/v1/avatars/jobs');
    expect(listed.body.jobs).toEqual([]);
  });
});
