/**
 * The frame checks of seed 003's inference routes: strict base64, formats from the first bytes,
 * Bedrock's limits and each model's own, and `s3://` frames read from the tenant's uploads only.
 * Each violation is a 400 naming the frame and the limit (a 404 for another's S3 object).
 */
import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sniffFormat } from '../../../../contracts/inference-vocabulary.ts';
import { DomainError } from '../../../../lambdas/domain/errors.ts';
import { checkFrames, decodeBase64, megabytes } from '../../../../lambdas/domain/inference/frames.ts';
import {
  anImage,
  anMp4,
  aPngOfBytes,
  BUCKET,
  base64,
  CLAUDE,
  failure,
  MemoryBlobs,
  NOVA,
  QWEN,
  TENANT,
  UI_TARS,
} from './fakes.ts';

const source = (blobs = new MemoryBlobs()) => ({ tenant: TENANT, blobs });

describe('checkFrames: formats', () => {
  it.each(['png', 'jpeg', 'gif', 'webp'] as const)(
    'accepts a %s image, typed and measured',
    async (format) => {
      // Prepare
      const bytes = await anImage(format, 40, 30);

      // Act
      const frames = await checkFrames([base64(bytes)], 'image', CLAUDE, source());

      // Assess
      expect(frames).toEqual([{ kind: 'image', format, bytes, width: 40, height: 30 }]);
    },
  );

  it("strips a data URL's prefix and types the frame by its bytes, not by the type the prefix claims", async () => {
    // Prepare
    const png = await anImage('png');

    // Act
    const frames = await checkFrames([`data:image/jpeg;base64,${base64(png)}`], 'image', CLAUDE, source());

    // Assess
    expect(frames[0]).toMatchObject({ kind: 'image', format: 'png' });
  });

  it('refuses a frame that is no image, naming it', async () => {
    // Prepare
    const png = base64(await anImage('png'));
    const text = base64(new TextEncoder().encode('hello, this is no image at all'));

    // Act
    const error = await failure(checkFrames([png, text], 'image', CLAUDE, source()));

    // Assess
    expect(error).toMatchObject({
      code: 'INVALID_PARAMETERS',
      status: 400,
      message: 'frames[1] is not a PNG, JPEG, GIF or WebP image',
      details: { parameter: 'frames[1]', constraint: 'a PNG, JPEG, GIF or WebP image' },
    });
  });

  it.each([
    ['a character outside the alphabet', 'iVBORw0K*ggo='],
    ['base64url', 'iVBORw0K-_go'],
    ['a line break', 'iVBORw0K\nggoA'],
    ['no padding', 'QUJDRA'],
    ['too much padding', 'QQ==='],
    ['padding inside', 'QQ==QUJD'],
  ])('refuses base64 with %s, naming the frame', async (_case, bad) => {
    // Prepare
    const png = base64(await anImage('png'));

    // Act
    const error = await failure(checkFrames([png, png, bad], 'image', CLAUDE, source()));

    // Assess
    expect(error.message).toBe('frames[2] is not valid base64');
    expect(error.details).toMatchObject({ parameter: 'frames[2]' });
  });

  it('refuses a PNG cut short, whose size cannot be read', async () => {
    // Prepare
    const truncated = (await anImage('png')).subarray(0, 12);

    // Act
    const error = await failure(checkFrames([base64(truncated)], 'image', CLAUDE, source()));

    // Assess
    expect(error.message).toBe('frames[0] is not a readable PNG image (truncated or corrupt)');
  });

  it('refuses a video sent as an image, and an image sent as a video', async () => {
    // Prepare
    const mp4 = base64(anMp4());
    const png = base64(await anImage('png'));

    // Act
    const video = await failure(checkFrames([mp4], 'image', NOVA, source()));
    const image = await failure(checkFrames([png], 'video', NOVA, source()));
    const neither = await failure(checkFrames([base64(new Uint8Array(64))], 'video', NOVA, source()));

    // Assess
    expect(video.message).toBe('frames[0] is an MP4 video; send it alone with mediaType "video"');
    expect(image.message).toBe('frames[0] is a PNG image; mediaType "video" takes one MP4 video');
    expect(neither.message).toBe('frames[0] is not an MP4 video (no ftyp box at byte 4)');
  });

  it('does not take an AVIF image, which opens with an ftyp box like an MP4, for a video', async () => {
    // Prepare
    const avif = anMp4();
    avif.set(new TextEncoder().encode('avif'), 8);

    // Act
    const error = await failure(checkFrames([base64(avif)], 'video', NOVA, source()));

    // Assess
    expect(error.message).toBe('frames[0] is not an MP4 video (no ftyp box at byte 4)');
  });

  it('accepts one MP4 video for a model that takes video', async () => {
    // Prepare
    const mp4 = anMp4(1000);

    // Act
    const frames = await checkFrames([base64(mp4)], 'video', NOVA, source());

    // Assess
    expect(frames).toEqual([{ kind: 'video', format: 'mp4', bytes: mp4 }]);
  });
});

describe("checkFrames: Bedrock's limits", () => {
  it('refuses 21 images, and takes 20', async () => {
    // Prepare
    const png = base64(await anImage('png'));

    // Act
    const error = await failure(checkFrames(Array(21).fill(png), 'image', NOVA, source()));
    const twenty = await checkFrames(Array(20).fill(png), 'image', NOVA, source());

    // Assess
    expect(error).toMatchObject({
      message: 'frames has 21 images; the limit is 20 per request',
      details: { parameter: 'frames', value: 21, constraint: 'at most 20 images' },
    });
    expect(twenty).toHaveLength(20);
  });

  it('refuses an image over 3.75 MB, naming the frame, its size and the limit', async () => {
    // Prepare
    const small = base64(await anImage('png'));
    const large = base64(await aPngOfBytes(4_100_000));

    // Act
    const error = await failure(checkFrames([small, small, small, large], 'image', CLAUDE, source()));

    // Assess
    expect(error).toMatchObject({
      code: 'INVALID_PARAMETERS',
      message: 'frames[3] is 4.1 MB; the limit is 3.75 MB per image',
      details: { parameter: 'frames[3]', value: 4_100_000, constraint: 'at most 3750000 bytes per image' },
    });
  });

  it('takes an image of exactly 3.75 MB, and shows one byte more as more than the limit', async () => {
    // Prepare
    const atLimit = base64(await aPngOfBytes(3_750_000));
    const over = base64(await aPngOfBytes(3_750_001));

    // Act
    const frames = await checkFrames([atLimit], 'image', CLAUDE, source());
    const error = await failure(checkFrames([over], 'image', CLAUDE, source()));

    // Assess
    expect(frames).toHaveLength(1);
    expect(error.message).toBe('frames[0] is 3.750001 MB; the limit is 3.75 MB per image');
  });

  it('refuses an image wider or taller than 8000 px, and takes 8000 px', async () => {
    // Prepare
    const wide = base64(await anImage('png', 8001, 2));
    const tall = base64(await anImage('jpeg', 2, 8001));
    const atLimit = base64(await anImage('png', 8000, 2));

    // Act
    const wideError = await failure(checkFrames([wide], 'image', CLAUDE, source()));
    const tallError = await failure(checkFrames([atLimit, tall], 'image', CLAUDE, source()));
    const frames = await checkFrames([atLimit], 'image', CLAUDE, source());

    // Assess
    expect(wideError).toMatchObject({
      message: 'frames[0] is 8001×2 px; the limit is 8000 px a side',
      details: { parameter: 'frames[0]', value: '8001x2', constraint: 'at most 8000x8000 px' },
    });
    expect(tallError.message).toBe('frames[1] is 2×8001 px; the limit is 8000 px a side');
    expect(frames[0]).toMatchObject({ width: 8000, height: 2 });
  });

  it('takes exactly one video, under 25 MB inline', async () => {
    // Prepare
    const mp4 = base64(anMp4());
    const large = base64(anMp4(25_000_000));

    // Act
    const two = await failure(checkFrames([mp4, mp4], 'video', NOVA, source()));
    const tooLarge = await failure(checkFrames([large], 'video', NOVA, source()));

    // Assess
    expect(two.message).toBe('mediaType "video" takes exactly one MP4 frame; frames has 2');
    expect(tooLarge.message).toBe(
      'frames[0] is 25 MB; a video sent inline must be under 25 MB: upload it and send its s3:// URI',
    );
  });
});

describe("checkFrames: a model's own limits", () => {
  it('refuses video for a model that takes images only, naming the model', async () => {
    // Act
    const error = await failure(checkFrames([base64(anMp4())], 'video', CLAUDE, source()));

    // Assess
    expect(error).toMatchObject({
      message: 'model claude4 does not take video frames; it takes image',
      details: { parameter: 'mediaType', value: 'video', model: 'claude4' },
    });
  });

  it("holds an EMD model to its images per prompt, and a fan-out to every model's", async () => {
    // Prepare
    const png = base64(await anImage('png'));

    // Act
    const qwen = await failure(checkFrames([png, png, png], 'image', QWEN, source()));
    const fanOut = await failure(checkFrames([png, png], 'image', [NOVA, QWEN, UI_TARS], source()));
    const fits = await checkFrames([png, png], 'image', [NOVA, QWEN], source());

    // Assess
    expect(qwen).toMatchObject({
      message: 'frames has 3 images; model qwen2-vl-7b takes at most 2 per prompt',
      details: { parameter: 'frames', value: 3, model: 'qwen2-vl-7b' },
    });
    expect(fanOut.message).toBe('frames has 2 images; model ui-tars-1.5-7b takes at most 1 per prompt');
    expect(fits).toHaveLength(2);
  });

  it('checks nothing for a request without frames', async () => {
    // Act
    const frames = await checkFrames([], 'video', CLAUDE, source());

    // Assess
    expect(frames).toEqual([]);
  });
});

describe('checkFrames: s3:// frames', () => {
  const own = (name: string) => `${TENANT}/uploads/01JUPLOAD/${name}`;
  const uri = (key: string, bucket = BUCKET) => `s3://${bucket}/${key}`;

  it("reads the tenant's own upload and checks it like an inline frame", async () => {
    // Prepare
    const blobs = new MemoryBlobs();
    const png = await anImage('png', 50, 40);
    blobs.objects.set(own('cat.png'), png);

    // Act
    const frames = await checkFrames([uri(own('cat.png'))], 'image', CLAUDE, source(blobs));

    // Assess
    expect(frames).toEqual([{ kind: 'image', format: 'png', bytes: png, width: 50, height: 40 }]);
  });

  it("answers another tenant's object exactly as one that does not exist: 404, nothing read", async () => {
    // Prepare
    const blobs = new MemoryBlobs();
    const png = await anImage('png');
    blobs.objects.set('globex/uploads/01JUPLOAD/cat.png', png);

    // Act
    const existing = await failure(
      checkFrames([uri('globex/uploads/01JUPLOAD/cat.png')], 'image', CLAUDE, source(blobs)),
    );
    const missing = await failure(
      checkFrames([uri('globex/uploads/01JUPLOAD/dog.png')], 'image', CLAUDE, source(blobs)),
    );

    // Assess
    expect(existing).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect(existing.message.replace('cat', 'X')).toBe(missing.message.replace('dog', 'X'));
    expect(existing.details).toEqual({
      parameter: 'frames[0]',
      value: uri('globex/uploads/01JUPLOAD/cat.png'),
    });
    expect(blobs.reads).toEqual([]);
  });

  it.each([
    ['another bucket', uri(own('cat.png'), 'someone-elses-bucket')],
    ["the tenant's keys outside its uploads", uri(`${TENANT}/jobs/01JJOB/image.png`)],
    ['a missing upload', uri(own('missing.png'))],
    ['a prefix that only looks like the tenant', uri(`${TENANT}x/uploads/01JUPLOAD/cat.png`)],
  ])('answers 404 for %s', async (_case, frame) => {
    // Prepare
    const blobs = new MemoryBlobs();
    const png = await anImage('png');
    for (const key of [
      own('cat.png'),
      `${TENANT}/jobs/01JJOB/image.png`,
      `${TENANT}x/uploads/01JUPLOAD/cat.png`,
    ]) {
      blobs.objects.set(key, png);
    }

    // Act
    const error = await failure(checkFrames([frame], 'image', CLAUDE, source(blobs)));

    // Assess
    expect(error).toMatchObject({
      code: 'NOT_FOUND',
      message: `frames[0] was not found: ${frame} is not one of your uploads`,
    });
  });

  it.each([
    ['a `..` segment', `${TENANT}/uploads/../../globex/uploads/01JUPLOAD/cat.png`],
    ['a `.` segment', `${TENANT}/uploads/./01JUPLOAD/cat.png`],
    ['an empty segment', `${TENANT}/uploads//01JUPLOAD/cat.png`],
    ['a key ending in /', `${TENANT}/uploads/01JUPLOAD/`],
  ])('answers 404 for a key with %s, which a store on disk would resolve', async (_case, key) => {
    // Prepare: a store that resolves a key as a path, as the local S3 emulator does on disk
    class DiskBlobs extends MemoryBlobs {
      override size(key: string) {
        return super.size(posix.normalize(key));
      }
      override get(key: string) {
        return super.get(posix.normalize(key));
      }
    }
    const blobs = new DiskBlobs();
    const png = await anImage('png');
    blobs.objects.set('globex/uploads/01JUPLOAD/cat.png', png);
    blobs.objects.set(own('cat.png'), png);
    blobs.objects.set(`${TENANT}/uploads/01JUPLOAD`, png);

    // Act
    const error = await failure(checkFrames([uri(key)], 'image', CLAUDE, source(blobs)));

    // Assess
    expect(error).toMatchObject({
      code: 'NOT_FOUND',
      status: 404,
      message: `frames[0] was not found: ${uri(key)} is not one of your uploads`,
    });
    expect(blobs.reads).toEqual([]);
  });

  it('refuses an s3:// URI without a key', async () => {
    // Act
    const error = await failure(checkFrames([`s3://${BUCKET}`], 'image', CLAUDE, source()));

    // Assess
    expect(error).toMatchObject({
      code: 'INVALID_PARAMETERS',
      message: 'frames[0] is not an s3:// URI of the form s3://bucket/key',
    });
  });

  it('refuses an image in S3 over 3.75 MB without reading it', async () => {
    // Prepare
    const blobs = new MemoryBlobs();
    blobs.sizes.set(own('huge.png'), 9_000_000);

    // Act
    const error = await failure(checkFrames([uri(own('huge.png'))], 'image', CLAUDE, source(blobs)));

    // Assess
    expect(error.message).toBe('frames[0] is 9 MB; the limit is 3.75 MB per image');
    expect(blobs.reads).toEqual([]);
  });

  it('leaves a video of 25 MB or more in S3 for a Bedrock model, refuses it for the others, and refuses 1 GB and more', async () => {
    // Prepare
    const blobs = new MemoryBlobs();
    blobs.sizes.set(own('long.mp4'), 300_000_000);
    blobs.sizes.set(own('huge.mp4'), 1_200_000_000);

    // Act
    const nova = await checkFrames([uri(own('long.mp4'))], 'video', NOVA, source(blobs));
    const qwen = await failure(checkFrames([uri(own('long.mp4'))], 'video', [NOVA, QWEN], source(blobs)));
    const huge = await failure(checkFrames([uri(own('huge.mp4'))], 'video', NOVA, source(blobs)));

    // Assess
    expect(nova).toEqual([{ kind: 'video', format: 'mp4', s3Uri: uri(own('long.mp4')) }]);
    expect(qwen).toMatchObject({
      message:
        'frames[0] is a video of 25 MB or more in S3; model qwen2-vl-7b takes videos under 25 MB only ' +
        '(Bedrock models read larger ones from S3)',
      details: { model: 'qwen2-vl-7b' },
    });
    expect(huge.message).toBe('frames[0] is 1200 MB; the limit is 1 GB for a video in S3');
    expect(blobs.reads).toEqual([]);
  });

  it('reads a small video from S3 and sends it inline', async () => {
    // Prepare
    const blobs = new MemoryBlobs();
    const mp4 = anMp4(2048);
    blobs.objects.set(own('short.mp4'), mp4);

    // Act
    const frames = await checkFrames([uri(own('short.mp4'))], 'video', QWEN, source(blobs));

    // Assess
    expect(frames).toEqual([{ kind: 'video', format: 'mp4', bytes: mp4 }]);
  });
});

describe('frame decoding: properties', () => {
  it('decodes every byte string from its base64, with or without a data URL prefix', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 400 }), fc.boolean(), (bytes, prefixed) => {
        const encoded = Buffer.from(bytes).toString('base64');
        const decoded = decodeBase64(prefixed ? `data:image/png;base64,${encoded}` : encoded, 0);
        expect(decoded).toEqual(bytes);
      }),
    );
  });

  it('refuses base64 with any character outside the alphabet, or without its padding', () => {
    const outside = fc.constantFrom('-', '_', ' ', '\n', '.', '*', 'é', '\u0000', '%');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 60 }), outside, fc.nat(), (bytes, bad, at) => {
        const encoded = Buffer.from(bytes).toString('base64');
        const position = at % (encoded.length + 1);
        const damaged = encoded.slice(0, position) + bad + encoded.slice(position);
        expect(() => decodeBase64(damaged, 4)).toThrowError('frames[4] is not valid base64');
        const unpadded = encoded.replace(/=+$/, '');
        if (unpadded !== encoded) expect(() => decodeBase64(unpadded, 4)).toThrowError(DomainError);
      }),
    );
  });

  /** The first bytes of each format, as magic numbers are documented. */
  const MAGIC: Record<string, number[]> = {
    png: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    jpeg: [0xff, 0xd8, 0xff],
    gif: [...'GIF89a'].map((char) => char.charCodeAt(0)),
    webp: [...'RIFF'].map((char) => char.charCodeAt(0)),
  };

  it('never accepts random bytes as a format they are not, and refuses them with a 400', async () => {
    const prefix = fc.option(fc.constantFrom(...Object.values(MAGIC)), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(prefix, fc.uint8Array({ maxLength: 96 }), async (magic, rest) => {
        const bytes = new Uint8Array([...(magic ?? []), ...rest]);
        if (bytes.length === 0) return;
        const outcome = await checkFrames([base64(bytes)], 'image', NOVA, source()).then(
          (frames) => frames[0],
          (error: unknown) => error,
        );
        if (outcome instanceof DomainError) {
          expect(outcome.code).toBe('INVALID_PARAMETERS');
          return;
        }
        expect(outcome).toMatchObject({ kind: 'image' });
        const format = (outcome as { format: string }).format;
        expect(sniffFormat(bytes)).toBe(format);
        expect([...bytes.subarray(0, (MAGIC[format] as number[]).length)]).toEqual(MAGIC[format]);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a damaged image with a 400 or takes it as its own format, never failing otherwise', async () => {
    const images = await Promise.all(
      (['png', 'jpeg', 'gif', 'webp'] as const).map((format) => anImage(format)),
    );
    const damage = fc.record({
      image: fc.constantFrom(...images),
      cut: fc.nat(),
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(damage, async ({ image, cut, flips }) => {
        const bytes = image.slice(0, 1 + (cut % image.length));
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        const outcome = await checkFrames([base64(bytes)], 'image', NOVA, source()).then(
          (frames) => frames[0],
          (error: unknown) => error,
        );
        if (outcome instanceof DomainError) expect(outcome.code).toBe('INVALID_PARAMETERS');
        else expect(outcome).toMatchObject({ kind: 'image', format: sniffFormat(bytes) });
      }),
      { numRuns: 300 },
    );
  });

  it('shows a size over its limit as over it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        (limit, more) => {
          expect(Number(megabytes(limit + more, limit))).toBeGreaterThan(limit / 1_000_000);
        },
      ),
    );
  });
});
