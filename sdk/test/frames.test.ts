/** Frames on the client side: the type from the first bytes, and which frames must be uploaded. */
import { describe, expect, it } from 'vitest';
import { base64Length, framesToUpload, sniffFrameType } from '../src/frames.ts';

const bytes = (...parts: (number[] | string)[]) =>
  Uint8Array.from(
    parts.flatMap((part) => (typeof part === 'string' ? [...part].map((c) => c.charCodeAt(0)) : part)),
  );

describe('sniffFrameType', () => {
  it('reads PNG, JPEG, GIF, WebP and MP4 from their magic bytes, and nothing else', () => {
    expect(sniffFrameType(bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a, 0]))).toBe('image/png');
    expect(sniffFrameType(bytes([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
    expect(sniffFrameType(bytes('GIF89a', [1]))).toBe('image/gif');
    expect(sniffFrameType(bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 '))).toBe('image/webp');
    expect(sniffFrameType(bytes([0, 0, 0, 0x20], 'ftypisom'))).toBe('video/mp4');
    expect(sniffFrameType(bytes('hello world'))).toBeUndefined();
    expect(sniffFrameType(new Uint8Array())).toBeUndefined();
  });

  it('takes a HEIF or AVIF image for no MP4, as the gateway does, though it opens with an ftyp box', () => {
    // Prepare
    const still = ['heic', 'heix', 'mif1', 'avif'].map((brand) => bytes([0, 0, 0, 0x18], 'ftyp', brand));
    const video = bytes([0, 0, 0, 0x18], 'ftypmp42');

    // Act
    const types = still.map(sniffFrameType);

    // Assess
    expect(types).toEqual([undefined, undefined, undefined, undefined]);
    expect(sniffFrameType(video)).toBe('video/mp4');
  });
});

describe('framesToUpload', () => {
  it('keeps everything inline when it fits', () => {
    expect(framesToUpload([1_000, 2_000], 100, 10_000)).toEqual(new Set());
  });

  it('uploads the largest frames first, only as many as it takes to fit', () => {
    // Prepare: three frames whose base64 is 4000, 8000 and 2000 characters; room for about 7000.
    const sizes = [3_000, 6_000, 1_500];

    // Act
    const upload = framesToUpload(sizes, 200, 7_000);

    // Assess
    expect(upload).toEqual(new Set([1]));
    expect(base64Length(3_000) + base64Length(1_500) + 200).toBeLessThanOrEqual(7_000);
    expect(framesToUpload(sizes, 200, 3_000)).toEqual(new Set([0, 1]));
  });
});
