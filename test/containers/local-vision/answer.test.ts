import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  colourName,
  detectImageFormat,
  type ImageAnalysis,
} from '../../../containers/local-vision/analyze.ts';
import {
  countTokens,
  describeImages,
  limitTokens,
  tokenize,
} from '../../../containers/local-vision/answer.ts';

const analysis = (overrides: Partial<ImageAnalysis> = {}): ImageAnalysis => ({
  format: 'png',
  width: 320,
  height: 200,
  brightness: 231,
  colours: [
    { name: 'white', share: 0.82 },
    { name: 'black', share: 0.12 },
  ],
  faces: [],
  text: 'INVOICE 42',
  timings: { decodeMs: 1, facesMs: 1, ocrMs: 1 },
  ...overrides,
});

describe('tokenize', () => {
  it('splits on words and single marks, keeping the space before each', () => {
    expect(tokenize('I see 1 image. Image 1: a 320×200 PNG')).toEqual([
      'I',
      ' see',
      ' 1',
      ' image',
      '.',
      ' Image',
      ' 1',
      ':',
      ' a',
      ' 320',
      '×',
      '200',
      ' PNG',
    ]);
    expect(countTokens('')).toBe(0);
    expect(countTokens('  ')).toBe(1);
  });

  it('gives back the text when its tokens are joined', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        expect(tokenize(text).join('')).toBe(text);
      }),
    );
  });
});

describe('limitTokens', () => {
  it('keeps the first max_tokens tokens and says why it stopped', () => {
    expect(limitTokens(['a', ' b', ' c'], 2)).toEqual({ tokens: ['a', ' b'], finishReason: 'length' });
    expect(limitTokens(['a', ' b'], 2)).toEqual({ tokens: ['a', ' b'], finishReason: 'stop' });
    expect(limitTokens(['a', ' b'], undefined)).toEqual({ tokens: ['a', ' b'], finishReason: 'stop' });
  });
});

describe('describeImages', () => {
  it('describes each image in a fixed form and says who really answered', () => {
    // Act
    const text = describeImages(
      [
        analysis(),
        analysis({
          format: 'jpeg',
          text: '',
          colours: [{ name: 'brown', share: 0.6 }],
          faces: [
            { x: 10, y: 20, width: 30, height: 40, score: 0.9 },
            { x: 50, y: 20, width: 30, height: 40, score: 0.7 },
          ],
        }),
      ],
      { standsInFor: 'Qwen/Qwen2-VL-7B-Instruct', temperature: 0.1 },
    );

    // Assess
    expect(text).toBe(
      'I see 2 images. ' +
        'Image 1: a 320×200 PNG, mostly white (82%) and black (12%), brightness 231 of 255; ' +
        'text reads "INVOICE 42"; no faces. ' +
        'Image 2: a 320×200 JPEG, mostly brown (60%), brightness 231 of 255; no legible text; ' +
        '2 faces (x 10, y 20, 30×40, score 0.90; x 50, y 20, 30×40, score 0.70).\n\n' +
        '(Answered by synthforge/local-vision, a deterministic local model standing in for ' +
        "Qwen/Qwen2-VL-7B-Instruct: it measures each image's size, colours, text (Tesseract OCR) and faces " +
        '(face-api) and does not follow the prompt; temperature 0.1 changes nothing here.)',
    );
  });

  it('names three colours, one face, and a hosted model when none is named', () => {
    const text = describeImages([
      analysis({
        colours: [
          { name: 'blue', share: 0.5 },
          { name: 'green', share: 0.3 },
          { name: 'red', share: 0.2 },
        ],
        faces: [{ x: 1, y: 2, width: 3, height: 4, score: 0.5 }],
      }),
    ]);

    expect(text).toContain('mostly blue (50%), green (30%) and red (20%),');
    expect(text).toContain('; 1 face (x 1, y 2, 3×4, score 0.50).');
    expect(text).toContain('standing in for a hosted vision-language model:');
    expect(text).not.toContain('temperature');
  });
});

describe('colourName', () => {
  it.each([
    [[0, 0, 0], 'black'],
    [[255, 255, 255], 'white'],
    [[240, 240, 235], 'white'],
    [[128, 128, 128], 'gray'],
    [[220, 30, 30], 'red'],
    [[250, 140, 20], 'orange'],
    [[120, 70, 20], 'brown'],
    [[240, 220, 30], 'yellow'],
    [[30, 160, 60], 'green'],
    [[30, 200, 210], 'cyan'],
    [[30, 60, 200], 'blue'],
    [[120, 40, 180], 'purple'],
    [[240, 150, 200], 'pink'],
    [[255, 170, 170], 'pink'],
  ] as const)('names %j %s', ([r, g, b], name) => {
    expect(colourName(r, g, b)).toBe(name);
  });
});

describe('detectImageFormat', () => {
  it.each([
    ['png', Buffer.from('\x89PNG\r\n\x1a\n....', 'latin1')],
    ['jpeg', Buffer.from([0xff, 0xd8, 0xff, 0xe0])],
    ['gif', Buffer.from('GIF89a....')],
    ['gif', Buffer.from('GIF87a....')],
    ['webp', Buffer.from('RIFF\x00\x00\x00\x00WEBPVP8 ', 'latin1')],
    [undefined, Buffer.from('BM......')],
    [undefined, Buffer.from('RIFF\x00\x00\x00\x00WAVE', 'latin1')],
    [undefined, Buffer.alloc(0)],
  ])('reads %s from the signature', (format, bytes) => {
    expect(detectImageFormat(bytes)).toBe(format);
  });
});
