/**
 * The dataset routes' decoder, on images sharp encodes: each format to 8-bit sRGB of 3 channels, or
 * 4 with alpha; a 16-bit PNG and a CMYK JPEG to the same; anything else, and an image past
 * 4096 × 4096, refused as a 400, the latter from its header alone.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { MAX_IMAGE_PIXELS } from '../../../../lambdas/adapters/vision/bundled-models.ts';
import { SharpPixelDecoder } from '../../../../lambdas/adapters/vision/sharp-decoder.ts';
import type { DomainError } from '../../../../lambdas/domain/errors.ts';
import { checkImage } from '../../../../lambdas/domain/validation/privacy.ts';

const WIDTH = 5;
const HEIGHT = 4;
/** The colour every test image is filled with; alpha 0.5 where the image has an alpha channel. */
const RGB = [200, 100, 50] as const;

/** An image of one colour, of 3 channels or of 4 (half transparent). */
const filled = (channels: 3 | 4, width = WIDTH, height = HEIGHT) =>
  sharp({
    create: { width, height, channels, background: { r: RGB[0], g: RGB[1], b: RGB[2], alpha: 0.5 } },
  });

/** The decoder's error, which a test expects. */
async function refusal(bytes: Uint8Array): Promise<DomainError> {
  try {
    await new SharpPixelDecoder().decode(bytes);
  } catch (error) {
    return error as DomainError;
  }
  throw new Error('the decoder took the bytes');
}

/** Every pixel of a decoded image, as arrays of its channels. */
const pixelsOf = (data: Uint8Array | Uint8ClampedArray, channels: number) =>
  Array.from({ length: data.length / channels }, (_, i) => [
    ...data.subarray(i * channels, (i + 1) * channels),
  ]);

describe('SharpPixelDecoder', () => {
  it.each([
    { name: 'an RGB PNG', encode: () => filled(3).png(), format: 'png', channels: 3 },
    { name: 'an RGBA PNG', encode: () => filled(4).png(), format: 'png', channels: 4 },
    { name: 'a JPEG', encode: () => filled(3).jpeg({ quality: 100 }), format: 'jpeg', channels: 3 },
    { name: 'a WebP', encode: () => filled(3).webp({ lossless: true }), format: 'webp', channels: 3 },
    {
      name: 'a WebP with alpha',
      encode: () => filled(4).webp({ lossless: true }),
      format: 'webp',
      channels: 4,
    },
    // libvips reads every GIF with an alpha channel (a GIF may have a transparent colour).
    { name: 'a GIF', encode: () => filled(3).gif(), format: 'gif', channels: 4 },
  ] as const)('decodes $name to 8-bit pixels of $channels channels', async ({ encode, format, channels }) => {
    // Prepare
    const bytes = await encode().toBuffer();

    // Act
    const image = await new SharpPixelDecoder().decode(bytes);

    // Assess: the size, the format, one byte per channel, and the colour it was filled with.
    expect(image).toMatchObject({ format, width: WIDTH, height: HEIGHT, channels });
    expect(image.data).toHaveLength(WIDTH * HEIGHT * channels);
    for (const pixel of pixelsOf(image.data, channels)) {
      expect(pixel.slice(0, 3)).toEqual([...RGB]);
      if (channels === 4) expect(pixel[3]).toBe(format === 'gif' ? 255 : 128);
    }
  });

  it('decodes a 16-bit PNG to 8 bits a channel, keeping its colour', async () => {
    // Prepare
    const bytes = await filled(3).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(bytes).metadata()).depth).toBe('ushort');

    // Act
    const image = await new SharpPixelDecoder().decode(bytes);

    // Assess
    expect(image).toMatchObject({ format: 'png', width: WIDTH, height: HEIGHT, channels: 3 });
    expect(image.data).toHaveLength(WIDTH * HEIGHT * 3);
    for (const pixel of pixelsOf(image.data, 3)) expect(pixel).toEqual([...RGB]);
  });

  it('decodes a 16-bit grey PNG with alpha to 4 channels of 8 bits', async () => {
    // Prepare: grey and alpha of each pixel, widened to 16 bits.
    const greyAlpha = [10, 128, 20, 255, 30, 0, 40, 64, 50, 1, 60, 2];
    const bytes = await sharp(Buffer.from(greyAlpha), { raw: { width: 3, height: 2, channels: 2 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    expect(await sharp(bytes).metadata()).toMatchObject({ channels: 2, depth: 'ushort' });

    // Act
    const image = await new SharpPixelDecoder().decode(bytes);

    // Assess
    expect(image).toMatchObject({ width: 3, height: 2, channels: 4 });
    expect(pixelsOf(image.data, 4)).toEqual(
      Array.from({ length: 6 }, (_, i) => {
        const [grey = 0, alpha = 0] = greyAlpha.slice(i * 2, i * 2 + 2);
        return [grey, grey, grey, alpha];
      }),
    );
  });

  it('turns a JPEG by its EXIF orientation, as the privacy check measures it', async () => {
    // Prepare: stored 40 × 20 with orientation 6 (turned a quarter clockwise), displayed 20 × 40.
    const bytes = await sharp({ create: { width: 40, height: 20, channels: 3, background: 'white' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();

    // Act
    const image = await new SharpPixelDecoder().decode(bytes);

    // Assess
    expect(checkImage(bytes, {})).toMatchObject({ width: 20, height: 40 });
    expect(image).toMatchObject({ width: 20, height: 40 });
    expect(image.data).toHaveLength(20 * 40 * 3);
  });

  it('decodes a grey PNG and a CMYK JPEG to 3 sRGB channels', async () => {
    // Prepare
    const grey = await filled(3).greyscale().png().toBuffer();
    const cmyk = await filled(3).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');

    // Act
    const fromGrey = await new SharpPixelDecoder().decode(grey);
    const fromCmyk = await new SharpPixelDecoder().decode(cmyk);

    // Assess: grey is the same value in each channel; CMYK comes back close to its colour.
    expect(fromGrey.channels).toBe(3);
    for (const [r, g, b] of pixelsOf(fromGrey.data, 3)) expect([g, b]).toEqual([r, r]);
    expect(fromCmyk.channels).toBe(3);
    for (const pixel of pixelsOf(fromCmyk.data, 3)) {
      const off = pixel.map((value, i) => Math.abs(value - (RGB[i] ?? 0)));
      expect(Math.max(...off)).toBeLessThanOrEqual(20);
    }
  });

  it.each([
    { name: 'text', bytes: () => new TextEncoder().encode('image_path,passed\nfoo.png,true\n') },
    { name: 'no bytes', bytes: () => new Uint8Array() },
    // An MP4's `ftyp` box: a format the inference routes take, and these do not.
    { name: 'an MP4', bytes: () => Uint8Array.from(Buffer.from('\0\0\0\x18ftypisom\0\0\0\0isomiso2')) },
  ])('refuses $name as no image, with a 400', async ({ bytes }) => {
    // Act
    const error = await refusal(bytes());

    // Assess
    expect(error).toMatchObject({
      code: 'INVALID_PARAMETERS',
      status: 400,
      message: 'the image is not a PNG, JPEG, GIF or WebP image',
    });
  });

  it('refuses a PNG whose data is cut short, with a 400 that says it cannot be decoded', async () => {
    // Prepare
    const png = await filled(3, 64, 64).png({ compressionLevel: 0 }).toBuffer();

    // Act
    const error = await refusal(png.subarray(0, png.length >> 1));

    // Assess
    expect(error).toMatchObject({ code: 'INVALID_PARAMETERS', status: 400 });
    expect(error.message).toMatch(/^the image cannot be decoded: /);
  });

  it('takes an image of exactly 4096 × 4096 pixels and refuses one more column, with a 400', async () => {
    // Prepare
    const atLimit = await filled(3, 4096, 4096).png().toBuffer();
    const past = await filled(3, 4097, 4096).png().toBuffer();

    // Act
    const decoded = await new SharpPixelDecoder().decode(atLimit);
    const error = await refusal(past);

    // Assess
    expect(decoded.width * decoded.height).toBe(MAX_IMAGE_PIXELS);
    expect(error).toMatchObject({
      code: 'INVALID_PARAMETERS',
      status: 400,
      message: `the image has more than ${MAX_IMAGE_PIXELS} pixels (4096 × 4096)`,
      details: { constraint: 'at most 4096 × 4096 pixels' },
    });
  });

  it('refuses an image past 4096 × 4096 from its header, before reading its pixels', async () => {
    // Prepare: only the first 200 bytes (the header and the start of the data) of each image: a
    // decoder that read the pixels would find them cut short, in both.
    const past = (await filled(3, 5000, 5000).png().toBuffer()).subarray(0, 200);
    const within = (await filled(3, 4096, 4096).png().toBuffer()).subarray(0, 200);

    // Act
    const pastError = await refusal(past);
    const withinError = await refusal(within);

    // Assess: the image past the limit is refused for its size, the other for its missing data.
    expect(pastError.message).toBe(`the image has more than ${MAX_IMAGE_PIXELS} pixels (4096 × 4096)`);
    expect(withinError.message).toMatch(/^the image cannot be decoded: /);
  });
});
