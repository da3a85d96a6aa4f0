import { fileURLToPath } from 'node:url';

/**
 * Where the local platform keeps its state unless told otherwise (`--data-dir`): `.synthforge/` at
 * the repository root. `npm start` and `npm run keys` both default to it, so a key made with one is
 * the other's, whatever folder either was started from.
 */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../.synthforge', import.meta.url));
