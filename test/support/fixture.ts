import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/**
 * A resource started once for the calling test file (beforeAll) and stopped after it (afterAll).
 * `get()` answers the running value, and says clearly when it is read outside a test.
 */
export function useFixture<T>(start: () => Promise<T>, stop: (value: T) => Promise<void>): { get(): T } {
  let running: { value: T } | undefined;
  beforeAll(async () => {
    running = { value: await start() };
  });
  afterAll(async () => {
    if (running) await stop(running.value);
    running = undefined;
  });
  return {
    get() {
      if (running === undefined) throw new Error('the fixture is not running: use it inside a test or hook');
      return running.value;
    },
  };
}

/**
 * Temporary folders for the calling test file, all removed after it (afterAll): `make('resume')`
 * makes `<tmp>/synthforge-resume-XXXXXX` and resolves with its path.
 */
export function useTempDirs(): (label: string) => Promise<string> {
  const made: string[] = [];
  afterAll(async () => {
    await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async (label) => {
    const dir = await mkdtemp(join(tmpdir(), `synthforge-${label}-`));
    made.push(dir);
    return dir;
  };
}
