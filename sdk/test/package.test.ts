/**
 * The SDK as its own package: built the way `npm pack` builds it, installed into a project of its
 * own, type-checked there with the settings a user has (no .ts imports allowed), imported by plain
 * JavaScript, and its `synthforge` executable run — against the local platform.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../../test/support/platform.ts';

const run = promisify(execFile);
const SDK = fileURLToPath(new URL('..', import.meta.url));
const REPO_MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url));
const fixture = usePlatform();
let project: string;
let installed: string;

/** Runs a command and resolves with its exit code and output, whatever the code. */
async function attempt(
  file: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
) {
  try {
    const { stdout, stderr } = await run(file, args, { ...options, encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

beforeAll(async () => {
  // Prepare: a project with the package in node_modules, as `npm install` of the tarball leaves it.
  project = await mkdtemp(join(tmpdir(), 'synthforge-package-'));
  installed = join(project, 'node_modules', '@synthforge', 'sdk');
  await mkdir(installed, { recursive: true });
  await cp(join(SDK, 'package.json'), join(installed, 'package.json'));
  await cp(join(SDK, 'README.md'), join(installed, 'README.md'));
  const built = await attempt(process.execPath, [
    join(REPO_MODULES, 'tsx', 'dist', 'cli.mjs'),
    join(SDK, 'build.ts'),
    '--out',
    join(installed, 'dist'),
  ]);
  expect(built.code, built.stderr).toBe(0);
  // Its dependencies, and Node's types for the user's type check.
  for (const dependency of ['zod', 'eventsource-parser', 'yaml']) {
    await symlink(join(REPO_MODULES, dependency), join(project, 'node_modules', dependency));
  }
  await symlink(join(REPO_MODULES, '@types'), join(project, 'node_modules', '@types'));
  await writeFile(join(project, 'package.json'), '{ "type": "module" }\n');
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        types: ['node'],
      },
    }),
  );
}, 120_000);
afterAll(() => rm(project, { recursive: true, force: true }));

describe('the @synthforge/sdk package', () => {
  it('ships bundles that import nothing but its dependencies and Node built-ins', async () => {
    const files = (await readdir(join(installed, 'dist'))).filter((name) => name.endsWith('.js'));
    expect(files).toEqual(expect.arrayContaining(['index.js', 'cli.js']));
    for (const file of files) {
      const code = await readFile(join(installed, 'dist', file), 'utf8');
      const imported = [...code.matchAll(/(?:^|\n)\s*import\s[^'"]*?from\s*["']([^"']+)["']/g)].map(
        (m) => m[1],
      );
      for (const specifier of imported)
        expect(specifier, file).toMatch(/^(zod|eventsource-parser|yaml|node:[\w/]+|\.\/chunk-\w+\.js)$/);
    }
    expect(
      (await readFile(join(installed, 'dist', 'cli.js'), 'utf8')).startsWith('#!/usr/bin/env node\n'),
    ).toBe(true);
  });

  it("is typed for a user's project: correct use compiles, a wrong type does not", async () => {
    // Prepare
    const tsc = join(REPO_MODULES, 'typescript', 'bin', 'tsc');
    await writeFile(
      join(project, 'uses.ts'),
      [
        "import { Manager, SynthForgeError, type BatchSummary } from '@synthforge/sdk';",
        "const manager = new Manager({ baseUrl: 'http://127.0.0.1:8000', apiKey: 'sf_x' });",
        "const session = await manager.session('shapes');",
        'const checked: (unknown[] | null)[] = session.validateJobParams([{ frames: 1 }]);',
        'const summary: BatchSummary = await manager.batch("01JD3X2K8Q7YV4N6B5M9T0RWZC").summary();',
        'const total: number = summary.counts.completed + summary.total;',
        'console.log(checked, total, SynthForgeError.name);',
      ].join('\n'),
    );
    await writeFile(
      join(project, 'misuses.ts'),
      [
        "import { Manager } from '@synthforge/sdk';",
        "const manager = new Manager({ baseUrl: 'http://127.0.0.1:8000' });",
        'const status: number = (await manager.health()).status;',
        'console.log(status);',
      ].join('\n'),
    );

    const check = () =>
      attempt(process.execPath, [tsc, '--noEmit', '-p', join(project, 'tsconfig.json')], { cwd: project });

    // Act
    const misuses = await readFile(join(project, 'misuses.ts'), 'utf8');
    await rm(join(project, 'misuses.ts'));
    const goodCheck = await check();
    await writeFile(join(project, 'misuses.ts'), misuses);
    await rm(join(project, 'uses.ts'));
    const badCheck = await check();
    await rm(join(project, 'misuses.ts'));

    // Assess
    expect(goodCheck.code, goodCheck.stdout).toBe(0);
    expect(badCheck.code).not.toBe(0);
    expect(badCheck.stdout).toMatch(
      /misuses\.ts\(3,7\): error TS2322: Type '.+' is not assignable to type 'number'/,
    );
  });

  it('is imported by plain JavaScript and talks to the API', async () => {
    // Prepare
    await writeFile(
      join(project, 'client.mjs'),
      [
        "import { Manager } from '@synthforge/sdk';",
        'const manager = new Manager({ baseUrl: process.argv[2], apiKey: process.argv[3] });',
        "const session = await manager.session('shapes');",
        'const health = await manager.health();',
        'console.log(JSON.stringify({ health: health.status, checked: session.validateJobParams([{ frames: 1 }, { frames: 0 }]) }));',
      ].join('\n'),
    );

    // Act
    const result = await attempt(
      process.execPath,
      ['client.mjs', fixture.platform.url, fixture.platform.devKey],
      {
        cwd: project,
      },
    );

    // Assess
    expect(result.code, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout);
    expect(printed.health).toBe('ok');
    expect(printed.checked[0]).toBeNull();
    expect(printed.checked[1][0]).toMatchObject({ parameter: 'frames', kind: 'range' });
  });

  it('installs a synthforge executable that works on its own', async () => {
    // Act
    const version = await attempt(join(installed, 'dist', 'cli.js'), ['--version']);
    const listed = await attempt(join(installed, 'dist', 'cli.js'), ['generators', 'list', '--json'], {
      env: {
        PATH: process.env.PATH,
        SYNTHFORGE_CONFIG_DIR: join(project, 'config'),
        SYNTHFORGE_API_URL: fixture.platform.url,
        SYNTHFORGE_API_KEY: fixture.platform.devKey,
      },
    });

    // Assess
    const packageJson = JSON.parse(await readFile(join(SDK, 'package.json'), 'utf8'));
    expect(version.stdout).toBe(`${packageJson.version}\n`);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).map((g: { name: string }) => g.name)).toContain('shapes');
  });
});
