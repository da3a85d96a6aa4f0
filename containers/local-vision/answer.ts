/**
 * The text synthforge/local-vision answers with, and how it counts tokens.
 *
 * The answer is a fixed-form description of the analyses (analyze.ts), followed by a line saying
 * which model really answered and which one it stands in for. It depends only on the images, the
 * stood-in model's name and the temperature it echoes: the same request always gets the same text.
 * The temperature is echoed, not used: a hosted VLM samples its next token from a distribution that
 * the temperature sharpens or flattens, while this model computes measurements and has no
 * distribution to sample from; adding randomness would only make it less useful as a test double.
 *
 * Tokens: no tokenizer of the stood-in models is at hand, so a token here is a run of letters and
 * digits or a single other character, with the white space before it (` 320`, `×`, `200`, ` PNG`,
 * `,`). Joining an answer's tokens gives back the answer exactly; that is what streams, and what
 * `max_tokens` counts. Prompt tokens are counted the same way over every text of the conversation,
 * plus IMAGE_PROMPT_TOKENS per image.
 */
import { LOCAL_VISION_MODEL } from '../../contracts/inference-vocabulary.ts';
import type { ImageAnalysis } from './analyze.ts';

/** The name every answer carries in its `model` field. */
export const MODEL_NAME = LOCAL_VISION_MODEL;

/**
 * Prompt tokens counted per image: what Qwen2-VL spends on a 448×448 image (one token per 28×28
 * patch), and what the local Bedrock emulator counts per image (lambdas/local/bedrock/runtime.ts).
 */
export const IMAGE_PROMPT_TOKENS = 256;

const TOKEN = /\s*(?:[\p{L}\p{N}]+|[^\s\p{L}\p{N}])|\s+/gu;

/** The tokens of a text; joined, they give back the text. */
export function tokenize(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

export function countTokens(text: string): number {
  return tokenize(text).length;
}

/** Who the answer is said to stand in for, and the temperature it echoes. */
export interface AnswerContext {
  /** The model the caller asked for; absent: "a hosted vision-language model". */
  standsInFor?: string;
  temperature?: number;
}

/** The whole answer for the images of a conversation, in the order they appear. */
export function describeImages(analyses: readonly ImageAnalysis[], context: AnswerContext = {}): string {
  const count = analyses.length;
  const opening =
    count === 0
      ? 'I see no image in this conversation.'
      : `I see ${count} ${count === 1 ? 'image' : 'images'}.`;
  const described = analyses.map((analysis, i) => `Image ${i + 1}: ${describeImage(analysis)}`);
  return `${[opening, ...described].join(' ')}\n\n${disclosure(context)}`;
}

/** One image: `a 320×200 PNG, mostly white (91%) and black (9%), brightness 236 of 255; ...`. */
export function describeImage(analysis: ImageAnalysis): string {
  const colours = analysis.colours.map(({ name, share }) => `${name} (${Math.round(share * 100)}%)`);
  const parts = [
    `a ${analysis.width}×${analysis.height} ${analysis.format.toUpperCase()}, mostly ${list(colours)}, brightness ${analysis.brightness} of 255`,
    analysis.text === '' ? 'no legible text' : `text reads "${analysis.text}"`,
    describeFaces(analysis.faces),
  ];
  return `${parts.join('; ')}.`;
}

function describeFaces(faces: ImageAnalysis['faces']): string {
  if (faces.length === 0) return 'no faces';
  const boxes = faces.map(
    (face) => `x ${face.x}, y ${face.y}, ${face.width}×${face.height}, score ${face.score.toFixed(2)}`,
  );
  return `${faces.length} ${faces.length === 1 ? 'face' : 'faces'} (${boxes.join('; ')})`;
}

/** The honest line: which model answered, for which one, what it does and does not do. */
function disclosure(context: AnswerContext): string {
  const standsInFor = context.standsInFor ?? 'a hosted vision-language model';
  const temperature =
    context.temperature === undefined ? '' : `; temperature ${context.temperature} changes nothing here`;
  return (
    `(Answered by ${MODEL_NAME}, a deterministic local model standing in for ${standsInFor}: ` +
    `it measures each image's size, colours, text (Tesseract OCR) and faces (face-api) ` +
    `and does not follow the prompt${temperature}.)`
  );
}

/** `a`, `a and b`, `a, b and c`. */
function list(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** The first `maxTokens` tokens, and whether the answer stopped by itself or at the limit. */
export function limitTokens(
  tokens: readonly string[],
  maxTokens: number | undefined,
): { tokens: string[]; finishReason: 'stop' | 'length' } {
  if (maxTokens === undefined || tokens.length <= maxTokens)
    return { tokens: [...tokens], finishReason: 'stop' };
  return { tokens: tokens.slice(0, maxTokens), finishReason: 'length' };
}
