import { fileURLToPath } from 'node:url';

/** The repository root: handler entries, the ASL files and the stage configs are found from here. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
