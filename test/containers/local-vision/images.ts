/**
 * Images for the local-vision tests, made at test time: large black text on white, rendered by sharp
 * (librsvg) in DejaVu Sans Bold, a font Debian installs with fontconfig; and a photo of people that
 * @vladmandic/face-api ships for its demos (MIT, like the package), read from node_modules.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

/** The words every text image holds, as OCR must read them back. */
export const TEXT = 'INVOICE 42';
export const TEXT_WIDTH = 480;
export const TEXT_HEIGHT = 160;

const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="${TEXT_WIDTH}" height="${TEXT_HEIGHT}">
  <rect width="100%" height="100%" fill="white"/>
  <text x="30" y="105" font-family="DejaVu Sans" font-weight="bold" font-size="72" fill="black">${TEXT}</text>
</svg>`;

/** The text image in one format. */
export async function textImage(format: 'png' | 'jpeg' | 'gif' | 'webp'): Promise<Buffer> {
  const image = sharp(Buffer.from(SVG));
  if (format === 'png') return image.png().toBuffer();
  if (format === 'jpeg') return image.jpeg({ quality: 90 }).toBuffer();
  if (format === 'gif') return image.gif().toBuffer();
  return image.webp({ lossless: true }).toBuffer();
}

/** face-api's `demo/sample1.jpg`: 1920×1280, three people facing the camera. */
export function facePhoto(): Promise<Buffer> {
  const folder = dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json'));
  return readFile(join(folder, 'demo', 'sample1.jpg'));
}

export function dataUrl(bytes: Uint8Array, mediaType: string): string {
  return `data:${mediaType};base64,${Buffer.from(bytes).toString('base64')}`;
}

/** A user turn: a question and images. */
export function userTurn(text: string, ...urls: string[]) {
  return {
    role: 'user',
    content: [{ type: 'text', text }, ...urls.map((url) => ({ type: 'image_url', image_url: { url } }))],
  };
}
