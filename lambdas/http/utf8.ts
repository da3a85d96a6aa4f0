/**
 * Strict UTF-8 for request bodies. `Buffer#toString('utf8')` and a default TextDecoder replace
 * each invalid sequence with U+FFFD, so a body with stray bytes would be read, validated and stored
 * as text the client never sent; a body is decoded here or refused.
 */

// fatal: throw on the first invalid sequence instead of replacing it. ignoreBOM: keep a leading
// byte-order mark in the text, as Buffer#toString does, so that JSON.parse still refuses it.
const STRICT = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export type Utf8Decoding = { ok: true; text: string } | { ok: false; offset: number };

/** The text of `bytes`, or the byte offset where their first invalid UTF-8 sequence starts. */
export function decodeUtf8(bytes: Uint8Array): Utf8Decoding {
  try {
    return { ok: true, text: STRICT.decode(bytes) };
  } catch {
    // TextDecoder says only that the bytes are invalid; the scan says where.
    return { ok: false, offset: firstInvalidUtf8(bytes) };
  }
}

/**
 * The offset of the first byte that does not start or continue a well-formed UTF-8 sequence
 * (Unicode's table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF), or -1 when
 * every sequence is well formed.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let index = 0;
  while (index < bytes.length) {
    const lead = bytes[index] as number;
    if (lead < 0x80) {
      index += 1;
      continue;
    }
    const shape = sequenceShape(lead);
    if (!shape) return index;
    const [length, secondMin, secondMax] = shape;
    if (index + length > bytes.length) return index;
    const second = bytes[index + 1] as number;
    if (second < secondMin || second > secondMax) return index;
    for (let k = 2; k < length; k++) {
      const next = bytes[index + k] as number;
      if (next < 0x80 || next > 0xbf) return index;
    }
    index += length;
  }
  return -1;
}

/** For a lead byte: the sequence's length and the range its second byte must be in. */
function sequenceShape(lead: number): [length: number, secondMin: number, secondMax: number] | undefined {
  if (lead >= 0xc2 && lead <= 0xdf) return [2, 0x80, 0xbf];
  if (lead === 0xe0) return [3, 0xa0, 0xbf]; // no overlong 3-byte forms
  if (lead === 0xed) return [3, 0x80, 0x9f]; // no UTF-16 surrogates
  if (lead >= 0xe1 && lead <= 0xef) return [3, 0x80, 0xbf];
  if (lead === 0xf0) return [4, 0x90, 0xbf]; // no overlong 4-byte forms
  if (lead >= 0xf1 && lead <= 0xf3) return [4, 0x80, 0xbf];
  if (lead === 0xf4) return [4, 0x80, 0x8f]; // nothing above U+10FFFF
  return undefined; // a continuation byte, 0xc0, 0xc1, or 0xf5 and above
}
