/**
 * Builds the publishable package into dist/: one ESM bundle for the library and one for the CLI
 * (sharing a chunk; the contracts and zod-to-openapi inside, zod left to the package's dependency),
 * and declarations from the same sources. Runs on `npm install` in this repository (`prepare`) and
 * before `npm pack` (`prepack`). `--out DIR` builds elsewhere (the package test builds a fresh copy).
 */
import { execFileSync } from 'node:child_process';
import { chmod, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const { values } = parseArgs({ options: { out: { type: 'string' } } });
const outDir = resolve(values.out ?? join(here, 'dist'));
const packageJson = JSON.parse(await readFile(join(here, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  engines: { node: string };
};

await rm(outDir, { recursive: true, force: true });
await build({
  entryPoints: { index: join(here, 'src/index.ts'), cli: join(here, 'src/cli/main.ts') },
  outdir: outDir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: `node${packageJson.engines.node.replace(/[^\d.]/g, '')}`,
  // What the package declares as dependencies is installed next to it, not copied into it.
  external: Object.keys(packageJson.dependencies),
  sourcemap: true,
  sourcesContent: false,
  legalComments: 'linked',
  logLevel: 'warning',
});
await chmod(join(outDir, 'cli.js'), 0o755);

// Declarations: the SDK's types refer to the contracts', so both are emitted, under types/.
const typescriptRoot = dirname(createRequire(import.meta.url).resolve('typescript/package.json'));
const tsc = join(typescriptRoot, 'bin', 'tsc');
execFileSync(
  process.execPath,
  [tsc, '-p', join(here, 'tsconfig.build.json'), '--outDir', join(outDir, 'types')],
  { stdio: 'inherit' },
);
