/**
 * `npm run lint` checks the project's sources and nothing a user leaves in the repository: the
 * README's "Try it" writes `batch.json` and downloads into `demo/`, and the lint must not fail on
 * them. Asked of Biome itself, with biome.json and .gitignore as they are, in a temporary folder
 * laid out like the repository: a badly formatted file at each path, and the paths Biome reports are
 * the ones it checks. Nothing is written to the repository.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIOME = join(ROOT, 'node_modules', '.bin', 'biome');
/** Contents Biome's formatter would change, per kind of file it handles. */
const UNFORMATTED: Record<string, string> = {
  json: '{"a":1,    "b":2}\n',
  ts: 'export const a =   1;\n',
  mts: 'export const a =   1;\n',
  js: 'export const a =   1;\n',
  mjs: 'export const a =   1;\n',
};
const extensionOf = (path: string) => path.split('.').pop() ?? '';

/** What the README's "Try it" and the SDK's examples leave in the repository. */
const USER_FILES = ['batch.json', 'demo/job_0000/annotations.json', 'demo/job_0000/params.json', 'jobs.json'];

/** One tracked file Biome handles in each top-level folder, and each one at the root. */
function trackedSamples(): string[] {
  const listed = spawnSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\n');
  const byTop = new Map<string, string>();
  for (const path of listed) {
    if (!(extensionOf(path) in UNFORMATTED) || path === 'package-lock.json' || path === 'biome.json')
      continue;
    const top = path.split('/')[0] as string;
    if (!byTop.has(top)) byTop.set(top, path);
  }
  return [...byTop.values()].sort();
}

describe('biome.json files.includes', () => {
  let dir: string;
  let reported: string[];
  const samples = trackedSamples();

  beforeAll(async () => {
    // Prepare: the configuration as it is, and a badly formatted file at every path in question.
    dir = await mkdtemp(join(tmpdir(), 'synthforge-lint-scope-'));
    await copyFile(join(ROOT, 'biome.json'), join(dir, 'biome.json'));
    await copyFile(join(ROOT, '.gitignore'), join(dir, '.gitignore'));
    // biome.json names its schema under node_modules.
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    for (const path of [...samples, ...USER_FILES]) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), UNFORMATTED[extensionOf(path)] ?? '');
    }

    // Act
    const result = spawnSync(BIOME, ['check', '--reporter=json', '.'], { cwd: dir, encoding: 'utf8' });
    const report = JSON.parse(result.stdout) as { diagnostics: { location?: { path?: string } }[] };
    reported = [...new Set(report.diagnostics.map((diagnostic) => diagnostic.location?.path ?? ''))].sort();
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('leaves out what a user leaves at the root: batch.json, demo/', () => {
    for (const path of USER_FILES) expect(reported).not.toContain(path);
  });

  it('lints every folder of the project that holds sources, and its root configuration', () => {
    // Assess: a new top-level folder must be added to files.includes, or its files go unchecked.
    expect(samples.length).toBeGreaterThan(10);
    expect(reported).toEqual(samples);
  });
});
