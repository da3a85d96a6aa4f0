/** The privacy check's domain: the image checks before any detector, the issues, the score, the PII merge. */
import fc from 'fast-check';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DomainError } from '../../../../lambdas/domain/errors.ts';
import { megabytes } from '../../../../lambdas/domain/inference/frames.ts';
import {
  type DetectedFace,
  type DetectedLine,
  type ImageInput,
  type ImageLimits,
  type PiiEntity,
  type PrivacyDetectors,
  type PrivacyIssue,
  type Region,
  SEVERITY_PENALTY,
  validatePrivacy,
} from '../../../../lambdas/domain/validation/privacy.ts';
import { unionOf } from '../../../../lambdas/domain/validation/privacy-text.ts';
import { loadEvent } from '../../../support/fixtures.ts';

/** Each character of a fake line is 10 px wide; lines start 20 px from the left, 40 px tall. */
const CHAR = 10;
const LEFT = 20;

/** A line as a detector boxes it, its words boxed where they are in the text (or no word boxes). */
function line(
  text: string,
  top: number,
  options: { words?: boolean; confidence?: number } = {},
): DetectedLine {
  const words = [...text.matchAll(/\S+/g)].map((match) => ({
    text: match[0],
    region: { x: LEFT + match.index * CHAR, y: top, width: match[0].length * CHAR, height: 40 },
    confidence: 0.95,
  }));
  return {
    text,
    region: { x: LEFT, y: top, width: text.length * CHAR, height: 40 },
    confidence: options.confidence ?? 0.95,
    ...(options.words === false ? {} : { words }),
  };
}

/** The region of the characters [from, to) of a line made by `line`. */
const span = (top: number, from: number, to: number): Region => ({
  x: LEFT + from * CHAR,
  y: top,
  width: (to - from) * CHAR,
  height: 40,
});

const face = (confidence: number, x = 100): DetectedFace => ({
  region: { x, y: 50, width: 64, height: 80 },
  confidence,
});

interface Found {
  faces?: DetectedFace[];
  lines?: DetectedLine[];
  entities?: PiiEntity[];
  limits?: ImageLimits;
}

/** Fake detectors that answer what they are given and record what they were asked. */
function fakes(found: Found = {}) {
  const asked = { faces: [] as ImageInput[], lines: [] as ImageInput[], texts: [] as string[] };
  const detectors: PrivacyDetectors = {
    image: {
      limits: found.limits ?? { minSidePx: 80 },
      faces: async (image) => {
        asked.faces.push(image);
        return found.faces ?? [];
      },
      lines: async (image) => {
        asked.lines.push(image);
        return found.lines ?? [];
      },
    },
    ...(found.entities === undefined
      ? {}
      : {
          pii: {
            entities: async (text: string) => {
              asked.texts.push(text);
              return found.entities ?? [];
            },
          },
        }),
  };
  return { detectors, asked };
}

const BOTH = { checkFaces: true, checkText: true };
let png: Buffer;

beforeAll(async () => {
  png = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#ffffff' } })
    .png()
    .toBuffer();
});

const piiIssues = (issues: PrivacyIssue[]) => issues.filter((issue) => issue.type === 'pii');

describe('validatePrivacy: the image', () => {
  it('scores an image with nothing in it 100 and passes it, asking both detectors', async () => {
    // Prepare
    const { detectors, asked } = fakes();

    // Act
    const report = await validatePrivacy(png, BOTH, detectors);

    // Assess
    expect(report).toEqual({
      privacy_score: 100,
      faces_detected: 0,
      text_detected: false,
      pii_detected: false,
      issues: [],
      passed: true,
    });
    expect(asked.faces).toHaveLength(1);
    expect(asked.faces[0]).toMatchObject({ format: 'png', width: 200, height: 100 });
    expect(asked.lines).toHaveLength(1);
  });

  it('refuses bytes that are no PNG, JPEG, GIF or WebP, or a truncated image, before any detector runs', async () => {
    // Prepare
    const { detectors, asked } = fakes();
    const text = new TextEncoder().encode('GIF? no, a text file');

    // Act
    const notImage = validatePrivacy(text, BOTH, detectors);
    // A copy: image-size reads past the end of a view into a larger buffer.
    const truncated = validatePrivacy(Uint8Array.from(png.subarray(0, 20)), BOTH, detectors);

    // Assess
    await expect(notImage).rejects.toMatchObject({
      code: 'INVALID_PARAMETERS',
      status: 400,
      message: 'the image is not a PNG, JPEG, GIF or WebP image',
    });
    await expect(truncated).rejects.toMatchObject({
      status: 400,
      message: 'the image is not a readable PNG image (truncated or corrupt)',
    });
    expect(asked.faces).toHaveLength(0);
    expect(asked.lines).toHaveLength(0);
  });

  it("refuses an image smaller than the detectors' smallest side", async () => {
    // Prepare
    const small = await sharp({ create: { width: 79, height: 300, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    const { detectors, asked } = fakes({ limits: { minSidePx: 80 } });

    // Act
    const checked = validatePrivacy(small, BOTH, detectors);

    // Assess
    await expect(checked).rejects.toMatchObject({
      status: 400,
      message: 'the image is 79×300 px; the privacy check needs at least 80 px a side',
    });
    expect(asked.faces).toHaveLength(0);
  });

  it('refuses more bytes than a request holds (413), unless the image is stored where the detector reads it', async () => {
    // Prepare: noise does not compress, so this PNG is far over 1000 bytes.
    let state = 1;
    const noise = Buffer.alloc(96 * 96 * 3, 0).map(() => {
      state = (state * 16807) % 2147483647;
      return state & 0xff;
    });
    const noisy = await sharp(noise, { raw: { width: 96, height: 96, channels: 3 } })
      .png()
      .toBuffer();
    const limits = { minSidePx: 80, maxBytes: 1000, maxStoredBytes: 1_000_000 };
    const { detectors, asked } = fakes({ limits });
    const stored = { bucket: 'synthforge-data', key: 'acme/generated/image_1.png' };

    // Act
    const inline = validatePrivacy(noisy, BOTH, detectors);
    const fromBucket = await validatePrivacy(noisy, { ...BOTH, stored }, detectors);

    // Assess
    const error = (await inline.catch((caught: unknown) => caught)) as DomainError;
    expect(error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
    expect(error.message).toBe(
      `the image is ${megabytes(noisy.length, 1000)} MB (${noisy.length} bytes); the privacy check takes at most 1000 bytes, or 1000000 when it reads the image from the data bucket`,
    );
    expect(fromBucket.passed).toBe(true);
    expect(asked.faces).toEqual([expect.objectContaining({ stored, width: 96, height: 96 })]);
  });

  it("gives the detectors a JPEG's displayed size, turned by its EXIF orientation", async () => {
    // Prepare: stored 300×100, orientation 6 (turned a quarter clockwise) shows it 100×300.
    const turned = await sharp({ create: { width: 300, height: 100, channels: 3, background: '#888' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const { detectors, asked } = fakes();

    // Act
    await validatePrivacy(turned, BOTH, detectors);

    // Assess
    expect(asked.faces[0]).toMatchObject({ format: 'jpeg', width: 100, height: 300 });
  });

  it('refuses thresholds out of their range', async () => {
    // Prepare
    const { detectors } = fakes();

    // Act
    const checked = validatePrivacy(png, { ...BOTH, thresholds: { faceConfidence: 2 } }, detectors);

    // Assess
    await expect(checked).rejects.toMatchObject({
      status: 400,
      message: 'thresholds.faceConfidence must be between 0 and 1',
    });
  });
});

describe('validatePrivacy: faces', () => {
  it('counts the faces at or above the threshold, clear ones as high, and fails the image', async () => {
    // Prepare
    const { detectors } = fakes({ faces: [face(0.62, 300), face(0.3, 500), face(0.97)] });

    // Act
    const report = await validatePrivacy(png, BOTH, detectors);

    // Assess
    expect(report.faces_detected).toBe(2);
    expect(report.issues).toEqual([
      {
        type: 'face',
        severity: 'high',
        region: { x: 100, y: 50, width: 64, height: 80 },
        confidence: 0.97,
        message: 'A face (confidence 97%), 64×80 px at (100, 50)',
      },
      expect.objectContaining({ type: 'face', severity: 'medium', confidence: 0.62 }),
    ]);
    expect(report.privacy_score).toBe(100 - 40 - 20);
    expect(report.passed).toBe(false);
  });

  it('passes as many faces as maxFaces allows, and looks for none when check_faces is false', async () => {
    // Prepare
    const { detectors, asked } = fakes({ faces: [face(0.97)] });

    // Act
    const allowed = await validatePrivacy(png, { ...BOTH, thresholds: { maxFaces: 1 } }, detectors);
    const unchecked = await validatePrivacy(png, { checkFaces: false, checkText: true }, detectors);

    // Assess
    expect(allowed).toMatchObject({ faces_detected: 1, passed: true, privacy_score: 60 });
    expect(unchecked).toMatchObject({ faces_detected: 0, passed: true, privacy_score: 100, issues: [] });
    expect(asked.faces).toHaveLength(1);
  });
});

describe('validatePrivacy: text and PII', () => {
  it('reports text without PII as one low issue over all its lines, scored 95, and passes', async () => {
    // Prepare
    const lines = [
      line('INVOICE 42', 10),
      line('Thank you', 60),
      line('blurry junk', 110, { confidence: 0.4 }),
    ];
    const { detectors, asked } = fakes({ lines });

    // Act
    const report = await validatePrivacy(png, { checkFaces: false, checkText: true }, detectors);

    // Assess
    expect(report).toEqual({
      privacy_score: 95,
      faces_detected: 0,
      text_detected: true,
      pii_detected: false,
      issues: [
        {
          type: 'text',
          severity: 'low',
          region: { x: 20, y: 10, width: 100, height: 90 },
          confidence: 0.95,
          message: 'Text in the image (2 lines), with no personal data found in it',
        },
      ],
      passed: true,
    });
    expect(asked.faces).toHaveLength(0);
  });

  it('finds an email and a card by the rules, placed on their words and masked in the message', async () => {
    // Prepare
    const lines = [line('Contact jane.doe@example.com', 10), line('card 4111 1111 1111 1111', 60)];
    const { detectors } = fakes({ lines });

    // Act
    const report = await validatePrivacy(png, BOTH, detectors);

    // Assess
    expect(report.issues).toEqual([
      {
        type: 'pii',
        pii_type: 'email',
        severity: 'medium',
        region: span(10, 8, 28),
        confidence: 1,
        message: `An email address in the image's text: "${'*'.repeat(20)}"`,
      },
      {
        type: 'pii',
        pii_type: 'card',
        severity: 'high',
        region: span(60, 5, 24),
        confidence: 1,
        message: `A payment card number in the image's text: "***************1111"`,
      },
    ]);
    expect(report).toMatchObject({
      text_detected: true,
      pii_detected: true,
      passed: false,
      privacy_score: 40,
    });
    expect(JSON.stringify(report)).not.toContain('jane.doe');
  });

  it('places PII on the whole line when the detector gives no word boxes', async () => {
    // Prepare
    const lines = [line('call +44 20 7946 0958 now', 30, { words: false })];
    const { detectors } = fakes({ lines });

    // Act
    const report = await validatePrivacy(png, BOTH, detectors);

    // Assess
    expect(piiIssues(report.issues)).toEqual([
      expect.objectContaining({ pii_type: 'phone', region: lines[0]?.region }),
    ]);
  });

  it("joins the PII service's findings: drops a card failing Luhn and dates, masks names and addresses whole", async () => {
    // Prepare: AWS's example text for DetectPiiEntities and Comprehend's answer to it, plus a date.
    const text =
      'Hello Paulo Santos. The latest statement for your credit card account 1111-0000-1111-0000 was mailed to 123 Any Street, Seattle, WA 98109.';
    const answer = loadEvent<{
      Entities: { Type: string; BeginOffset: number; EndOffset: number; Score: number }[];
    }>('comprehend/detect-pii-entities.json');
    const entities: PiiEntity[] = [
      ...answer.Entities.map(({ Type, BeginOffset, EndOffset, Score }) => ({
        type: Type,
        begin: BeginOffset,
        end: EndOffset,
        score: Score,
      })),
      { type: 'DATE_TIME', begin: 0, end: 5, score: 0.99 },
      { type: 'USERNAME', begin: 24, end: 30, score: 0.2 },
    ];
    const { detectors, asked } = fakes({ lines: [line(text, 0)], entities });

    // Act
    const report = await validatePrivacy(png, BOTH, detectors);

    // Assess
    expect(asked.texts).toEqual([text]);
    expect(piiIssues(report.issues)).toEqual([
      {
        type: 'pii',
        pii_type: 'name',
        severity: 'medium',
        region: span(0, 6, 19),
        confidence: 0.9999173879623413,
        message: `A person's name in the image's text: "P**** S*****"`,
      },
      {
        type: 'pii',
        pii_type: 'address',
        severity: 'medium',
        region: span(0, 104, 138),
        confidence: 0.9999750256538391,
        message: `A postal address in the image's text: "1** A** S*****, S******, W* 9****"`,
      },
    ]);
    expect(report).toMatchObject({ pii_detected: true, passed: false, privacy_score: 60 });
  });

  it("merges findings that overlap into one issue, named by the rules' type", async () => {
    // Prepare: Comprehend's EMAIL and a NAME inside it cover the rules' email.
    const lines = [line('Contact jane.doe@example.com', 10), line('IBAN GB82 WEST 1234 5698 7654 32', 60)];
    const ibanAt = 29 + 5;
    const { detectors } = fakes({
      lines,
      entities: [
        { type: 'EMAIL', begin: 8, end: 28, score: 0.99 },
        { type: 'NAME', begin: 8, end: 16, score: 0.7 },
        { type: 'BANK_ACCOUNT_NUMBER', begin: ibanAt + 10, end: ibanAt + 27, score: 0.8 },
      ],
    });

    // Act
    const report = await validatePrivacy(png, BOTH, detectors);

    // Assess
    expect(piiIssues(report.issues)).toEqual([
      expect.objectContaining({ pii_type: 'email', confidence: 1, region: span(10, 8, 28) }),
      expect.objectContaining({ pii_type: 'iban', severity: 'high', region: span(60, 5, 32) }),
    ]);
  });
});

describe('validatePrivacy: invariants', () => {
  const word = fc.stringMatching(/^[a-z0-9@.]{1,8}$/);
  const lineTexts = fc.array(fc.array(word, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 4 });

  it('places every PII issue inside the text, and scores 100 minus the penalties of the issues listed', async () => {
    await fc.assert(
      fc.asyncProperty(
        lineTexts,
        fc.array(
          fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('NAME', 'EMAIL', 'ADDRESS', 'PASSPORT_NUMBER')),
          {
            maxLength: 5,
          },
        ),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
        async (texts, spans, faceScores) => {
          // Prepare
          const lines = texts.map((words, index) => line(words.join(' '), index * 50));
          const length = lines.map(({ text }) => text.length).reduce((a, b) => a + b + 1, -1);
          const entities = spans.map(([a, b, type]) => {
            const begin = a % length;
            return { type, begin, end: begin + 1 + (b % (length - begin)), score: 0.9 };
          });
          const { detectors } = fakes({ lines, entities, faces: faceScores.map((score) => face(score)) });

          // Act
          const report = await validatePrivacy(png, BOTH, detectors);

          // Assess
          const text = unionOf(lines.map(({ region }) => region));
          for (const issue of piiIssues(report.issues)) {
            expect(issue.region.x).toBeGreaterThanOrEqual(text.x);
            expect(issue.region.y).toBeGreaterThanOrEqual(text.y);
            expect(issue.region.x + issue.region.width).toBeLessThanOrEqual(text.x + text.width);
            expect(issue.region.y + issue.region.height).toBeLessThanOrEqual(text.y + text.height);
          }
          const penalty = report.issues.reduce((sum, issue) => sum + SEVERITY_PENALTY[issue.severity], 0);
          expect(report.privacy_score).toBe(Math.max(0, 100 - penalty));
          expect(report.passed).toBe(report.faces_detected === 0 && !report.pii_detected);
          expect(report.pii_detected).toBe(piiIssues(report.issues).length > 0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
