import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { avatarizeJob } from '../../containers/avatarizer/avatarize-job.ts';
import { buildAvatarizer } from '../../containers/avatarizer/build.ts';
import { inProcessEngine } from '../../lambdas/domain/avatars/compute.ts';
import type { JobPlan } from '../../lambdas/domain/avatars/inputs.ts';
import type { ProcessingOutcome, ProcessingSpec } from '../../lambdas/domain/avatars/processing.ts';

const TENANT = 'tenant-a';
const TABLE_KEY = `${TENANT}/avatars/files/people.csv`;

/** A small mixed table: two numbers, an integer and a category, 120 rows, fixed. */
function peopleCsv(): string {
  const lines = ['height,weight,age,city'];
  for (let row = 0; row < 120; row += 1) {
    const height = 150 + ((row * 37) % 45);
    const weight = 50 + ((row * 53) % 40) + height / 10;
    lines.push(
      `${height},${weight.toFixed(1)},${20 + ((row * 7) % 50)},${['Lyon', 'Nantes', 'Lille'][row % 3]}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const standardPlan = (key: string): JobPlan => ({
  kind: 'standard',
  seed: 7,
  tables: [{ table: { name: 'people', key, types: {}, drop: [] }, parameters: { k: 5, ncp: 3 } }],
});

/** A processing job's folder as SageMaker lays it out: the spec, and the manifest's objects by key. */
async function jobRoot(root: string, csv: string, plan: JobPlan = standardPlan(TABLE_KEY)) {
  const spec: ProcessingSpec = {
    jobId: '01JOBAVATARIZER0000000000',
    plan,
    resultPrefix: `${TENANT}/avatars/results/01JOBAVATARIZER0000000000/`,
    inputs: { [TABLE_KEY]: 'files/people.csv' },
  };
  const specPath = join(root, 'processing/input/job/job.json');
  const tablePath = join(root, 'processing/input/tables/files/people.csv');
  for (const path of [specPath, tablePath]) await mkdir(dirname(path), { recursive: true });
  await writeFile(specPath, JSON.stringify(spec));
  await writeFile(tablePath, csv);
  return spec;
}

const resultsOf = (root: string) => join(root, 'processing/output/results');

describe('the avatarizer container', () => {
  let root: string | undefined;
  afterEach(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('writes the same files the Run function would, and an outcome naming them', async () => {
    // Prepare
    root = await mkdtemp(join(tmpdir(), 'avatarizer-'));
    const csv = peopleCsv();
    const spec = await jobRoot(root, csv);

    // Act
    const outcome = await avatarizeJob({ root });

    // Assess: the files are byte for byte what the engine makes in Lambda for the same plan and seed.
    const direct = await inProcessEngine.run({
      plan: spec.plan,
      inputs: { [TABLE_KEY]: new TextEncoder().encode(csv) },
      jobId: spec.jobId,
      resultPrefix: spec.resultPrefix,
    });
    expect(outcome.status).toBe('completed');
    const written = (await readdir(resultsOf(root))).sort();
    expect(written).toEqual([...direct.files.map((file) => file.name), '_outcome.json'].sort());
    // (The run metadata says how long each table took: that alone may differ.)
    const timeless = (bytes: Uint8Array) =>
      Buffer.from(bytes)
        .toString()
        .replace(/"seconds": [\d.e-]+/g, '');
    for (const file of direct.files) {
      const bytes = await readFile(join(resultsOf(root), file.name));
      expect(timeless(bytes), file.name).toBe(timeless(file.bytes));
    }
    const saved = JSON.parse(
      await readFile(join(resultsOf(root), '_outcome.json'), 'utf8'),
    ) as ProcessingOutcome;
    expect(saved).toEqual(outcome);
    expect(saved.status === 'completed' && saved.files.map((file) => file.resultKey)).toContain('shuffled');
  });

  it('refuses a bad table with the engine’s code and message, as an outcome rather than a crash', async () => {
    // Prepare: a ragged row.
    root = await mkdtemp(join(tmpdir(), 'avatarizer-'));
    await jobRoot(root, `${peopleCsv()}170,60\n`);

    // Act
    const outcome = await avatarizeJob({ root });

    // Assess
    expect(outcome).toMatchObject({ status: 'failed' });
    expect(outcome.status === 'failed' && outcome.message).toMatch(/line 122/);
    expect(await readdir(resultsOf(root))).toEqual(['_outcome.json']);
  });

  it('finds an object SageMaker put under its base name', async () => {
    // Prepare: the table beside the manifest's layout, not at its relative path.
    root = await mkdtemp(join(tmpdir(), 'avatarizer-'));
    await jobRoot(root, peopleCsv());
    const tables = join(root, 'processing/input/tables');
    await writeFile(join(tables, 'people.csv'), peopleCsv());
    await rm(join(tables, 'files'), { recursive: true });

    // Act
    const outcome = await avatarizeJob({ root });

    // Assess
    expect(outcome.status).toBe('completed');
  });

  it('bundles into one module that runs the job under SYNTHFORGE_ML_ROOT and exits 0', async () => {
    // Prepare
    root = await mkdtemp(join(tmpdir(), 'avatarizer-'));
    await jobRoot(root, peopleCsv());
    const bundle = await buildAvatarizer(join(root, 'bundle/avatarizer.mjs'));

    // Act: from a folder with no node_modules, as in the image.
    const child = spawn(process.execPath, [bundle], {
      cwd: dirname(bundle),
      env: { PATH: process.env.PATH ?? '', SYNTHFORGE_ML_ROOT: root },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    // Assess
    expect(code, output).toBe(0);
    expect(output).toMatch(/completed in [\d.]+ s/);
    expect(await readdir(resultsOf(root))).toContain('people.shuffled-0.csv');
  });

  it('exits non-zero, saying why, when the job has no spec', async () => {
    // Prepare
    root = await mkdtemp(join(tmpdir(), 'avatarizer-'));

    // Act / Assess
    await expect(avatarizeJob({ root })).rejects.toThrow(/job\.json/);
  });
});
