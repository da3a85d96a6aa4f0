/**
 * The bundled detectors, on real models: text rendered by sharp (librsvg, DejaVu Sans Bold, which
 * Debian installs with fontconfig) is read back and its PII placed inside the text's area, and the
 * faces of a photo that @vladmandic/face-api ships for its demos (MIT, like the package) are found.
 * Bold, because Tesseract reads the regular weight's "1111 1111" at a confidence of 69 to 73, under
 * the 80 a word needs (bundled-models.ts), and so drops the middle of the card number.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { BundledDetectors, type BundledStep } from '../../../../lambdas/adapters/vision/bundled-detectors.ts';
import {
  closeVisionModels,
  readLines,
  readText,
} from '../../../../lambdas/adapters/vision/bundled-models.ts';
import { checkImage, type Region, validatePrivacy } from '../../../../lambdas/domain/validation/privacy.ts';

const WIDTH = 1000;
const HEIGHT = 300;
/** Where the text is drawn: two lines of 40 px type from (40, 80) and (40, 180), well inside this box. */
const TEXT_AREA: Region = { x: 20, y: 30, width: 960, height: 190 };

const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}">
  <rect width="100%" height="100%" fill="white"/>
  <text x="40" y="80" font-family="DejaVu Sans" font-weight="bold" font-size="40" fill="black">Contact jane.doe@example.com</text>
  <text x="40" y="180" font-family="DejaVu Sans" font-weight="bold" font-size="40" fill="black">card 4111 1111 1111 1111</text>
</svg>`;

const inside = (inner: Region, outer: Region) =>
  inner.x >= outer.x &&
  inner.y >= outer.y &&
  inner.x + inner.width <= outer.x + outer.width &&
  inner.y + inner.height <= outer.y + outer.height;

async function facePhoto(): Promise<Buffer> {
  const folder = dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json'));
  return readFile(join(folder, 'demo', 'sample1.jpg'));
}

afterAll(async () => {
  await closeVisionModels();
});

describe('BundledDetectors', () => {
  it('reads rendered text back, and the check finds the email and the card inside the text area', async () => {
    // Prepare
    const png = await sharp(Buffer.from(SVG)).png().toBuffer();
    const steps: BundledStep[] = [];
    const detectors = new BundledDetectors({ observe: (step) => steps.push(step) });

    // Act
    const report = await validatePrivacy(png, { checkFaces: true, checkText: true }, { image: detectors });

    // Assess
    expect(report).toMatchObject({
      faces_detected: 0,
      text_detected: true,
      pii_detected: true,
      passed: false,
    });
    const pii = report.issues.filter((issue) => issue.type === 'pii');
    expect(pii.map((issue) => issue.pii_type)).toEqual(['email', 'card']);
    for (const issue of pii) expect(inside(issue.region, TEXT_AREA)).toBe(true);
    const [email, card] = pii;
    // The email is on the first line, right of "Contact"; the card on the second, right of "card".
    expect(email?.region.y).toBeLessThan(100);
    expect(email?.region.x).toBeGreaterThan(150);
    expect(card?.region.y).toBeGreaterThan(120);
    expect(card?.region.x).toBeGreaterThan(100);
    expect(JSON.stringify(report)).not.toContain('jane.doe');
    expect(steps.sort()).toEqual(['decode', 'faces', 'ocr']);
  });

  it('gives lines whose words are those readText gives the local vision model, boxed inside their line', async () => {
    // Prepare
    const png = await sharp(Buffer.from(SVG)).png().toBuffer();
    const grey = await sharp(png).greyscale().withDensity(72).png().toBuffer();
    const detectors = new BundledDetectors();

    // Act
    const lines = await detectors.lines(checkImage(png, detectors.limits));
    const read = await readLines(grey);
    const text = await readText(grey);

    // Assess
    expect(lines.map((line) => line.text)).toEqual([
      'Contact jane.doe@example.com',
      'card 4111 1111 1111 1111',
    ]);
    expect(read.map((line) => line.text).join(' ')).toBe(text);
    for (const line of lines) {
      expect(line.confidence).toBeGreaterThanOrEqual(0.7);
      expect(line.words?.map((word) => word.text).join(' ')).toBe(line.text);
      for (const word of line.words ?? []) expect(inside(word.region, line.region)).toBe(true);
    }
  });

  it("finds the faces in face-api's sample photo, and fails it", async () => {
    // Prepare: 1920×1280, three people facing the camera.
    const photo = await facePhoto();

    // Act
    const report = await validatePrivacy(
      photo,
      { checkFaces: true, checkText: false },
      { image: new BundledDetectors() },
    );

    // Assess
    expect(report.faces_detected).toBe(3);
    expect(report.passed).toBe(false);
    for (const issue of report.issues) {
      expect(issue.type).toBe('face');
      expect(inside(issue.region, { x: 0, y: 0, width: 1920, height: 1280 })).toBe(true);
    }
  });

  it('refuses bytes sharp cannot decode as a 400', async () => {
    // Prepare: a PNG signature and header, then nothing.
    const png = await sharp(Buffer.from(SVG)).png().toBuffer();
    const detectors = new BundledDetectors();
    const image = checkImage(Uint8Array.from(png.subarray(0, 64)), detectors.limits);

    // Act
    const faces = detectors.faces(image);

    // Assess
    await expect(faces).rejects.toMatchObject({ code: 'INVALID_PARAMETERS', status: 400 });
  });
});
