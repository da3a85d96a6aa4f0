/**
 * Infinity's real Python client (`infinity_core`, seed 000; MIT, copied unmodified into
 * `../shared/clients/infinity-core`) against the local platform: the flow an
 * Infinity user's script runs (infinity-client-flow.py), on the client's own paths with its
 * `Authorization: Token <key>`. It needs Debian's python3-requests, which `npm test` installs
 * (scripts/setup-trainer.sh). Where `../shared` is absent this test says so and is skipped.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../lib/paths.ts';
import { useTempDirs } from '../support/fixture.ts';
import { usePlatform } from '../support/platform.ts';

const CLIENT = resolve(REPO_ROOT, '..', 'shared', 'clients', 'infinity-core');
const FLOW = join(REPO_ROOT, 'test', 'api', 'infinity-client-flow.py');
const PYTHON = process.env.SYNTHFORGE_PYTHON ?? '/usr/bin/python3';
const available = existsSync(join(CLIENT, 'infinity_core', 'session.py'));

interface FlowReport {
  generators: string[];
  random_draws_accepted: number;
  downloaded: string[];
  unnamed_batch_name: string;
  usage: Record<string, { samples: number; standard: number; preview: number }>;
}

const TITLE = available
  ? "Infinity's client, unmodified, against the local platform"
  : `Infinity's client: skipped, ${CLIENT} is absent (the real client's flow was not run)`;

describe.skipIf(!available)(TITLE, () => {
  const fixture = usePlatform();
  const tempDir = useTempDirs();

  it('initialises, draws, validates, submits, awaits, downloads into one folder, lists batches, reads usage and estimates', async () => {
    // Prepare
    const out = await tempDir('infinity-client');

    // Act: asynchronously, so that the platform in this process keeps answering the client.
    const run = await promisify(execFile)(
      PYTHON,
      [FLOW, fixture.platform.url, fixture.platform.devKey, out],
      {
        env: { ...process.env, PYTHONPATH: CLIENT, PYTHONDONTWRITEBYTECODE: '1' },
        timeout: 240_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `the client's flow failed: ${error.message}\n${error.stdout ?? ''}\n${error.stderr ?? ''}`,
      );
    });

    // Assess: the flow asserts each step itself; its report says what it saw.
    const line = run.stdout.split('\n').find((text) => text.startsWith('REPORT '));
    expect(line, run.stdout + run.stderr).toBeDefined();
    const report = JSON.parse(line?.slice('REPORT '.length) ?? '{}') as FlowReport;
    expect(report.generators).toContain('shapes');
    expect(report.random_draws_accepted).toBe(50);
    expect(report.unnamed_batch_name).toMatch(/^batch \d{4}-/);
    expect(report.usage.shapes).toMatchObject({ standard: 4, preview: 1, samples: 8 });
    // Three jobs in one folder, side by side, plus the client's batch marker; and the preview.
    const named = report.downloaded.filter((path) => path.startsWith('named/'));
    expect(named.filter((path) => path.endsWith('/annotations.json'))).toHaveLength(3);
    expect(named.filter((path) => /\/frames\/frame_000[01]\.png$/.test(path))).toHaveLength(6);
    expect(named).toContain('named/batch_id.txt');
    expect(
      report.downloaded.filter((path) => path.startsWith('preview/') && path.endsWith('.png')),
    ).toHaveLength(1);
  }, 300_000);
});
