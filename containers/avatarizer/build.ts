/**
 * Bundles the avatarizer into one ES module with no dependencies but Node's own modules:
 * `containers/avatarizer/dist/avatarizer.mjs`, which the Dockerfile copies into the image.
 *
 *   npx tsx containers/avatarizer/build.ts [outfile]
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { SERVER_BUNDLE_OPTIONS } from '../shared/bundle.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const AVATARIZER_ENTRY = `${HERE}main.ts`;
export const DEFAULT_OUTFILE = `${HERE}dist/avatarizer.mjs`;

/** Writes the bundle (with an external source map beside it) and returns its path. */
export async function buildAvatarizer(outfile: string = DEFAULT_OUTFILE): Promise<string> {
  await build({ ...SERVER_BUNDLE_OPTIONS, entryPoints: [AVATARIZER_ENTRY], outfile });
  return outfile;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  buildAvatarizer(process.argv[2]).then(
    (outfile) => process.stdout.write(`wrote ${outfile}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
