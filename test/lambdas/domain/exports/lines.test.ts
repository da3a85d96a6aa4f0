/**
 * What the exports say of an image (typed by its bytes, measured, hashed, one JSON line), and the
 * bounded, ordered pool both exports read their images through.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { DatasetImage } from '../../../../lambdas/domain/datasets/sources.ts';
import {
  inspect,
  jsonlLine,
  mapInOrder,
  readForExport,
  UnreadableImageError,
} from '../../../../lambdas/domain/exports/lines.ts';
import { aPng, collect } from '../datasets/dataset-fixtures.ts';

function anImage(bytes: Uint8Array, overrides: Partial<DatasetImage> = {}): DatasetImage {
  return {
    uri: 's3://synthforge-data/acme/uploads/a.png',
    name: 'a.png',
    contentType: 'image/png',
    size: bytes.byteLength,
    bytes: async () => bytes,
    ...overrides,
  };
}

async function from<T>(items: T[]): Promise<AsyncIterable<T>> {
  return (async function* () {
    yield* items;
  })();
}

describe('inspect', () => {
  it.each([
    ['jpeg', 'image/jpeg'],
    ['webp', 'image/webp'],
    ['gif', 'image/gif'],
    ['png', 'image/png'],
  ] as const)('types and measures a %s by its bytes, whatever its name says', async (format, contentType) => {
    // Prepare
    const bytes = new Uint8Array(
      await sharp({ create: { width: 21, height: 13, channels: 3, background: '#3a7' } })
        .toFormat(format)
        .toBuffer(),
    );

    // Act
    const inspected = inspect(bytes, 'named.png');

    // Assess
    expect(inspected).toEqual({
      contentType,
      width: 21,
      height: 13,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      sha256Base64: createHash('sha256').update(bytes).digest('base64'),
    });
  });

  it('refuses bytes that are no image, and an image whose header is cut', () => {
    // Act
    const text = () => inspect(new TextEncoder().encode('hello, not a picture'), 'a.png');
    const cut = () => inspect(aPng(8, 6).subarray(0, 12), 'b.png');

    // Assess
    expect(text).toThrow(UnreadableImageError);
    expect(text).toThrow('a.png is not a PNG, JPEG, GIF or WebP image');
    expect(cut).toThrow(UnreadableImageError);
  });
});

describe('jsonlLine', () => {
  it('holds the seed’s fields, then metadata and annotations only when asked', async () => {
    // Prepare
    const png = aPng(8, 6);
    const exported = await readForExport(
      anImage(png, {
        jobId: 'JOB',
        batchId: 'BATCH',
        generator: 'shapes',
        parameters: { seed: 3 },
        annotations: { annotations: [], categories: [] },
      }),
    );

    // Act
    const bare = JSON.parse(jsonlLine(exported, { includeMetadata: false, includeAnnotations: false }));
    const full = JSON.parse(jsonlLine(exported, { includeMetadata: true, includeAnnotations: true }));

    // Assess
    expect(bare).toEqual({
      image_uri: 's3://synthforge-data/acme/uploads/a.png',
      file_name: 'a.png',
      size_bytes: png.byteLength,
      width: 8,
      height: 6,
      content_type: 'image/png',
      sha256: createHash('sha256').update(png).digest('hex'),
    });
    expect(full.metadata).toEqual({
      job_id: 'JOB',
      batch_id: 'BATCH',
      generator: 'shapes',
      parameters: { seed: 3 },
    });
    expect(full.annotations).toEqual({ annotations: [], categories: [] });
  });

  it('is one line whatever the prompt holds, and null annotations for an image without any', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme' }), async (prompt) => {
        // Prepare
        const exported = await readForExport(anImage(aPng(), { parameters: { prompt } }));

        // Act
        const line = jsonlLine(exported, { includeMetadata: true, includeAnnotations: true });

        // Assess
        expect(line).not.toMatch(/[\n\r]/);
        expect(JSON.parse(line).metadata.parameters.prompt).toBe(prompt);
        expect(JSON.parse(line).annotations).toBeNull();
      }),
      { numRuns: 50 },
    );
  });
});

describe('mapInOrder', () => {
  it('yields results in the items’ order with at most `concurrency` actions at once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(5), { maxLength: 30 }),
        fc.integer({ min: 1, max: 6 }),
        async (delays, concurrency) => {
          // Prepare
          let running = 0;
          let most = 0;
          const action = async (delay: number, index: number) => {
            running++;
            most = Math.max(most, running);
            for (let i = 0; i < delay; i++) await Promise.resolve();
            running--;
            return index;
          };

          // Act
          const results = await collect(mapInOrder(await from(delays), concurrency, action));

          // Assess
          expect(results).toEqual(delays.map((_, index) => index));
          expect(most).toBeLessThanOrEqual(concurrency);
        },
      ),
    );
  });

  it('waits for the actions in flight when the caller stops early, and stops reading the items', async () => {
    // Prepare
    const settled: number[] = [];
    let pulled = 0;
    const items = (async function* () {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield i;
      }
    })();
    const action = async (item: number) => {
      await new Promise((resolve) => setImmediate(resolve));
      settled.push(item);
      return item;
    };

    // Act
    for await (const result of mapInOrder(items, 4, action)) {
      if (result === 1) break;
    }

    // Assess
    // Items 0 to 3 filled the pool; 4 took 0's slot before 1 was yielded. All five have settled.
    expect(settled.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
    expect(pulled).toBe(5);
  });

  it('rethrows an action’s error in its place, after the ones before it', async () => {
    // Prepare
    const seen: number[] = [];
    const action = async (item: number) => {
      if (item === 2) throw new Error('item 2 failed');
      return item;
    };

    // Act
    const attempt = (async () => {
      for await (const result of mapInOrder(await from([0, 1, 2, 3]), 3, action)) seen.push(result);
    })();

    // Assess
    await expect(attempt).rejects.toThrow('item 2 failed');
    expect(seen).toEqual([0, 1]);
  });
});
