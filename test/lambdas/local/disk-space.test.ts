import { describe, expect, it } from 'vitest';
import {
  diskFullCode,
  diskFullMessage,
  failureMessage,
  LocalDiskSpace,
} from '../../../lambdas/local/disk-space.ts';
import { useTempDirs } from '../../support/fixture.ts';
import { expectError, usePlatform, waitForBatch } from '../../support/platform.ts';

const MIN_FREE = 64 * 1024 ** 2;

// The platform's disk, as its free-space probe sees it: the folder asked about and what it has left.
const disk = { free: 10 * MIN_FREE, asked: [] as string[] };
const fixture = usePlatform({
  minFreeBytes: MIN_FREE,
  freeSpace: async (folder) => {
    disk.asked.push(folder);
    return disk.free;
  },
});

const smallBatch = {
  name: 'disk',
  job_runs: [{ name: 'shapes', param_values: { seed: 1, frames: 1, image_width: 64, image_height: 64 } }],
};

interface Unavailable {
  error: { message: string; details: { folder: string; free_bytes: number; required_free_bytes: number } };
}

describe('submissions on a nearly full disk', () => {
  it('are refused with 503 naming the folder and its free space, and nothing is stored', async () => {
    // Prepare
    disk.free = MIN_FREE - 1;
    const before = await fixture.api.get<{ jobs: unknown[] }>('/api/v1/jobs', { limit: 100 });

    // Act
    const batch = await fixture.api.post<Unavailable>('/api/v1/batches', smallBatch);
    const image = await fixture.api.post<Unavailable>('/api/v1/generate', {
      prompt: 'a red circle',
      seed: 1,
    });
    const after = await fixture.api.get<{ jobs: unknown[] }>('/api/v1/jobs', { limit: 100 });

    // Assess
    const folder = fixture.platform.emulators.s3Directory;
    for (const answer of [batch, image]) {
      expectError(answer, 503, 'UNAVAILABLE');
      expect(answer.headers.get('retry-after')).toBe('60');
      expect(answer.body.error.message).toContain(`the disk holding ${folder} is nearly full`);
      expect(answer.body.error.details).toEqual({
        folder,
        free_bytes: MIN_FREE - 1,
        required_free_bytes: MIN_FREE,
      });
    }
    expect(after.body.jobs).toHaveLength(before.body.jobs.length);
  });

  it('are accepted again once space is freed, and run', async () => {
    // Prepare
    disk.free = MIN_FREE - 1;
    const refused = await fixture.api.post('/api/v1/batches', smallBatch);
    disk.free = MIN_FREE;

    // Act
    const accepted = await fixture.api.post<{ id: string }>('/api/v1/batches', smallBatch);
    const summary = await waitForBatch(fixture.api, accepted.body.id);

    // Assess
    expect(refused.status).toBe(503);
    expect(accepted.status).toBe(202);
    expect(summary.counts.completed).toBe(1);
  });

  it('measure the folder S3 writes to when the platform keeps nothing else on disk', async () => {
    // Prepare
    disk.asked.length = 0;

    // Act
    await fixture.api.post('/api/v1/batches', smallBatch);

    // Assess: without a data dir, DynamoDB is in memory and results go to S3's temp dir.
    expect(disk.asked).toEqual([fixture.platform.emulators.s3Directory]);
  });
});

describe('LocalDiskSpace', () => {
  const aFolder = useTempDirs();

  it('reports a shortage only below its minimum, with what statfs says is free', async () => {
    // Prepare
    const folder = await aFolder('disk');

    // Act
    const roomy = await new LocalDiskSpace(folder, 0).shortage();
    const short = await new LocalDiskSpace(folder, Number.MAX_SAFE_INTEGER).shortage();

    // Assess
    expect(roomy).toBeUndefined();
    expect(short).toMatchObject({ folder, requiredBytes: Number.MAX_SAFE_INTEGER });
    expect(short?.freeBytes).toBeGreaterThan(0);
  });
});

describe('diskFullCode', () => {
  const errno = (code: string) => Object.assign(new Error(`${code}: failed, write`), { code });

  it.each([
    ['a Node ENOSPC', errno('ENOSPC'), 'ENOSPC'],
    ['a quota', errno('EDQUOT'), 'EDQUOT'],
    [
      "LevelDB's IO error, which has only strerror's text",
      Object.assign(new Error('IO error: /data/dynamodb/000003.log: No space left on device'), {
        code: 'LEVEL_IO_ERROR',
      }),
      'ENOSPC',
    ],
    [
      'a full disk as the cause of another error',
      new Error('Database failed to open', { cause: errno('ENOSPC') }),
      'ENOSPC',
    ],
    ['another I/O error', errno('EACCES'), undefined],
    ['not an error', 'ENOSPC', undefined],
  ])('recognises %s', (_name, error, expected) => {
    // Act
    const code = diskFullCode(error);

    // Assess
    expect(code).toBe(expected);
  });
});

describe('failureMessage', () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

  it.each([
    [
      'a plain ENOSPC, as a full disk under the folder',
      enospc,
      '/data',
      diskFullMessage('/data', 'ENOSPC', enospc.message),
    ],
    [
      "a guard's message, which already says it, as it is",
      new Error(diskFullMessage('/data', 'ENOSPC', 'S3 could not write'), { cause: enospc }),
      '/data',
      diskFullMessage('/data', 'ENOSPC', 'S3 could not write'),
    ],
    ['a full disk without a folder (--memory), as it is', enospc, undefined, enospc.message],
    ['another error, as it is', new Error('port in use'), '/data', 'port in use'],
    ['not an error, as text', 'odd', '/data', 'odd'],
  ])('gives %s', (_name, error, folder, expected) => {
    // Act
    const message = failureMessage(error, folder);

    // Assess
    expect(message).toBe(expected);
  });
});
