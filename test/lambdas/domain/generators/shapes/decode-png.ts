/**
 * Decodes a PNG from an archive with an independent decoder (pngjs), so that tests check what
 * any reader of the archive sees rather than what our encoder meant to write.
 */
import { PNG } from 'pngjs';

export interface DecodedImage {
  width: number;
  height: number;
  /** 3 bytes per pixel, row-major. */
  rgb: Uint8Array;
}

export function decodePng(bytes: Uint8Array | undefined): DecodedImage {
  const image = PNG.sync.read(Buffer.from(bytes ?? []));
  const rgb = new Uint8Array(image.width * image.height * 3);
  for (let pixel = 0; pixel < image.width * image.height; pixel++) {
    rgb.set(image.data.subarray(pixel * 4, pixel * 4 + 3), pixel * 3);
  }
  return { width: image.width, height: image.height, rgb };
}
