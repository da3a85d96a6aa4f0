/**
 * Image bytes to pixels for the dataset routes, by sharp (libvips): the first frame of a PNG, JPEG,
 * GIF or WebP, as 8-bit sRGB (with its alpha channel when it has one), turned upright by its EXIF
 * orientation. The format is read from the bytes' signature first, so that no other file reaches the
 * decoder, and the pixel limit is the local vision model's (4096 × 4096): an image past it is refused
 * before it is decoded.
 */
import sharp from 'sharp';
import { sniffFormat } from '../../../contracts/inference-vocabulary.ts';
import type { DecodedImage, PixelDecoder } from '../../domain/datasets/ports.ts';
import { invalidParameters } from '../../domain/errors.ts';
import { MAX_IMAGE_PIXELS } from './bundled-models.ts';

export class SharpPixelDecoder implements PixelDecoder {
  async decode(bytes: Uint8Array): Promise<DecodedImage> {
    const format = sniffFormat(bytes);
    if (format === undefined || format === 'mp4') {
      throw invalidParameters('the image is not a PNG, JPEG, GIF or WebP image', {
        constraint: 'png, jpeg, gif or webp',
      });
    }
    try {
      // Turned by a JPEG's EXIF orientation, as the privacy check and its detectors measure the image:
      // a portrait photo's width and height are the ones it is shown with.
      const { data, info } = await sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS, autoOrient: true })
        // 8-bit sRGB whatever the source (16-bit PNGs, CMYK JPEGs, grey): 3 channels, or 4 with alpha.
        .toColourspace('srgb')
        .raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true });
      return {
        format,
        width: info.width,
        height: info.height,
        channels: info.channels === 4 ? 4 : 3,
        data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/pixel limit/i.test(message)) {
        throw invalidParameters(`the image has more than ${MAX_IMAGE_PIXELS} pixels (4096 × 4096)`, {
          constraint: 'at most 4096 × 4096 pixels',
        });
      }
      throw invalidParameters(`the image cannot be decoded: ${message}`, {});
    }
  }
}
