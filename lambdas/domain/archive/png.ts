/**
 * A minimal PNG encoder: 8-bit RGB, no interlacing, no ancillary chunks. Written here rather than
 * taken from a library so that the bytes depend only on the pixels: no timestamps, no gamma or
 * software chunks, a fixed filter and a fixed zlib level.
 */
import { crc32, deflateSync } from 'node:zlib';
import { concatBytes } from './bytes.ts';

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const BYTES_PER_PIXEL = 3;
const COLOUR_TYPE_RGB = 2;
const FILTER_PAETH = 4;
/** Fixed so that the same pixels always give the same bytes. */
const ZLIB_LEVEL = 6;
/** The PNG specification's limit on width and height. */
const MAX_DIMENSION = 2 ** 31 - 1;

/** Encodes `rgb` (row-major, 3 bytes per pixel, no padding) as a PNG file. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  if (!isDimension(width) || !isDimension(height)) {
    throw new RangeError(`PNG dimensions must be integers in 1..${MAX_DIMENSION}, got ${width}x${height}`);
  }
  if (rgb.length !== width * height * BYTES_PER_PIXEL) {
    throw new RangeError(
      `expected ${width * height * BYTES_PER_PIXEL} bytes of RGB for ${width}x${height}, got ${rgb.length}`,
    );
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, COLOUR_TYPE_RGB, 0, 0, 0], 8); // bit depth, colour type, compression, filter, interlace

  const compressed = deflateSync(filterRows(width, height, rgb), { level: ZLIB_LEVEL });
  return concatBytes([
    SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', compressed),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/**
 * Paeth on every row: it predicts both horizontal and vertical gradients well, and one fixed
 * filter keeps the encoder fast and its output stable.
 */
function filterRows(width: number, height: number, rgb: Uint8Array): Uint8Array {
  const stride = width * BYTES_PER_PIXEL;
  const filtered = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    const out = y * (stride + 1);
    filtered[out] = FILTER_PAETH;
    for (let i = 0; i < stride; i++) {
      const left = i >= BYTES_PER_PIXEL ? (rgb[row + i - BYTES_PER_PIXEL] ?? 0) : 0;
      const up = y > 0 ? (rgb[row - stride + i] ?? 0) : 0;
      const upLeft = y > 0 && i >= BYTES_PER_PIXEL ? (rgb[row - stride + i - BYTES_PER_PIXEL] ?? 0) : 0;
      filtered[out + 1 + i] = (rgb[row + i] ?? 0) - paeth(left, up, upLeft);
    }
  }
  return filtered;
}

function paeth(left: number, up: number, upLeft: number): number {
  const estimate = left + up - upLeft;
  const toLeft = Math.abs(estimate - left);
  const toUp = Math.abs(estimate - up);
  const toUpLeft = Math.abs(estimate - upLeft);
  if (toLeft <= toUp && toLeft <= toUpLeft) return left;
  return toUp <= toUpLeft ? up : upLeft;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(12 + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, data.length);
  bytes.set(Buffer.from(type, 'latin1'), 4);
  bytes.set(data, 8);
  // The CRC covers the type and the data, not the length.
  view.setUint32(8 + data.length, crc32(bytes.subarray(4, 8 + data.length)));
  return bytes;
}

function isDimension(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= MAX_DIMENSION;
}
