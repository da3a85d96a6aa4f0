/**
 * Bundles the container's server into one ES module, `containers/local-vision/dist/server.mjs`, with
 * a `package.json` beside it naming the packages it leaves out: those hold native code (sharp), a
 * worker script and WebAssembly (tesseract.js, TensorFlow.js) and model files (face-api's `model/`,
 * the English OCR data), which must stay files on disk. The Dockerfile copies `dist/` and installs
 * them; their versions are the repository's own (package.json), so the image runs what the tests ran.
 *
 *   npx tsx containers/local-vision/build.ts [outdir]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { SERVER_BUNDLE_OPTIONS } from '../shared/bundle.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const SERVER_ENTRY = `${HERE}server.ts`;
export const DEFAULT_OUTDIR = `${HERE}dist`;
const ROOT_PACKAGE = fileURLToPath(new URL('../../package.json', import.meta.url));

/**
 * What the image installs: the packages the server imports, and the TensorFlow.js packages that
 * face-api's `face-api.node-wasm.js` requires without declaring them.
 */
export const RUNTIME_PACKAGES = [
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-backend-wasm',
  '@tesseract.js-data/eng',
  '@vladmandic/face-api',
  'sharp',
  'tesseract.js',
] as const;

/** Writes `server.mjs` (with its source map) and `package.json` into `outdir`; returns the bundle's path. */
export async function buildLocalVision(outdir: string = DEFAULT_OUTDIR): Promise<string> {
  const outfile = join(outdir, 'server.mjs');
  await build({
    ...SERVER_BUNDLE_OPTIONS,
    entryPoints: [SERVER_ENTRY],
    outfile,
    // Every package stays a package: see above.
    packages: 'external',
  });
  const root = JSON.parse(await readFile(ROOT_PACKAGE, 'utf8')) as { dependencies: Record<string, string> };
  const dependencies = Object.fromEntries(
    RUNTIME_PACKAGES.map((name) => {
      const version = root.dependencies[name];
      if (version === undefined) throw new Error(`package.json does not depend on ${name}`);
      return [name, version];
    }),
  );
  const manifest = { name: 'synthforge-local-vision', private: true, type: 'module', dependencies };
  await writeFile(join(outdir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return outfile;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  buildLocalVision(process.argv[2]).then(
    (outfile) => process.stdout.write(`wrote ${outfile} and its package.json\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
