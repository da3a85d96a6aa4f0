/**
 * Amazon Comprehend's DetectPiiEntities behind the privacy check's PII port, in English (the OCR
 * reads English). Two differences from the port are settled here:
 *
 * - Size: Comprehend takes at most 100 KB of UTF-8 text a call (read as 100,000 bytes, the stricter
 *   reading). Longer text is sent in chunks, cut at line ends where it can be, else at a space, else
 *   between characters; a finding cut by a chunk's end may be missed. The text of one image is far
 *   shorter (Rekognition reads at most 100 words of it), so one call is the rule.
 * - Offsets: Comprehend counts Unicode code points; the port's offsets are JavaScript string
 *   indexes (UTF-16 code units), which differ after any character beyond the Basic Multilingual
 *   Plane (an emoji). They are converted, and shifted by the chunk's start.
 */
import { ComprehendClient, DetectPiiEntitiesCommand } from '@aws-sdk/client-comprehend';
import { unavailable, withoutAwsIdentifiers } from '../../domain/errors.ts';
import type { PiiEntity, PiiEntityDetector } from '../../domain/validation/privacy.ts';
import { type AwsClientOptions, clientSettings } from '../clients.ts';

export const COMPREHEND_MAX_BYTES = 100_000;

/** Comprehend's client, made once per set of clients: `clients.own(createComprehend)`. */
export function createComprehend(options: AwsClientOptions): ComprehendClient {
  return new ComprehendClient(clientSettings(options, undefined));
}

export class ComprehendPiiDetector implements PiiEntityDetector {
  constructor(
    private readonly client: ComprehendClient,
    private readonly maxBytes: number = COMPREHEND_MAX_BYTES,
  ) {}

  async entities(text: string): Promise<PiiEntity[]> {
    const found: PiiEntity[] = [];
    // One chunk after another: an image's text is one chunk, and a long text should not spend the
    // account's Comprehend rate all at once.
    for (const chunk of chunks(text, this.maxBytes)) {
      const output = await called(() =>
        this.client.send(new DetectPiiEntitiesCommand({ Text: chunk.text, LanguageCode: 'en' })),
      );
      const index = codeUnitIndex(chunk.text);
      for (const { Type, BeginOffset, EndOffset, Score } of output.Entities ?? []) {
        if (Type === undefined || BeginOffset === undefined || EndOffset === undefined) continue;
        found.push({
          type: Type,
          begin: chunk.start + index(BeginOffset),
          end: chunk.start + index(EndOffset),
          score: Score ?? 0,
        });
      }
    }
    return found;
  }
}

/**
 * The text in pieces of at most `maxBytes` UTF-8 bytes, each with its start in the text, whitespace
 * only pieces left out (Comprehend refuses empty text).
 */
export function chunks(text: string, maxBytes: number): { start: number; text: string }[] {
  const pieces: { start: number; text: string }[] = [];
  let start = 0;
  while (start < text.length) {
    const end = cutAt(text, start, maxBytes);
    const piece = text.slice(start, end);
    if (piece.trim() !== '') pieces.push({ start, text: piece });
    start = end;
  }
  return pieces;
}

/** Where the chunk from `start` ends: the whole rest if it fits, else after its last newline or space. */
function cutAt(text: string, start: number, maxBytes: number): number {
  let bytes = 0;
  let end = start;
  while (end < text.length) {
    const point = text.codePointAt(end) as number;
    const size = point < 0x80 ? 1 : point < 0x800 ? 2 : point < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += point > 0xffff ? 2 : 1;
  }
  if (end === text.length) return end;
  const head = text.slice(start, end);
  const newline = head.lastIndexOf('\n');
  if (newline > 0) return start + newline + 1;
  const space = head.search(/\s\S*$/);
  if (space > 0) return start + space + 1;
  // No break in a whole chunk: cut between characters, never inside a surrogate pair.
  return Math.max(end, start + 1);
}

/** A function from a code point offset in `text` to its UTF-16 index. */
function codeUnitIndex(text: string): (codePoints: number) => number {
  if (!/[\uD800-\uDBFF]/.test(text)) return (offset) => offset;
  const indexes: number[] = [];
  let index = 0;
  for (const character of text) {
    indexes.push(index);
    index += character.length;
  }
  indexes.push(index);
  return (offset) => indexes[Math.min(offset, indexes.length - 1)] as number;
}

async function called<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toDomainError(error);
  }
}

/** Comprehend's throttles and outages as 503s the caller may retry. */
const RETRYABLE = new Set(['TooManyRequestsException', 'ThrottlingException', 'InternalServerException']);

/**
 * Comprehend's throttles and outages as 503s the caller may retry. Every other error is this
 * adapter's or the deployment's (a text the chunks should have kept under the limit, access denied)
 * and stays an error (500).
 */
function toDomainError(error: unknown): unknown {
  if (!(error instanceof Error) || !RETRYABLE.has(error.name)) return error;
  return unavailable(
    `Comprehend is unavailable: ${withoutAwsIdentifiers(error.message)}`,
    { service: 'comprehend' },
    1,
  );
}
