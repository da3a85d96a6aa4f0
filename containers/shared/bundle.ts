/**
 * How each Node container's build.ts bundles its server (not itself bundled): esbuild's options
 * for one ES module, with its source map, for the Node the image runs.
 */
import type { BuildOptions } from 'esbuild';

export const SERVER_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The images run node:24-slim, the same Node the repository pins.
  target: 'node24',
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
} as const satisfies BuildOptions;
