/**
 * Bundles the container's server into one ES module with no dependencies but Node's own modules:
 * `containers/shapes-endpoint/dist/server.mjs`, which the Dockerfile copies into the image.
 *
 *   npx tsx containers/shapes-endpoint/build.ts [outfile]
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { SERVER_BUNDLE_OPTIONS } from '../shared/bundle.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const SERVER_ENTRY = `${HERE}server.ts`;
export const DEFAULT_OUTFILE = `${HERE}dist/server.mjs`;

/** Writes the bundle (with an external source map beside it) and returns its path. */
export async function buildShapesEndpoint(outfile: string = DEFAULT_OUTFILE): Promise<string> {
  await build({ ...SERVER_BUNDLE_OPTIONS, entryPoints: [SERVER_ENTRY], outfile });
  return outfile;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  buildShapesEndpoint(process.argv[2]).then(
    (outfile) => process.stdout.write(`wrote ${outfile}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
