/**
 * Seed 004 from TypeScript: the avatars methods of `ApiClient` (the YAML sent as YAML, errors in
 * seed 004's body arriving typed) and the `Runner` over real HTTP against the local platform: a
 * table of 200 WBCD rows avatarized through the client's job graph, its avatars, metrics and
 * report read back; advice applied; a failed job named; a set saved as YAML and read back; a set
 * of two tables reported table by table. The CSV, YAML and polling helpers are held to their
 * contracts without the platform, the CSV reader to the server's reading of the same text.
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AvatarJob, FileName } from '../../contracts/avatars.ts';
import { fileColumn, sniffDelimiter, tokenize } from '../../lambdas/domain/avatars/engine/csv-tokenizer.ts';
import { TableError } from '../../lambdas/domain/avatars/engine/validate.ts';
import { parseResources } from '../../lambdas/domain/avatars/parse-resources.ts';
import { useTempDirs } from '../../test/support/fixture.ts';
import { usePlatform } from '../../test/support/platform.ts';
import type { ApiClient } from '../src/api-client.ts';
import { formatCsv, parseCsv, rowsToCsv } from '../src/avatars/csv.ts';
import { Runner, uploadFileName } from '../src/avatars/runner.ts';
import { AvatarJobError, AvatarWaitTimeoutError, waitForAvatarJobs } from '../src/avatars/wait.ts';
import { AvatarYamlError, setFromYaml } from '../src/avatars/yaml-config.ts';
import { SynthForgeError } from '../src/errors.ts';
import { Manager } from '../src/manager.ts';
import type { Timers } from '../src/retry.ts';

const DATA = new URL('../../../shared/data/avatars/', import.meta.url);
/** The header and the first 200 rows of WBCD: small enough for a test, large enough for k = 10. */
const wbcd200 = parseCsv(readFileSync(new URL('breast_cancer_wisconsin.csv', DATA), 'utf8')).slice(0, 201);
const ID = 'Sample_code_number';

const fixture = usePlatform();
const tempDir = useTempDirs();
let manager: Manager;

beforeAll(() => {
  manager = new Manager({ baseUrl: fixture.platform.url, apiKey: fixture.platform.devKey });
});

async function failureOf<E extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => E,
): Promise<E> {
  const error = await promise.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(type);
  return error as E;
}

describe('the avatars routes', () => {
  it('puts a set as YAML and reads the same text back; a bad set is a typed 400 naming the document', async () => {
    // Prepare
    const client = manager.client;
    await client.uploadAvatarTable('routes.csv', new TextEncoder().encode(rowsToCsv(wbcd200)));
    const yaml =
      'kind: AvatarSchema\nmetadata: {name: schema}\nspec:\n  tables:\n    - {name: t, data: {file: routes.csv}}\n';

    // Act
    const stored = await client.putAvatarResources('routes_set', yaml);
    const read = await client.getAvatarResources('routes_set');
    const bad = await failureOf(
      client.putAvatarResources(
        'bad_set',
        'kind: AvatarParameters\nmetadata: {name: p}\nspec: {schema: none}\n',
      ),
      SynthForgeError,
    );
    const missing = await failureOf(client.getAvatarJob('01JD3X2K8Q7YV4N6B5M9T0RWZC'), SynthForgeError);

    // Assess
    expect(stored.documents).toEqual([{ kind: 'AvatarSchema', name: 'schema' }]);
    expect(read).toBe(yaml);
    expect(bad).toMatchObject({ status: 400, code: 'INVALID_PARAMETERS' });
    expect(bad.message).toMatch(/document 1 \(AvatarParameters p\): spec\.schema/);
    expect(missing).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });
});

describe('Runner', () => {
  it('avatarizes a table through standard → metrics → report, and reads back avatars, metrics and report', async () => {
    // Prepare
    const runner = manager.createRunner();
    await runner.addTable('wbcd', wbcd200, { identifiers: [ID] });
    runner.setParameters('wbcd', { k: 10, ncp: 2, seed: 7 });
    const seen: string[] = [];

    // Act
    const jobs = await runner.run({ onStatus: (job) => seen.push(`${job.kind}:${job.status}`) });
    const shuffled = await runner.shuffled('wbcd');
    const privacy = await runner.privacyMetrics('wbcd');
    const signal = await runner.signalMetrics('wbcd');
    const report = join(await tempDir('avatars-report'), 'report.html');
    const bytes = await runner.downloadReport(report);

    // Assess: every job finished, the report after both metrics.
    expect(runner.setName).toMatch(/^synthforge_ts_[0-9a-f]{8}$/);
    expect(Object.values(jobs).map((job) => job.status)).toEqual([
      'finished',
      'finished',
      'finished',
      'finished',
    ]);
    expect(jobs.report.depends_on.sort()).toEqual(
      [jobs.privacy_metrics.name, jobs.signal_metrics.name].sort(),
    );
    expect(seen).toContain('report:waiting');
    expect(seen).toContain('report:finished');
    // One avatar per row, without the identifier.
    expect(shuffled).toHaveLength(200);
    expect(Object.keys(shuffled[0] ?? {})).toEqual(wbcd200[0]?.filter((column) => column !== ID));
    expect(privacy.targets.hidden_rate).toBe('> 90');
    expect(typeof privacy.met.hidden_rate).toBe('boolean');
    expect(privacy.hidden_rate).toBeGreaterThan(50);
    expect(signal.targets.hellinger_mean).toBe('< 0.1');
    expect(signal.hellinger_mean).toBeGreaterThan(0);
    expect(bytes).toBeGreaterThan(0);
    expect(await readFile(report, 'utf8')).toContain('<html');
  });

  it("applies the advice's k, ncp and use_categorical_reduction, keeping the table's other parameters", async () => {
    // Prepare: the table as a file, its identifier declared.
    const file = join(await tempDir('avatars-advice'), 'wbcd.csv');
    await writeFile(file, formatCsv(wbcd200));
    const runner = manager.createRunner();
    await runner.addTable('wbcd', file, { identifiers: [ID] });
    runner.setParameters('wbcd', { k: 3, column_weights: { Clump_Thickness: 2 } });

    // Act
    const advice = await runner.adviseParameters();

    // Assess
    const advised = advice[0]?.advice.parameters;
    expect(advice.map((entry) => entry.table_name)).toEqual(['wbcd']);
    expect(advised?.k).toBeGreaterThan(3);
    expect(runner.parameters('wbcd')).toEqual({
      k: advised?.k,
      ncp: advised?.ncp,
      use_categorical_reduction: advised?.use_categorical_reduction,
      column_weights: { Clump_Thickness: 2 },
    });
    expect(runner.toYaml()).toContain(`k: ${advised?.k}`);
  });

  it('names the job that failed and why, once its dependants have ended parent_error', async () => {
    // Prepare: a ragged row fails the standard job (the Runner reads only the header).
    const file = join(await tempDir('avatars-ragged'), 'ragged.csv');
    await writeFile(file, 'a,b,c\n1,2,3\n4,5\n6,7,8\n');
    const runner = manager.createRunner();
    await runner.addTable('ragged', file);

    // Act
    const error = await failureOf(runner.run(), AvatarJobError);

    // Assess
    expect(error.job).toMatchObject({ kind: 'standard', status: 'error' });
    expect(error.message).toMatch(/the standard job .+ ended error: .*line 3 has 2 fields/);
    expect(
      error.jobs
        .filter((job) => job.status === 'parent_error')
        .map((job) => job.kind)
        .sort(),
    ).toEqual(['privacy_metrics', 'report', 'signal_metrics']);
  });

  it('saves its set as YAML the server accepts, and a Runner made from it writes the same set', async () => {
    // Prepare
    const runner = manager.createRunner('yaml_round_trip');
    await runner.addTable('wbcd', wbcd200, { identifiers: [ID], types: { Class: 'category' } });
    runner.setParameters('wbcd', {
      k: 10,
      ncp: 2,
      exclude_variable_names: ['Mitoses'],
      imputation_method: 'knn',
      imputation_k: 4,
      seed: 11,
    });

    // Act
    const yaml = runner.toYaml();
    const again = Runner.fromYaml(manager, yaml);
    const stored = await runner.client.putAvatarResources(runner.setName, yaml);

    // Assess
    expect(again.setName).toBe('yaml_round_trip');
    expect(again.toYaml()).toBe(yaml);
    expect(again.parameters('wbcd')).toEqual(runner.parameters('wbcd'));
    expect(parseResources(yaml).documents).toHaveLength(8);
    expect(stored.documents.map((document) => document.name)).toEqual([
      'avatar-metadata',
      'schema',
      'schema_avatarized',
      'standard',
      'privacy_metrics',
      'signal_metrics',
      'report',
      'advice',
    ]);
    expect(yaml).toMatch(/- field: Sample_code_number\n\s+identifier: true/);
  });

  it("writes every table's report of a set of several tables, or the one named", async () => {
    // Prepare: two tables, one with a dot in its name, which the server escapes in file names.
    const runner = manager.createRunner();
    const [header = [], ...rows] = wbcd200;
    await runner.addTable('wbcd', [header, ...rows.slice(0, 100)], { identifiers: [ID] });
    await runner.addTable('wbcd.late', [header, ...rows.slice(100)], { identifiers: [ID] });
    for (const table of runner.tables) runner.setParameters(table, { k: 10, ncp: 2, seed: 3 });
    await runner.run();
    const dir = await tempDir('avatars-reports');

    // Act
    const bytes = await runner.downloadReport(join(dir, 'reports'));
    const one = await runner.downloadReport(join(dir, 'late.html'), { table: 'wbcd.late' });

    // Assess: one page per table, each of its own table.
    const pages = (await readdir(join(dir, 'reports'))).sort();
    expect(pages).toEqual(['wbcd.report.html', 'wbcd_dot_late.report.html']);
    const first = await readFile(join(dir, 'reports', 'wbcd.report.html'), 'utf8');
    const late = await readFile(join(dir, 'reports', 'wbcd_dot_late.report.html'), 'utf8');
    expect(first).toContain('<html');
    expect(late).toContain('wbcd.late');
    expect(first).not.toContain('wbcd.late');
    expect(bytes).toBe(Buffer.byteLength(first) + Buffer.byteLength(late));
    expect(await readFile(join(dir, 'late.html'), 'utf8')).toBe(late);
    expect(one).toBe(Buffer.byteLength(late));
    await expect(runner.downloadReport(join(dir, 'x.html'), { table: 'nope' })).rejects.toThrow(
      /no table nope/,
    );
  });

  it('uploads tables whose names differ under files that differ, accented names included', async () => {
    // Prepare
    const runner = manager.createRunner();
    const rowsOf = (value: number) => [
      { a: value, b: 2 },
      { a: 3, b: 4 },
    ];

    // Act
    await runner.addTable('données', rowsOf(1));
    await runner.addTable('donn_es', rowsOf(5));
    await runner.addTable('donn.es', rowsOf(6));
    const files = setFromYaml(runner.toYaml()).tables.map((table) => table.file);

    // Assess
    expect(new Set(files).size).toBe(3);
    expect(files).toContain(`${runner.setName}.donn_es.csv`);
    expect(files).toContain(`${runner.setName}.donn.es.csv`);
    expect(files.find((file) => file.includes('donn_es-'))).toMatch(/\.donn_es-[0-9a-f]{8}\.csv$/);
    await expect(runner.client.putAvatarResources(runner.setName, runner.toYaml())).resolves.toBeDefined();
  });

  it('refuses a table that would share an upload file with another, naming both', async () => {
    // Prepare: a saved set whose table `b` was uploaded under the file `a` would get.
    const yaml = [
      'kind: AvatarSchema',
      'metadata: {name: schema}',
      'spec:',
      `  tables: [{name: b, data: {file: ${uploadFileName('clash', 'a')}}}]`,
      '',
    ].join('\n');
    const runner = Runner.fromYaml(manager, yaml, { setName: 'clash' });

    // Act + Assess
    await expect(runner.addTable('a', [{ x: 1, y: 2 }])).rejects.toThrow(
      /tables b and a would be uploaded as the same file clash\.a\.csv/,
    );
  });

  it('reads a `;` file whose column names hold commas as the server does, so its identifier is known', async () => {
    // Prepare: the header has as many commas as semicolons; only `;` splits every line alike.
    const file = join(await tempDir('avatars-semicolon'), 'doses.csv');
    await writeFile(file, 'patient;dose,mg,day;weight\n1;5;70\n2;10;80\n3;5;65\n');
    const runner = manager.createRunner();

    // Act
    await runner.addTable('doses', file, { identifiers: ['patient'], types: { 'dose,mg,day': 'numeric' } });

    // Assess
    expect(runner.toYaml()).toMatch(/- field: patient\n\s+identifier: true/);
    expect(runner.toYaml()).toMatch(/- field: dose,mg,day\n\s+type: numeric/);
  });

  it('refuses what the server would refuse before sending anything', async () => {
    // Prepare
    const runner = manager.createRunner();
    await runner.addTable('t', [
      { a: 1, b: 2 },
      { a: 3, b: 4 },
    ]);

    // Act + Assess
    expect(() => runner.setParameters('t', { k: 0 })).toThrow(/k: k must be between 1 and 1000/);
    expect(() => runner.setParameters('nope', { k: 5 })).toThrow(/no table nope; its tables are t/);
    expect(() => runner.setParameters('t', { imputation_k: 3 })).toThrow(/need imputation_method/);
    await expect(runner.addTable('u', [{ a: 1 }], { identifiers: ['id'] })).rejects.toThrow(/no column id/);
    await expect(runner.addTable('v', [{ 'my id': 1, b: 2 }], { identifiers: ['my id'] })).rejects.toThrow(
      /column "my id" of table v cannot be declared in a schema/,
    );
    const oneColumn = join(await tempDir('avatars-one-column'), 'one.csv');
    await writeFile(oneColumn, 'a\n1\n2\n');
    await expect(runner.addTable('one', oneColumn)).rejects.toThrow(/table one: unknown delimiter/);
    await expect(runner.privacyMetrics('t')).rejects.toThrow(/call run\(\) first/);
    expect(() => setFromYaml('kind: AvatarSchema\nmetadata: {name: schema}\nspec: {tables: []}\n')).toThrow(
      AvatarYamlError,
    );
  });
});

describe('CSV', () => {
  it('writes rows as objects or as a header and rows, quoting what must be quoted', () => {
    // Act
    const fromObjects = rowsToCsv([
      { a: 1, b: 'x,y' },
      { b: 'say "hi"', c: null },
    ]);
    const fromArrays = rowsToCsv([
      ['when', 'ok'],
      [new Date('2026-01-02T03:04:05Z'), true],
    ]);

    // Assess
    expect(fromObjects).toBe('a,b,c\n1,"x,y",\n,"say ""hi""",\n');
    expect(fromArrays).toBe('when,ok\n2026-01-02T03:04:05.000Z,true\n');
    expect(() => rowsToCsv([['a', 'b'], ['1']])).toThrow(/row 1 has 1 cells; the header has 2/);
  });

  it('reads back what it writes, whatever the cells hold', () => {
    const cell = fc.string({ unit: fc.constantFrom('a', 'z', '1', ' ', ',', ';', '"', '\n', '\r', 'é') });
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 1, maxLength: 5 }), { maxLength: 8 }), (records) => {
        expect(parseCsv(formatCsv(records), { delimiter: ',' })).toEqual(records);
      }),
    );
  });

  it("sniffs a file's delimiter from its header, quotes and CRLF included", () => {
    expect(parseCsv('"x;y";b;c\r\n1;2;3\r\n')).toEqual([
      ['x;y', 'b', 'c'],
      ['1', '2', '3'],
    ]);
    expect(parseCsv('a\tb\n1\t2', { limit: 1 })).toEqual([['a', 'b']]);
    // More commas than semicolons in the header, yet only `;` splits the lines as it splits the header.
    expect(parseCsv('id;a,b,c;d,e\n1;2;3\n')).toEqual([
      ['id', 'a,b,c', 'd,e'],
      ['1', '2', '3'],
    ]);
  });

  it('reads any text as the server reads a table file: the same records, or a refusal', () => {
    // Prepare: well-formed files of any delimiter (quoted as needed, or always), and any text.
    const unit = fc.constantFrom('a', '1', ' ', ',', ';', '\t', '|', '"', '\n', '\r', 'é');
    const quote = (cell: string) => `"${cell.replaceAll('"', '""')}"`;
    const wellFormed = fc
      .record({
        delimiter: fc.constantFrom(',', ';', '\t', '|'),
        width: fc.integer({ min: 1, max: 4 }),
        quoteAll: fc.boolean(),
        lineBreak: fc.constantFrom('\n', '\r\n'),
        blankLines: fc.boolean(),
      })
      .chain(({ delimiter, width, quoteAll, lineBreak, blankLines }) =>
        fc
          .array(fc.array(fc.string({ unit, maxLength: 4 }), { minLength: width, maxLength: width }), {
            minLength: 1,
            maxLength: 6,
          })
          .map((records) => {
            const needsQuotes = (cell: string) => /["\r\n]/.test(cell) || cell.includes(delimiter);
            const lines = records.map((record) =>
              record.map((cell) => (quoteAll || needsQuotes(cell) ? quote(cell) : cell)).join(delimiter),
            );
            return lines.join(blankLines ? `${lineBreak}${lineBreak}` : lineBreak) + lineBreak;
          }),
      );
    const serverRead = (text: string): { records: string[][] } | { refused: string } => {
      try {
        const cells = tokenize(text, sniffDelimiter(text));
        const columns = cells.header.map((_, index) => fileColumn(cells, index));
        const rows = Array.from({ length: cells.rowCount }, (_, row) => columns.map((c) => c.text(row)));
        return { records: [[...cells.header], ...rows] };
      } catch (error) {
        if (error instanceof TableError) return { refused: error.code };
        throw error;
      }
    };

    fc.assert(
      fc.property(fc.oneof(wellFormed, fc.string({ unit, maxLength: 40 })), (text) => {
        // Act
        const server = serverRead(text);
        let sdk: string[][] | SyntaxError;
        try {
          sdk = parseCsv(text);
        } catch (error) {
          if (!(error instanceof SyntaxError)) throw error;
          sdk = error;
        }

        // Assess: a ragged file is the job's to refuse, naming its line; the SDK reads its header alike.
        if ('records' in server) {
          expect(sdk).toEqual(server.records);
          expect(parseCsv(text, { limit: 1 })).toEqual(server.records.slice(0, 1));
        } else if (server.refused !== 'ragged_rows') {
          expect(sdk).toBeInstanceOf(SyntaxError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('uploadFileName', () => {
  it('gives two different (set, table) pairs two different files, each a file name the API takes', () => {
    // Prepare: names from few characters, that collide when characters are replaced, dots moved
    // or long names cut, and that may end like a hash suffix.
    const setNames = fc.uniqueArray(fc.stringMatching(/^a[a0._-]{0,6}$/), { minLength: 1, maxLength: 4 });
    const tables = fc.uniqueArray(
      fc.oneof(
        fc.string({ unit: fc.constantFrom('a', '_', '-', '.', ' ', 'é', '/'), minLength: 1, maxLength: 6 }),
        fc.string({ unit: fc.constantFrom('a', 'f', '0', '-'), minLength: 8, maxLength: 12 }),
        fc.string({ unit: fc.constantFrom('a', 'é'), minLength: 55, maxLength: 70 }),
      ),
      { minLength: 1, maxLength: 12 },
    );

    fc.assert(
      fc.property(setNames, tables, (sets, names) => {
        // Act
        const files = sets.flatMap((set) => names.map((table) => uploadFileName(set, table)));

        // Assess
        for (const file of files) expect(FileName.safeParse(file).success, file).toBe(true);
        expect(new Set(files).size).toBe(sets.length * names.length);
      }),
      { numRuns: 500 },
    );
    expect(uploadFileName('s', 'données')).not.toBe(uploadFileName('s', 'donn_es'));
    expect(uploadFileName('a.b', 'c')).not.toBe(uploadFileName('a', 'b.c'));
    expect(uploadFileName('s', 'wbcd')).toBe('s.wbcd.csv');
  });
});

describe('waitForAvatarJobs', () => {
  const job = (
    name: string,
    status: AvatarJob['status'],
    kind: AvatarJob['kind'] = 'standard',
  ): AvatarJob => ({
    name,
    set_name: 's',
    parameters_name: kind,
    kind,
    status,
    done: ['finished', 'error', 'parent_error', 'cancelled'].includes(status),
    exception: status === 'error' ? 'it broke' : null,
    progress: 0,
    depends_on: [],
    created_at: '2026-01-01T00:00:00.000Z',
    Location: `/api/v1/avatars/jobs/${name}`,
  });

  /** A client whose jobs move through the statuses given, one per poll, on a clock that moves only when it sleeps. */
  function scripted(script: Record<string, AvatarJob['status'][]>) {
    let now = 0;
    const sleeps: number[] = [];
    const timers: Timers = {
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    };
    const polls = new Map<string, number>();
    const client = {
      timers,
      getAvatarJob: async (name: string) => {
        const statuses = script[name] ?? [];
        const index = Math.min(polls.get(name) ?? 0, statuses.length - 1);
        polls.set(name, (polls.get(name) ?? 0) + 1);
        return job(name, statuses[index] ?? 'queued', name === 'r' ? 'report' : 'standard');
      },
    } as unknown as ApiClient;
    return { client, sleeps };
  }

  it('polls with a growing pause until every job is done, telling each status change once', async () => {
    // Prepare
    const { client, sleeps } = scripted({
      a: ['queued', 'running', 'running', 'finished'],
      r: ['waiting', 'waiting', 'queued', 'running', 'finished'],
    });
    const changes: string[] = [];

    // Act
    const ended = await waitForAvatarJobs(client, ['a', 'r'], {
      onStatus: (j) => changes.push(`${j.name}:${j.status}`),
    });

    // Assess
    expect(ended.map((j) => j.status)).toEqual(['finished', 'finished']);
    expect(changes).toEqual([
      'a:queued',
      'r:waiting',
      'a:running',
      'r:queued',
      'a:finished',
      'r:running',
      'r:finished',
    ]);
    expect(sleeps).toEqual([200, 300, 450, 675]);
  });

  it('ends at its deadline with the jobs as last seen, and names the failed job rather than its dependants', async () => {
    // Prepare
    const slow = scripted({ a: ['running'] });
    const failing = scripted({ a: ['running', 'error'], r: ['waiting', 'waiting', 'parent_error'] });

    // Act
    const timeout = await failureOf(
      waitForAvatarJobs(slow.client, ['a'], { timeoutMs: 10_000 }),
      AvatarWaitTimeoutError,
    );
    const failed = await failureOf(waitForAvatarJobs(failing.client, ['r', 'a']), AvatarJobError);

    // Assess
    expect(timeout.message).toMatch(/the standard job a \(running\) did not end within 10000 ms/);
    expect(slow.sleeps.reduce((sum, ms) => sum + ms, 0)).toBe(10_000);
    expect(Math.max(...slow.sleeps)).toBe(2_000);
    expect(failed.job.name).toBe('a');
    expect(failed.message).toMatch(/ended error: it broke/);
  });
});
