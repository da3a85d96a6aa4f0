import { readFileSync } from 'node:fs';

/** A real event from test/events/, cloned so that each test may change its copy. */
export function loadEvent<T = Record<string, unknown>>(path: string): T {
  const url = new URL(`../events/${path}`, import.meta.url);
  return structuredClone(JSON.parse(readFileSync(url, 'utf8'))) as T;
}
