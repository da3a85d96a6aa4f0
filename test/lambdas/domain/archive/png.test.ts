import fc from 'fast-check';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { encodePng } from '../../../../lambdas/domain/archive/png.ts';

function decode(png: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  const image = PNG.sync.read(Buffer.from(png));
  const rgb = new Uint8Array(image.width * image.height * 3);
  for (let pixel = 0; pixel < image.width * image.height; pixel++) {
    rgb.set(image.data.subarray(pixel * 4, pixel * 4 + 3), pixel * 3);
    if (image.data[pixel * 4 + 3] !== 255) throw new Error('an RGB PNG decodes as opaque');
  }
  return { width: image.width, height: image.height, rgb };
}

function chunkTypes(png: Uint8Array): string[] {
  const types: string[] = [];
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let offset = 8; offset < png.length; offset += 12 + view.getUint32(offset)) {
    types.push(Buffer.from(png.subarray(offset + 4, offset + 8)).toString('latin1'));
  }
  return types;
}

describe('encodePng', () => {
  it('encodes pixels that a standard decoder reads back exactly', () => {
    // Prepare: a gradient with a hard edge exercises every Paeth prediction
    const width = 37;
    const height = 11;
    const rgb = Uint8Array.from(
      { length: width * height * 3 },
      (_, i) => (i % 97 < 50 ? i * 7 : 255 - i) & 0xff,
    );

    // Act
    const decoded = decode(encodePng(width, height, rgb));

    // Assess
    expect(decoded).toEqual({ width, height, rgb });
  });

  it('writes only IHDR, IDAT and IEND, so the bytes depend on nothing but the pixels', () => {
    // Prepare
    const rgb = new Uint8Array(4 * 4 * 3).fill(200);

    // Act
    const first = encodePng(4, 4, rgb);
    const second = encodePng(4, 4, rgb.slice());

    // Assess
    expect(chunkTypes(first)).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
  });

  it.each([
    ['a buffer of the wrong length', 2, 2, 11],
    ['a zero width', 0, 2, 0],
    ['a fractional height', 2, 1.5, 9],
  ])('rejects %s', (_, width, height, bytes) => {
    // Act
    const act = () => encodePng(width, height, new Uint8Array(bytes));

    // Assess
    expect(act).toThrow(RangeError);
  });

  it('round-trips any image through a standard decoder', () => {
    const image = fc
      .record({ width: fc.integer({ min: 1, max: 24 }), height: fc.integer({ min: 1, max: 24 }) })
      .chain(({ width, height }) =>
        fc.record({
          width: fc.constant(width),
          height: fc.constant(height),
          rgb: fc.uint8Array({ minLength: width * height * 3, maxLength: width * height * 3 }),
        }),
      );
    fc.assert(
      fc.property(image, ({ width, height, rgb }) => {
        // Act
        const decoded = decode(encodePng(width, height, rgb));

        // Assess
        expect(decoded).toEqual({ width, height, rgb });
      }),
      { numRuns: 60 },
    );
  });
});
