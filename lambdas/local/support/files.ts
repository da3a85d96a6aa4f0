/** Local folders as the emulators read them: the files under one, for archiving or uploading. */
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/** The regular files under `dir`, at any depth, as sorted absolute paths; none when `dir` is missing. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** `path` relative to `dir` with `/` separators: an archive member's name, an object key's tail. */
export function portableRelative(dir: string, path: string): string {
  return relative(dir, path).split(sep).join('/');
}
