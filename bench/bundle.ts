/**
 * How the project's Lambdas are bundled, and the unbundled reference they are measured against.
 *
 * LAMBDA_ESBUILD_OPTIONS are built from LAMBDA_BUNDLE, the data lib/constructs/synthforge-function.ts
 * hands to NodejsFunction, so the benchmark measures exactly what is deployed.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, type Metafile, type Plugin } from 'esbuild';
import { LAMBDA_BUNDLE } from '../lib/constructs/synthforge-function.ts';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where the suite writes its builds: inside the repository, so that node_modules resolves from there. */
export const WORK_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'synthforge-bench');

/** The options of NodejsFunction's esbuild run for a SynthForgeFunction, from the construct's own data. */
export const LAMBDA_ESBUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: LAMBDA_BUNDLE.format,
  target: LAMBDA_BUNDLE.target,
  mainFields: [...LAMBDA_BUNDLE.mainFields],
  banner: { js: LAMBDA_BUNDLE.banner },
  external: [],
  minify: LAMBDA_BUNDLE.minify,
  sourcemap: LAMBDA_BUNDLE.sourceMap,
  sourcesContent: LAMBDA_BUNDLE.sourcesContent,
  alias: { ...LAMBDA_BUNDLE.alias },
  logLevel: 'warning',
} satisfies BuildOptions;

export interface LambdaEntry {
  /** A short name for the table. */
  name: string;
  /** The handler module, relative to the repository root. */
  entry: string;
  /**
   * Packages left out of the bundle and installed beside it, as the stack's NodejsFunction
   * `nodeModules` does (native code, model files, worker scripts loaded by path): the bundle
   * imports them from a `node_modules` folder next to it.
   */
  nodeModules?: readonly string[];
}

export interface BuiltBundle {
  entry: LambdaEntry;
  /** The bundle (index.mjs) to import. */
  file: string;
  bytes: number;
  gzipBytes: number;
  /** Source files that contribute code to the bundle (the unbundled handler reads at least these). */
  modules: number;
  /** Those files, relative to the repository root (`node_modules/...` for packages). */
  inputs: string[];
}

export interface BuiltBundles {
  bundles: BuiltBundle[];
  /** Every project (non node_modules) TypeScript file any entry reaches, tree-shaken or not. */
  projectFiles: string[];
}

/**
 * Bundles each entry as CDK does, to `<outDir>/<name>/index.mjs` plus its map. One esbuild run per
 * set of `nodeModules` (most entries have none), each with all of its entry points (no code
 * splitting): it writes the same files as one run per entry, and parses the shared node_modules
 * once instead of once per entry.
 */
export async function bundleEntries(entries: readonly LambdaEntry[], outDir: string): Promise<BuiltBundles> {
  await rm(outDir, { recursive: true, force: true });
  const groups = new Map<string, LambdaEntry[]>();
  for (const entry of entries) {
    const key = JSON.stringify([...(entry.nodeModules ?? [])].sort());
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  const results = await Promise.all(
    [...groups.values()].map((group) =>
      build({
        ...LAMBDA_ESBUILD_OPTIONS,
        external: [...(group[0]?.nodeModules ?? [])],
        entryPoints: group.map((entry) => ({
          in: join(REPO_ROOT, entry.entry),
          out: join(entry.name, 'index'),
        })),
        outdir: outDir,
        outExtension: { '.js': '.mjs' },
        absWorkingDir: REPO_ROOT,
        metafile: true,
      }),
    ),
  );
  const outputs: Metafile['outputs'] = Object.assign({}, ...results.map((result) => result.metafile.outputs));
  const inputs = new Set(results.flatMap((result) => Object.keys(result.metafile.inputs)));
  const bundles = await Promise.all(
    entries.map(async (entry) => {
      const file = join(outDir, entry.name, 'index.mjs');
      const output = outputs[relative(REPO_ROOT, file)];
      if (!output) throw new Error(`esbuild wrote no ${file}`);
      const code = await readFile(file);
      return {
        entry,
        file,
        bytes: code.length,
        gzipBytes: gzipSync(code, { level: 9 }).length,
        modules: Object.keys(output.inputs).length,
        inputs: Object.keys(output.inputs),
      };
    }),
  );
  return { bundles, projectFiles: [...inputs].filter(isProjectSource) };
}

/**
 * The reference: every project file compiled on its own (what `tsc` would emit, `.ts` imports
 * rewritten to `.js`) and every package imported from node_modules as Node resolves it. Returns the
 * compiled path of each entry, keyed by entry name.
 */
export async function compileUnbundled(built: BuiltBundles, outDir: string): Promise<Map<string, string>> {
  await rm(outDir, { recursive: true, force: true });
  await build({
    entryPoints: built.projectFiles.map((file) => join(REPO_ROOT, file)),
    outdir: outDir,
    outbase: REPO_ROOT,
    absWorkingDir: REPO_ROOT,
    bundle: true,
    plugins: [everyImportExternal],
    platform: 'node',
    format: 'esm',
    target: 'node24',
    logLevel: 'warning',
  });
  // The folder lies under node_modules, where Node looks for no package.json scope of its own.
  await writeFile(join(outDir, 'package.json'), '{ "type": "module" }\n');
  return new Map(
    built.bundles.map((bundle) => [
      bundle.entry.name,
      join(outDir, bundle.entry.entry.replace(/\.ts$/, '.js')),
    ]),
  );
}

/** Compiles each file alone: relative imports point at the sibling `.js` output, packages stay imports. */
const everyImportExternal: Plugin = {
  name: 'every-import-external',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const path = args.path.startsWith('.') ? args.path.replace(/\.ts$/, '.js') : args.path;
      return { path, external: true };
    });
  },
};

function isProjectSource(input: string): boolean {
  return !input.includes('node_modules/') && input.endsWith('.ts');
}
