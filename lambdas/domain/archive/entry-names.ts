/**
 * The one rule for ZIP entry names, shared by the archive writer (the worker) and the SDK's
 * extractors: a name that could write outside its extraction folder, or that different systems
 * read differently, is refused on both sides.
 */

/** Empty, absolute, a drive letter, a backslash, NUL, or an empty, `.` or `..` segment. */
export function isUnsafeEntryName(name: string): boolean {
  return (
    name.length === 0 ||
    name.startsWith('/') ||
    name.includes('\\') ||
    name.includes('\0') ||
    /^[A-Za-z]:/.test(name) ||
    name.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')
  );
}
