/** Rekognition behind the image detectors: what it is sent, its boxes in pixels, its errors. */
import {
  AccessDeniedException,
  DetectFacesCommand,
  type DetectFacesCommandOutput,
  DetectTextCommand,
  type DetectTextCommandOutput,
  ImageTooLargeException,
  InvalidImageFormatException,
  ProvisionedThroughputExceededException,
  RekognitionClient,
  ThrottlingException,
} from '@aws-sdk/client-rekognition';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import sharp from 'sharp';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  pixels,
  REKOGNITION_LIMITS,
  RekognitionDetectors,
} from '../../../../lambdas/adapters/vision/rekognition-detectors.ts';
import type { ImageInput } from '../../../../lambdas/domain/validation/privacy.ts';
import { validatePrivacy } from '../../../../lambdas/domain/validation/privacy.ts';
import { loadEvent } from '../../../support/fixtures.ts';

const rekognition = mockClient(RekognitionClient);
const detectors = () => new RekognitionDetectors(new RekognitionClient({ region: 'us-east-1' }));

/** The fixtures are answers for a 1024×512 image. */
const WIDTH = 1024;
const HEIGHT = 512;
let png: Uint8Array;

const image = (overrides: Partial<ImageInput> = {}): ImageInput => ({
  bytes: png,
  format: 'png',
  width: WIDTH,
  height: HEIGHT,
  ...overrides,
});

beforeAll(async () => {
  png = await sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: '#fff' } })
    .png()
    .toBuffer();
});

beforeEach(() => {
  rekognition.reset();
  rekognition
    .on(DetectFacesCommand)
    .resolves(loadEvent<DetectFacesCommandOutput>('rekognition/detect-faces.json'));
  rekognition
    .on(DetectTextCommand)
    .resolves(loadEvent<DetectTextCommandOutput>('rekognition/detect-text.json'));
});

describe('RekognitionDetectors', () => {
  it('asks DetectFaces for the default attributes of the bytes, and gives its boxes in pixels, cut to the image', async () => {
    // Act
    const faces = await detectors().faces(image());

    // Assess
    expect(rekognition).toHaveReceivedCommandWith(DetectFacesCommand, {
      Image: { Bytes: png },
      Attributes: ['DEFAULT'],
    });
    expect(faces).toEqual([
      { region: { x: 231, y: 90, width: 93, height: 99 }, confidence: 0.9999971008300781 },
      // Past the right and top edges: Left + Width is 1.03, Top is negative.
      { region: { x: 983, y: 0, width: 41, height: 67 }, confidence: 0.8731195068359375 },
    ]);
  });

  it("gives DetectText's lines with their words, each boxed in pixels", async () => {
    // Act
    const lines = await detectors().lines(image());

    // Assess
    expect(rekognition).toHaveReceivedCommandWith(DetectTextCommand, { Image: { Bytes: png } });
    expect(lines.map(({ text }) => text)).toEqual([
      'Contact jane.doe@example.com',
      'card 4111 1111 1111 1111',
    ]);
    expect(lines[0]).toEqual({
      text: 'Contact jane.doe@example.com',
      region: { x: 51, y: 103, width: 625, height: 36 },
      confidence: 0.996357421875,
      words: [
        { text: 'Contact', region: { x: 51, y: 103, width: 169, height: 35 }, confidence: 0.998876953125 },
        {
          text: 'jane.doe@example.com',
          region: { x: 236, y: 103, width: 440, height: 36 },
          confidence: 0.993837890625,
        },
      ],
    });
    expect(lines[1]?.words?.map(({ text }) => text)).toEqual(['card', '4111', '1111', '1111', '1111']);
  });

  it('lets the domain place the PII it finds on the words Rekognition boxed', async () => {
    // Act
    const report = await validatePrivacy(png, { checkFaces: true, checkText: true }, { image: detectors() });

    // Assess
    expect(report).toMatchObject({
      faces_detected: 2,
      text_detected: true,
      pii_detected: true,
      passed: false,
    });
    expect(report.issues.filter(({ type }) => type === 'pii')).toEqual([
      expect.objectContaining({ pii_type: 'email', region: { x: 236, y: 103, width: 440, height: 36 } }),
      expect.objectContaining({ pii_type: 'card', region: { x: 161, y: 256, width: 453, height: 36 } }),
    ]);
  });

  it('sends an image over 5 MB as its S3 object, and refuses one stored nowhere', async () => {
    // Prepare: the bytes' length is all the choice reads.
    const large = new Uint8Array(REKOGNITION_LIMITS.maxBytes + 1);
    const stored = { bucket: 'synthforge-data-123', key: 'acme/generated/image_1.png' };

    // Act
    await detectors().faces(image({ bytes: large, stored }));
    const unstored = detectors().faces(image({ bytes: large }));

    // Assess
    expect(rekognition).toHaveReceivedCommandWith(DetectFacesCommand, {
      Image: { S3Object: { Bucket: stored.bucket, Name: stored.key } },
    });
    await expect(unstored).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
    expect(rekognition).toHaveReceivedCommandTimes(DetectFacesCommand, 1);
  });

  it('sends a GIF or WebP as a PNG of its first frame, converted once for both calls', async () => {
    // Prepare
    const webp = await sharp({ create: { width: 120, height: 90, channels: 3, background: '#123456' } })
      .webp()
      .toBuffer();
    const input = image({ bytes: webp, format: 'webp', width: 120, height: 90 });
    const rekognitionDetectors = detectors();

    // Act
    await rekognitionDetectors.faces(input);
    await rekognitionDetectors.lines(input);

    // Assess
    const sent = [
      rekognition.commandCalls(DetectFacesCommand)[0]?.args[0].input.Image?.Bytes,
      rekognition.commandCalls(DetectTextCommand)[0]?.args[0].input.Image?.Bytes,
    ];
    expect(sent[0]).toBe(sent[1]);
    const metadata = await sharp(sent[0]).metadata();
    expect(metadata).toMatchObject({ format: 'png', width: 120, height: 90 });
  });

  it('answers an image Rekognition cannot read as 400 or 413, and a throttle as a 503 to retry', async () => {
    // Prepare
    const fault = { $metadata: {} };
    const cases = [
      [new InvalidImageFormatException({ message: 'Request has invalid image format', ...fault }), 400],
      [new ImageTooLargeException({ message: 'Image size is too large', ...fault }), 413],
      [new ThrottlingException({ message: 'Slow down', ...fault }), 503],
      [new ProvisionedThroughputExceededException({ message: 'Provisioned rate exceeded', ...fault }), 503],
    ] as const;

    for (const [error, status] of cases) {
      rekognition.on(DetectFacesCommand).rejects(error);

      // Act
      const detected = detectors().faces(image());

      // Assess
      await expect(detected).rejects.toMatchObject({ status });
    }
  });

  it('leaves access denied an error of the deployment, not of the caller', async () => {
    // Prepare
    const denied = new AccessDeniedException({ message: 'not authorized', $metadata: {} });
    rekognition.on(DetectTextCommand).rejects(denied);

    // Act
    const detected = detectors().lines(image());

    // Assess
    await expect(detected).rejects.toBe(denied);
  });
});

describe('pixels', () => {
  it('turns ratios into whole pixels of the displayed image, never outside it', () => {
    expect(pixels({ Left: 0.25, Top: 0.5, Width: 0.5, Height: 0.25 }, { width: 800, height: 600 })).toEqual({
      x: 200,
      y: 300,
      width: 400,
      height: 150,
    });
    expect(pixels({ Left: -0.1, Top: 0.9, Width: 0.3, Height: 0.3 }, { width: 100, height: 100 })).toEqual({
      x: 0,
      y: 90,
      width: 20,
      height: 10,
    });
  });
});
