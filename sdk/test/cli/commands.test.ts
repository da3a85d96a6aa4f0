/**
 * Every command against the local platform over real HTTP, run in process: what it prints, what it
 * writes, what it exits with, and that a refused command stores nothing.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { usePlatform } from '../../../test/support/platform.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import type { BatchResource, BatchSummary, DownloadReport, Job } from '../../src/index.ts';
import { type CliRunOptions, runInProcess } from '../support/cli.ts';
import { FAILING_SEED, jobControls } from '../support/job-controls.ts';

const controls = jobControls();
const fixture = usePlatform({ wrapTask: controls.wrapTask });
const dirs: string[] = [];
const SMALL = { frames: 1, image_width: 64, image_height: 64 };
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

afterEach(() => controls.release());
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'synthforge-cli-'));
  dirs.push(dir);
  return dir;
}

function env(): NodeJS.ProcessEnv {
  return {
    SYNTHFORGE_API_URL: fixture.platform.url,
    SYNTHFORGE_API_KEY: fixture.platform.devKey,
    SYNTHFORGE_CONFIG_DIR: join(tmpdir(), 'synthforge-cli-unused-config'),
  };
}

function cli(argv: string[], options: CliRunOptions = {}) {
  return runInProcess(argv, { env: env(), ...options });
}

async function jsonlFile(jobs: readonly object[]): Promise<string> {
  const path = join(await tempDir(), 'jobs.jsonl');
  await writeFile(path, `${jobs.map((job) => JSON.stringify(job)).join('\n')}\n`);
  return path;
}

async function storedJobCount(): Promise<number> {
  const page = await fixture.api.get<{ jobs: Job[] }>('/api/v1/jobs', { limit: 100 });
  return page.body.jobs.length;
}

describe('generators', () => {
  it('lists and shows generators as the API describes them', async () => {
    // Act
    const list = await cli(['generators', 'list']);
    const shown = await cli(['generators', 'show', 'shapes', '--json']);
    const human = await cli(['generators', 'show', 'shapes']);

    // Assess
    expect(list.code).toBe(EXIT.ok);
    expect(list.stdout).toMatch(/^NAME\s+RUNS ON\s+PREVIEW\s+DESCRIPTION\nshapes\s+lambda\s+yes\s+/);
    const api = await fixture.api.get('/api/v1/generators/shapes');
    expect(JSON.parse(shown.stdout)).toEqual(api.body);
    expect(human.stdout).toMatch(/^frames\s+int\s+4\s+1–64\s+/m);
    expect(human.stdout).toMatch(/^palette\s+str\s+"vivid"\s+vivid \| pastel/m);
  });

  it('draws random parameter sets as JSON Lines, reproducibly with a seed, keeping --set values', async () => {
    // Prepare
    const argv = ['generators', 'random', 'shapes', '-n', '3', '--seed', '5', '--set', 'frames=1'];

    // Act
    const first = await cli(argv);
    const again = await cli(argv);

    // Assess
    expect(first.code).toBe(EXIT.ok);
    const sets = first.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(sets).toHaveLength(3);
    expect(sets.every((set) => set.frames === 1)).toBe(true);
    expect(again.stdout).toBe(first.stdout);
  });

  it('reports an unknown generator as a usage error', async () => {
    const run = await cli(['generators', 'show', 'nope']);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(/HTTP 404, NOT_FOUND/);
  });
});

describe('batch submit', () => {
  it('refuses invalid parameters line by line, and stores nothing', async () => {
    // Prepare
    const before = await storedJobCount();
    const file = await jsonlFile([SMALL, { frames: 500 }, { ...SMALL, palette: 'neon' }]);

    // Act
    const run = await cli(['batch', 'submit', '--generator', 'shapes', '--params', file]);

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain('2 of 3 jobs have invalid parameters for shapes; nothing was submitted');
    expect(run.stderr).toContain(`${file}:2: frames: `);
    expect(run.stderr).toContain(`${file}:3: palette: `);
    expect(await storedJobCount()).toBe(before);
  });

  it('submits, waits, downloads, and prints it all as JSON with --json', async () => {
    // Prepare
    const file = await jsonlFile([SMALL, { ...SMALL, frames: 2 }]);
    const dir = join(await tempDir(), 'out');

    // Act
    const run = await cli([
      'batch',
      'submit',
      '-g',
      'shapes',
      '-p',
      file,
      '--name',
      'cli json',
      '--download',
      dir,
      '--poll-interval',
      '50ms',
      '--json',
    ]);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    const printed = JSON.parse(run.stdout) as {
      batch: BatchResource;
      summary: BatchSummary;
      download: DownloadReport;
    };
    expect(printed.batch.name).toBe('cli json');
    expect(printed.summary.counts.completed).toBe(2);
    expect(printed.download.downloaded.sort()).toEqual(printed.batch.job_runs.map((job) => job.id).sort());
    for (const job of printed.batch.job_runs) {
      const frames = await readdir(join(dir, job.id, 'frames'));
      expect(frames).toHaveLength(job.param_values.frames as number);
      const png = await readFile(join(dir, job.id, 'frames', frames[0] ?? ''));
      expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
      const annotations = JSON.parse(await readFile(join(dir, job.id, 'annotations.json'), 'utf8'));
      expect(annotations.images).toHaveLength(frames.length);
    }
    expect(await readFile(join(dir, 'batch_id.txt'), 'utf8')).toBe(`${printed.batch.id}\n`);
  });

  it('reads parameters from stdin with --params -', async () => {
    // Act
    const run = await cli(['batch', 'submit', '-g', 'shapes', '--params', '-', '--preview', '--json'], {
      stdin: `${JSON.stringify(SMALL)}\n${JSON.stringify(SMALL)}\n`,
    });

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    const { batch } = JSON.parse(run.stdout) as { batch: BatchResource };
    expect(batch.job_runs.map((job) => job.is_preview)).toEqual([true, true]);
  });

  it('exits 1 when a job fails, and names it with its error', async () => {
    // Prepare
    const file = await jsonlFile([SMALL, { ...SMALL, seed: FAILING_SEED }]);

    // Act
    const run = await cli([
      'batch',
      'submit',
      '-g',
      'shapes',
      '-p',
      file,
      '--wait',
      '--poll-interval',
      '50ms',
    ]);

    // Assess
    expect(run.code).toBe(EXIT.jobsFailed);
    expect(run.stdout).toMatch(/: completed · 1 completed, 1 failed of 2 jobs in \d+s/);
    expect(run.stdout).toMatch(/ {2}failed [0-9A-Z]{26}: \w+: /);
  });

  it('shows a bar on a terminal and plain lines otherwise', async () => {
    // Prepare
    const file = await jsonlFile([SMALL, SMALL, SMALL]);

    // Act
    const onTerminal = await cli(
      ['batch', 'submit', '-g', 'shapes', '-p', file, '-w', '--poll-interval', '50ms'],
      {
        tty: true,
      },
    );
    const inLog = await cli(['batch', 'submit', '-g', 'shapes', '-p', file, '-w', '--poll-interval', '50ms']);

    // Assess
    const ERASE_LINE = '\r\u001b[2K';
    const lastFrame = onTerminal.stderr.split(ERASE_LINE).at(-1) ?? '';
    expect(onTerminal.stderr.startsWith(ERASE_LINE)).toBe(true);
    expect(lastFrame).toMatch(/^batch [0-9A-Z]{26} \[█+\] 3\/3 done\n/);
    expect(inLog.stderr).not.toContain('\r');
    expect(inLog.stderr).toMatch(/^batch [0-9A-Z]{26}: 3\/3 done$/m);
  });
});

describe('a batch after submission', () => {
  it('waits with a time limit (exit 4), cancels (exit 0), and refuses a second cancel (exit 2)', async () => {
    // Prepare
    controls.hold();
    const file = await jsonlFile([SMALL, SMALL]);
    const submitted = await cli(['batch', 'submit', '-g', 'shapes', '-p', file, '--json']);
    const { batch } = JSON.parse(submitted.stdout) as { batch: BatchResource };

    // Act
    const wait = await cli(['batch', 'wait', batch.id, '--timeout', '300ms', '--poll-interval', '50ms']);
    const cancel = await cli(['batch', 'cancel', batch.id]);
    controls.release();
    const again = await cli(['batch', 'cancel', batch.id]);
    const status = await cli(['batch', 'status', batch.id, '--json']);

    // Assess
    expect(wait.code).toBe(EXIT.timedOut);
    expect(wait.stderr).toContain(`synthforge batch wait ${batch.id}`);
    expect(cancel.code).toBe(EXIT.ok);
    expect(cancel.stdout).toBe(`Batch ${batch.id} is cancelled.\n`);
    expect(again.code).toBe(EXIT.usage);
    expect(again.stderr).toMatch(/HTTP 409/);
    const summary = JSON.parse(status.stdout) as BatchSummary;
    expect(summary.status).toBe('cancelled');
  });

  it('downloads again without fetching what is already there', async () => {
    // Prepare
    const file = await jsonlFile([SMALL, SMALL]);
    const submitted = await cli(['batch', 'submit', '-g', 'shapes', '-p', file, '-w', '--json']);
    const { batch } = JSON.parse(submitted.stdout) as { batch: BatchResource };
    const dir = await tempDir();

    // Act
    const first = await cli(['batch', 'download', batch.id, dir, '--json']);
    const second = await cli(['batch', 'download', batch.id, dir]);
    const otherDir = await cli(['batch', 'download', '01JD3X2K8Q7YV4N6B5M9T0RWZC', dir]);

    // Assess
    expect((JSON.parse(first.stdout) as DownloadReport).downloaded).toHaveLength(2);
    expect(second.code).toBe(EXIT.ok);
    expect(second.stdout).toMatch(/^Downloaded 0 jobs into .*: 0 B.*; 2 already there\n$/);
    expect(otherDir.code).toBe(EXIT.usage);
  });

  it('lists batches and jobs, shows a job, and prints its log', async () => {
    // Prepare
    const file = await jsonlFile([SMALL]);
    const submitted = await cli([
      'batch',
      'submit',
      '-g',
      'shapes',
      '-p',
      file,
      '--name',
      'listed',
      '-w',
      '--json',
    ]);
    const { batch } = JSON.parse(submitted.stdout) as { batch: BatchResource };

    // Act
    const batches = await cli(['batch', 'list', '--limit', '1']);
    const jobs = await cli(['jobs', 'list', '--batch', batch.id, '--json']);
    const shown = await cli(['jobs', 'show', batch.id]);
    const logs = await cli(['jobs', 'logs', batch.id, '--tail', '2']);
    const followed = await cli(['jobs', 'logs', batch.id, '--follow']);

    // Assess
    expect(batches.stdout).toMatch(new RegExp(`^${batch.id}\\s+completed\\s+1\\s+\\S+ \\S+\\s+listed$`, 'm'));
    const listed = JSON.parse(jobs.stdout) as Job[];
    expect(listed.map((job) => job.id)).toEqual([batch.job_runs[0]?.id]);
    expect(shown.stdout).toMatch(/^status: {4}completed$/m);
    expect(shown.stdout).toMatch(/^jobs: {6}1 \(1 completed\)$/m);
    expect(logs.stdout.trim().split('\n')).toHaveLength(2);
    expect(logs.stdout).toMatch(/info {3}completed: 1 completed/);
    expect(followed.code).toBe(EXIT.ok);
    expect(followed.stdout.endsWith(logs.stdout)).toBe(true);
  });

  it('estimates without starting anything', async () => {
    // Prepare
    const before = await storedJobCount();

    // Act
    const run = await cli(['batch', 'estimate', '-g', 'shapes', '--random', '4', '--set', 'frames=3']);

    // Assess
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toMatch(/^4 jobs, 12 frames\nestimated cost: \$\d+\.\d{4}\n/);
    expect(await storedJobCount()).toBe(before);
  });

  it("estimates a model's batch in instance seconds", async () => {
    // Act
    const run = await cli(['batch', 'estimate', '-g', 'shapes-endpoint', '-p', '-'], {
      stdin: '{"prompt": "amber stars", "width": 512, "height": 512}\n{"prompt": "teal circles"}\n',
    });

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toMatch(/^2 jobs, 2 frames\n/);
    expect(run.stdout).toMatch(/^ {2}GPU {12}\$\d+\.\d{4} \([\d.]+ instance seconds\)$/m);
  });
});

describe('configuration', () => {
  it('stores profiles, switches between them, and the environment overrides them', async () => {
    // Prepare
    const configEnv = { SYNTHFORGE_CONFIG_DIR: await tempDir() };
    const run = (argv: string[], options: CliRunOptions = {}) =>
      runInProcess(argv, { env: configEnv, ...options });

    // Act
    await run(['config', 'set', 'api_url', `${fixture.platform.url}/`]);
    await run(['config', 'set', 'api_key', '-'], { stdin: `${fixture.platform.devKey}\n` });
    await run(['config', 'set', 'api_url', 'http://127.0.0.1:9', '--profile', 'broken']);
    const viaDefault = await run(['health']);
    const viaBroken = await run(['health', '--profile', 'broken']);
    await run(['config', 'use', 'broken']);
    const shown = await run(['config', 'show', '--json']);
    const overridden = await runInProcess(['batch', 'list'], {
      env: {
        ...configEnv,
        SYNTHFORGE_API_URL: fixture.platform.url,
        SYNTHFORGE_API_KEY: fixture.platform.devKey,
      },
    });

    // Assess
    expect(viaDefault.code).toBe(EXIT.ok);
    expect(viaDefault.stdout).toBe(`ok: ${fixture.platform.url} (version 0.1.0, stage local)\n`);
    expect(viaBroken.code).toBe(EXIT.unavailable);
    const config = JSON.parse(shown.stdout);
    expect(config.profile).toBe('broken');
    expect(config.profiles.default.api_key).toBe(`sf_…${fixture.platform.devKey.slice(-4)}`);
    expect(shown.stdout).not.toContain(fixture.platform.devKey);
    expect(overridden.code).toBe(EXIT.ok);
  });
});
