/**
 * Seed 000 from the shell, as a user types it: each step is a spawned `synthforge` process with its
 * own environment, talking to the local platform over HTTP; the output and the files it leaves
 * are what is checked.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../../../test/support/platform.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import type { BatchSummary } from '../../src/index.ts';
import { runSpawned } from '../support/cli.ts';
import { jobControls } from '../support/job-controls.ts';

const controls = jobControls();
const fixture = usePlatform({ wrapTask: controls.wrapTask });
let home: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'synthforge-shell-'));
});
afterEach(() => controls.release());
afterAll(() => rm(home, { recursive: true, force: true }));

/** A user's shell: their configuration folder, nothing of the developer's environment. */
function synthforge(argv: string[], stdin?: string) {
  return runSpawned(argv, {
    env: { SYNTHFORGE_CONFIG_DIR: join(home, 'config') },
    ...(stdin ? { stdin } : {}),
  });
}

describe('seed 000 from the shell', () => {
  it('configures, explores, submits, waits, downloads and inspects a batch', async () => {
    // Configure once, the key from stdin so that it stays out of the shell history.
    const setUrl = await synthforge(['config', 'set', 'api_url', fixture.platform.url]);
    const setKey = await synthforge(['config', 'set', 'api_key', '-'], fixture.platform.devKey);
    expect([setUrl.code, setKey.code]).toEqual([EXIT.ok, EXIT.ok]);
    expect((await stat(join(home, 'config', 'config.json'))).mode & 0o777).toBe(0o600);

    // Explore the generator, then draw parameters into a file.
    const shown = await synthforge(['generators', 'show', 'shapes']);
    expect(shown.stdout).toMatch(/^image_width\s+int\s+512\s+64–1024/m);
    const drawn = await synthforge([
      'generators',
      'random',
      'shapes',
      '-n',
      '3',
      '--seed',
      '11',
      '--set',
      'frames=2',
      '--set',
      'image_width=96',
      '--set',
      'image_height=64',
    ]);
    expect(drawn.code, drawn.stderr).toBe(EXIT.ok);
    const params = join(home, 'jobs.jsonl');
    await writeFile(params, drawn.stdout);

    // Submit, wait and download in one command, the way the seed's script does it step by step.
    const out = join(home, 'scenes');
    const submitted = await synthforge([
      'batch',
      'submit',
      '--generator',
      'shapes',
      '--params',
      params,
      '--name',
      'three scenes',
      '--download',
      out,
      '--poll-interval',
      '100ms',
    ]);
    expect(submitted.code, submitted.stderr).toBe(EXIT.ok);
    const batchId = /^Submitted batch ([0-9A-Z]{26}) "three scenes" with 3 jobs\.$/m.exec(
      submitted.stdout,
    )?.[1];
    expect(batchId).toBeDefined();
    expect(submitted.stdout).toMatch(/: completed · 3 completed of 3 jobs in \d+s$/m);
    expect(submitted.stdout).toMatch(/^Downloaded 3 jobs into .*scenes: [\d.]+ KiB/m);
    // Not a terminal: plain progress lines on stderr, and no carriage returns.
    expect(submitted.stderr).toMatch(/^batch [0-9A-Z]{26}: 3\/3 done/m);
    expect(submitted.stderr).not.toContain('\r');

    // The files: one folder per job, each with its frames, annotations and parameters.
    const jobDirs = (await readdir(out)).filter((name) => /^[0-9A-Z]{26}$/.test(name));
    expect(jobDirs).toHaveLength(3);
    for (const jobDir of jobDirs) {
      expect((await readdir(join(out, jobDir, 'frames'))).sort()).toEqual([
        'frame_0000.png',
        'frame_0001.png',
      ]);
      const jobParams = JSON.parse(await readFile(join(out, jobDir, 'params.json'), 'utf8'));
      expect(jobParams).toMatchObject({ frames: 2, image_width: 96, image_height: 64 });
    }

    // Inspect it afterwards, as JSON for a script.
    const status = await synthforge(['batch', 'status', batchId ?? '', '--json']);
    const summary = JSON.parse(status.stdout) as BatchSummary;
    expect(summary.counts.completed).toBe(3);
    expect(summary.job_runs.map((job) => job.id).sort()).toEqual(jobDirs.sort());
  });

  it('exits 2 for a mistake and 3 when the API cannot be reached', async () => {
    const mistake = await synthforge(['batch', 'submit', '--generator', 'shapes']);
    const unreachable = await runSpawned(['health'], {
      env: { SYNTHFORGE_CONFIG_DIR: join(home, 'none'), SYNTHFORGE_API_URL: 'http://127.0.0.1:9' },
    });

    expect(mistake.code).toBe(EXIT.usage);
    expect(mistake.stderr).toContain('exactly one of --params FILE and --random N');
    expect(unreachable.code).toBe(EXIT.unavailable);
    expect(unreachable.stderr).toMatch(/^error: .*http:\/\/127\.0\.0\.1:9\/health/m);
  });

  it('stops waiting on Ctrl-C with exit 130, and the batch goes on', async () => {
    // Prepare
    controls.hold();
    const env = { SYNTHFORGE_API_URL: fixture.platform.url, SYNTHFORGE_API_KEY: fixture.platform.devKey };
    const submitted = await runSpawned(['batch', 'submit', '-g', 'shapes', '--random', '2', '--json'], {
      env,
    });
    const batchId = (JSON.parse(submitted.stdout) as { batch: { id: string } }).batch.id;

    // Act
    const waited = await runSpawned(['batch', 'wait', batchId, '--poll-interval', '100ms'], {
      env,
      interruptWhen: /0\/2 done/,
    });

    // Assess
    expect(waited.code).toBe(130);
    expect(waited.stderr).toContain(`Stopped waiting; batch ${batchId} goes on`);
    const job = await fixture.api.get<{ status: string }>(`/api/v1/jobs/${batchId}`);
    expect(job.body.status).toBe('running');
  });
});
