/**
 * `synthforge avatars run | advise` in process against the local platform: a 200-row WBCD table
 * avatarized with another generator's table compared alongside, each job's status changes on
 * stderr, the avatars, metrics and report written into the folder, and the metrics printed against
 * their targets; what finished written when a job fails, and the failure named; the advice
 * printed; a mistake on the command line refused before anything starts.
 */
import { readFileSync } from 'node:fs';
import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AvatarJob } from '../../../contracts/avatars.ts';
import { useTempDirs } from '../../../test/support/fixture.ts';
import { usePlatform } from '../../../test/support/platform.ts';
import { formatCsv, parseCsv } from '../../src/avatars/csv.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import type { FetchFunction } from '../../src/http.ts';
import { type CliRunOptions, runInProcess } from '../support/cli.ts';

const DATA = new URL('../../../../shared/data/avatars/', import.meta.url);
const firstRows = (file: string, rows: number) =>
  formatCsv(parseCsv(readFileSync(new URL(file, DATA), 'utf8')).slice(0, rows + 1));

const fixture = usePlatform();
const tempDir = useTempDirs();
let dir: string;
let wbcd: string;
let synthpop: string;

beforeAll(async () => {
  dir = await tempDir('cli-avatars');
  wbcd = join(dir, 'wbcd.csv');
  synthpop = join(dir, 'wbcd_synthpop.csv');
  // The paper's synthpop table of WBCD is row-aligned with it: its first rows match the original's.
  await writeFile(wbcd, firstRows('breast_cancer_wisconsin.csv', 200));
  await writeFile(synthpop, firstRows('wbcd_synthpop_base.csv', 200));
});

const cli = (argv: string[], options: CliRunOptions = {}) =>
  runInProcess(argv, {
    env: { SYNTHFORGE_API_URL: fixture.platform.url, SYNTHFORGE_API_KEY: fixture.platform.devKey },
    ...options,
  });

describe('synthforge avatars run', () => {
  it('writes the avatars, metrics, comparison and report, and prints the metrics against their targets', async () => {
    // Prepare
    const out = join(dir, 'out');

    // Act
    const run = await cli([
      'avatars',
      'run',
      wbcd,
      '--identifier',
      'Sample_code_number',
      '--k',
      '10',
      '--ncp',
      '2',
      '--seed',
      '5',
      '--compare',
      synthpop,
      '--out',
      out,
    ]);

    // Assess: the files, each job's statuses on stderr, the metrics table on stdout.
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect((await readdir(out)).sort()).toEqual(
      [
        'compare.privacy.json',
        'compare.signal.json',
        'privacy.json',
        'report.html',
        'signal.json',
        'wbcd.avatars.csv',
      ].sort(),
    );
    const avatars = parseCsv(await readFile(join(out, 'wbcd.avatars.csv'), 'utf8'));
    expect(avatars).toHaveLength(201);
    expect(avatars[0]).not.toContain('Sample_code_number');
    expect(JSON.parse(await readFile(join(out, 'privacy.json'), 'utf8')).targets.hidden_rate).toBe('> 90');
    expect(
      JSON.parse(await readFile(join(out, 'compare.signal.json'), 'utf8')).hellinger_mean,
    ).toBeGreaterThan(0);
    expect(await readFile(join(out, 'report.html'), 'utf8')).toContain('<html');
    expect(run.stderr).toMatch(/^standard \w+: queued$/m);
    expect(run.stderr).toMatch(/^report \w+: waiting$/m);
    expect(run.stderr).toMatch(/^report \w+: finished$/m);
    expect(run.stdout).toMatch(/^METRIC\s+AVATARS\s+TARGET\s+MET\s+COMPARED\s+COMPARED MET$/m);
    expect(run.stdout).toMatch(/^hidden_rate\s+\d+\.\d+\s+> 90\s+(met|not met)\s+\d+\.\d+\s+(met|not met)$/m);
    expect(run.stdout).toMatch(/^hellinger_mean\s+0\.\d{3}\s+< 0\.1\s+/m);
    expect(run.stdout).toMatch(/\d+ of \d+ targets met; results in .*out$/m);
  });

  it('writes what finished when the report fails, then names the files and the failed job: exit 1', async () => {
    // Prepare: the platform's answers, except that its report job is seen to fail once it ends.
    const out = join(dir, 'out-report-failed');
    const reportFails: FetchFunction = async (input, init) => {
      const response = await fetch(input, init);
      if ((init.method ?? 'GET') !== 'GET' || !/\/avatars\/jobs\/[^/]+$/.test(new URL(input).pathname)) {
        return response;
      }
      const job = (await response.json()) as Partial<AvatarJob>;
      if (job.kind === 'report' && job.done) Object.assign(job, { status: 'error', exception: 'it broke' });
      return Response.json(job, { status: response.status });
    };

    // Act
    const run = await cli(
      ['avatars', 'run', wbcd, '--identifier', 'Sample_code_number', '--k', '10', '--ncp', '2', '--out', out],
      { fetch: reportFails },
    );

    // Assess: the avatars and both metrics are there, the report is not, and stderr says so.
    expect(run.code, run.stderr).toBe(EXIT.jobsFailed);
    expect((await readdir(out)).sort()).toEqual(['privacy.json', 'signal.json', 'wbcd.avatars.csv']);
    expect(parseCsv(await readFile(join(out, 'wbcd.avatars.csv'), 'utf8'))).toHaveLength(201);
    expect(run.stderr).toMatch(/^error: the report job \w+ \(report\) ended error: it broke$/m);
    expect(run.stderr).toMatch(/^ {2}report \w+: error$/m);
    expect(run.stderr).toMatch(/^ {2}standard \w+: finished$/m);
    for (const file of ['wbcd.avatars.csv', 'privacy.json', 'signal.json']) {
      expect(run.stderr).toContain(`written before the failure: ${join(out, file)}`);
    }
    expect(run.stdout).toBe('');
  });

  it('writes nothing when the avatars fail, and says so: exit 1', async () => {
    // Prepare: a ragged row fails the standard job, and its dependants with it.
    const ragged = join(dir, 'ragged.csv');
    await writeFile(ragged, 'a,b,c\n1,2,3\n4,5\n6,7,8\n');
    const out = join(dir, 'out-ragged');

    // Act
    const run = await cli(['avatars', 'run', ragged, '--out', out]);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.jobsFailed);
    expect(run.stderr).toMatch(
      /^error: the standard job \w+ \(standard\) ended error: .*line 3 has 2 fields/m,
    );
    expect(run.stderr).toMatch(/^ {2}nothing was written: no job finished$/m);
    await expect(access(out)).rejects.toThrow(/ENOENT/);
  });

  it('refuses an unknown column or a missing file before starting anything: exit 2', async () => {
    // Act
    const column = await cli([
      'avatars',
      'run',
      wbcd,
      '--identifier',
      'patient',
      '--out',
      join(dir, 'never'),
    ]);
    const file = await cli(['avatars', 'run', join(dir, 'missing.csv')]);
    const k = await cli(['avatars', 'run', wbcd, '--k', '0']);

    // Assess
    expect(column.code).toBe(EXIT.usage);
    expect(column.stderr).toMatch(/table wbcd has no column patient/);
    expect(file.code).toBe(EXIT.usage);
    expect(file.stderr).toMatch(/cannot read the table .*missing\.csv: ENOENT/);
    expect(k.code).toBe(EXIT.usage);
    expect(k.stderr).toMatch(/--k takes a whole number from 1 to 1000/);
  });
});

describe('synthforge avatars advise', () => {
  it('prints the advised parameters and why; --json gives the advice as the server wrote it', async () => {
    // Act
    const run = await cli(['avatars', 'advise', wbcd, '--identifier', 'Sample_code_number']);
    const json = await cli(['avatars', 'advise', wbcd, '--identifier', 'Sample_code_number', '--json']);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toMatch(/^table:\s+wbcd$/m);
    expect(run.stdout).toMatch(/^k:\s+\d+$/m);
    expect(run.stdout).toMatch(/^ncp:\s+\d+$/m);
    expect(run.stderr).toMatch(/^advice \w+: finished$/m);
    expect(json.code, json.stderr).toBe(EXIT.ok);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({
        table_name: 'wbcd',
        advice: expect.objectContaining({ parameters: expect.any(Object) }),
      }),
    ]);
  });
});
