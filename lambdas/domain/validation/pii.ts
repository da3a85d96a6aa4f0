/**
 * Personal data in text read from an image by OCR, for seed 001's privacy check (`pii_detected`):
 * pure domain code, deterministic, and linear in the text's length (every pattern is either bounded
 * or unable to backtrack, and the digit groups are read once).
 *
 * A number counts as a card, an IBAN or an identity number only when it passes the scheme's
 * published check: the Luhn check and an issuer prefix and length for cards (ISO/IEC 7812-1); the
 * mod-97 check (ISO 7064, as ISO 13616 uses it) and the country's length in SWIFT's IBAN registry;
 * the SSA's never-issued areas, groups and serials for US SSNs; HMRC's unused prefix letters for UK
 * National Insurance numbers; INSEE's key 97 − (n mod 97) for French NIRs; the mod-23 letter of
 * Spanish DNIs and NIEs. Emails and phones have no check, so their shapes are kept narrow instead.
 */

export type PiiType = 'email' | 'phone' | 'card' | 'iban' | 'national_id';

export interface PiiFinding {
  type: PiiType;
  /** What was found, as written in the text. */
  text: string;
  /** UTF-16 offsets in the input: text.slice(begin, end) === finding.text. */
  begin: number;
  end: number;
  /** For national_id: which scheme ('us_ssn' | 'uk_nino' | 'fr_nir' ...). For card: the brand. */
  detail?: string;
}

/** Where two findings overlap and neither contains the other, the checked numbers win. */
const PRIORITY: Record<PiiType, number> = { iban: 0, card: 1, national_id: 2, email: 3, phone: 4 };

/** Every finding in `text`, none overlapping another, sorted by `begin`. */
export function findPii(text: string): PiiFinding[] {
  const blocked = new Uint8Array(text.length);
  const checked = [...ibans(text, blocked), ...nationalIds(text, blocked)];
  const { cards, phones } = digitGroupFindings(text);
  // Text shaped like an IBAN or an identity number, checksum or not, is no phone number.
  const notBlocked = phones.filter((phone) => !blocked.subarray(phone.begin, phone.end).includes(1));
  return resolve([...checked, ...cards, ...emails(text), ...notBlocked], text.length);
}

/** `text` with each finding's characters replaced by `*`, but the last 4 letters or digits of a number. */
export function maskPii(text: string): string {
  let masked = '';
  let at = 0;
  for (const { type, text: found, begin, end } of findPii(text)) {
    let shown = type === 'email' || type === 'phone' ? 0 : 4;
    let from = found.length;
    while (shown > 0 && from > 0) if (/[A-Za-z0-9]/.test(found[--from] ?? '')) shown--;
    masked += text.slice(at, begin) + '*'.repeat(from) + found.slice(from).replace(/[^A-Za-z0-9]/g, '*');
    at = end;
  }
  return masked + text.slice(at);
}

/** The Luhn check (ISO/IEC 7812-1) of a string of digits. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = digits.length - 1, double = false; i >= 0; i--, double = !double) {
    const digit = (digits.charCodeAt(i) - 48) * (double ? 2 : 1);
    sum += digit > 9 ? digit - 9 : digit;
  }
  return sum % 10 === 0;
}

/** An IBAN, with or without spaces: the country's registered length and a mod-97 remainder of 1. */
export function ibanValid(s: string): boolean {
  const iban = s.replaceAll(' ', '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban) || IBAN_LENGTHS.get(iban.slice(0, 2)) !== iban.length)
    return false;
  // ISO 13616: the first four characters move to the end and letters become 10 to 35.
  let remainder = 0;
  for (const char of iban.slice(4) + iban.slice(0, 4)) {
    const value = Number.parseInt(char, 36);
    remainder = (remainder * (value > 9 ? 100 : 10) + value) % 97;
  }
  return remainder === 1;
}

/** IBAN lengths by country, from SWIFT's IBAN registry. */
const IBAN_LENGTHS: ReadonlyMap<string, number> = new Map(
  (
    'AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 DK18 DO28 ' +
    'EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 ' +
    'JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MR27 MT31 MU30 NL18 NO15 PK24 ' +
    'PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 ST25 SV28 TL23 TN24 TR26 UA29 ' +
    'VA22 VG24 XK20'
  )
    .split(' ')
    .map((entry) => [entry.slice(0, 2), Number(entry.slice(2))]),
);

/**
 * Card brands: issuer prefix ranges (both ends with as many digits) and lengths, narrower ranges
 * first (Discover's 622126-622925 inside UnionPay's 62).
 */
const BRANDS = (
  'amex 34,37 15; jcb 3528-3589 16-19; diners 300-305,36 14-19; diners 38-39 16-19; visa 4 13,16,19; ' +
  'mir 2200-2204 16-19; mastercard 2221-2720,51-55 16; maestro 5018,5020,5038,5893,6304,6759,6761-6763 13-19; ' +
  'discover 6011,622126-622925,644-649,65 16-19; unionpay 62 16-19'
)
  .split('; ')
  .map((entry) => {
    const [name = '', prefixes = '', sizes = ''] = entry.split(' ');
    const ranges = (list: string) => list.split(',').map((range) => [...range.split('-'), range].slice(0, 2));
    const lengths = ranges(sizes).flatMap(([from = 0, to = 0]) => {
      return Array.from({ length: Number(to) - Number(from) + 1 }, (_, i) => Number(from) + i);
    });
    return { name, prefixes: ranges(prefixes), lengths };
  });

/** The brand of a card number by its prefix and length, if any. */
function cardBrand(digits: string): string | undefined {
  const within = ([low = '', high = '']: string[]) => {
    const prefix = digits.slice(0, low.length);
    return prefix >= low && prefix <= high;
  };
  return BRANDS.find(({ prefixes, lengths }) => lengths.includes(digits.length) && prefixes.some(within))
    ?.name;
}

function finding(type: PiiType, text: string, begin: number, end: number, detail?: string): PiiFinding {
  const found: PiiFinding = { type, text: text.slice(begin, end), begin, end };
  if (detail !== undefined) found.detail = detail;
  return found;
}

/**
 * Each match of `pattern` that `accept` keeps (its end, or undefined to skip it). A match it skips
 * is searched again one character later, so a shorter number inside it is still found; a match is at
 * most a few dozen characters, which keeps that linear.
 */
function scan(text: string, pattern: RegExp, accept: (match: RegExpExecArray) => number | undefined): void {
  const search = new RegExp(pattern.source, 'g');
  for (let match = search.exec(text); match; match = search.exec(text)) {
    const end = accept(match);
    search.lastIndex = end ?? match.index + 1;
  }
}

/**
 * Dot-atoms of at most 64 characters (RFC 5321's limit, which also bounds the search), an '@' that
 * OCR may have set apart by one space, and a domain of letter-digit-hyphen labels with an
 * alphabetic top-level label. Quotes, slashes, '=' and '?' are left out of the local part: in text
 * they surround an address or belong to a URL more often than to the address.
 */
const EMAIL =
  /(?<![\w!#$%&*+^~-])[\w!#$%&*+^~-](?:\.?[\w!#$%&*+^~-]){0,63}[ \t]?@[ \t]?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,63}(?![A-Za-z0-9])/g;

function emails(text: string): PiiFinding[] {
  return [...text.matchAll(EMAIL)].map(({ 0: email, index }) =>
    finding('email', text, index, index + email.length),
  );
}

/** Country, check digits and 11 to 30 characters, spaced anyhow (OCR moves spaces), in capitals. */
const IBAN = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}/;

function ibans(text: string, blocked: Uint8Array): PiiFinding[] {
  const found: PiiFinding[] = [];
  scan(text, IBAN, ({ 0: match, index }) => {
    // The country's length says where it ends: OCR may have run it into the next word.
    const length = IBAN_LENGTHS.get(match.slice(0, 2));
    const iban = length && new RegExp(`^(?:[A-Z0-9] ?){${length - 1}}[A-Z0-9]`).exec(match)?.[0];
    const end = index + (iban ? iban.length : 0);
    if (!iban || /[A-Za-z0-9]/.test(text[end] ?? '')) return undefined;
    blocked.fill(1, index, end);
    if (!ibanValid(iban)) return undefined;
    found.push(finding('iban', text, index, end, match.slice(0, 2)));
    return end;
  });
  return found;
}

/** Identity numbers by their shape, and the check each must pass. */
const NATIONAL_IDS: ReadonlyArray<readonly [string, RegExp, (groups: string[]) => boolean]> = [
  // SSA: area 000, 666 and 900-999, group 00 and serial 0000 are never issued.
  [
    'us_ssn',
    /(?<![\w.+/-])(\d{3})-(\d{2})-(\d{4})(?![\w/-]|\.\d)/,
    ([area, group, serial]) => !/^(000|666|9\d\d)$/.test(area ?? '') && group !== '00' && serial !== '0000',
  ],
  // HMRC: D, F, I, Q, U and V start no prefix, nor end one with O; seven prefixes are never allocated.
  [
    'uk_nino',
    /(?<![A-Za-z0-9])([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])(?![A-Za-z0-9])/,
    ([prefix]) => !['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ'].includes(prefix ?? ''),
  ],
  // INSEE: sex (7 and 8 are provisional numbers), year, month, department (Corsica's 2A and 2B count as
  // 19 and 18), commune, order, then the key 97 − (the first 13 digits mod 97).
  [
    'fr_nir',
    /(?<!\w)([12378]) ?(\d{2}) ?(\d{2}) ?(\d{2}|2[AB]) ?(\d{3}) ?(\d{3}) ?(\d{2})(?!\w)/,
    (groups) => {
      const body = groups.slice(0, 6).join('').replace('2A', '19').replace('2B', '18');
      return 97 - (Number(body) % 97) === Number(groups[6]);
    },
  ],
  // Ministerio del Interior: the letter is TRWAGMYFPDXBNJZSQVHLCKE at the number mod 23; an NIE's X, Y
  // and Z count as 0, 1 and 2.
  [
    'es_dni',
    /(?<!\w)([XYZ]-?\d{7}|\d{8})-?([A-Z])(?!\w)/,
    ([number, letter]) => {
      const digits = (number ?? '').replace('-', '').replace('X', '0').replace('Y', '1').replace('Z', '2');
      return 'TRWAGMYFPDXBNJZSQVHLCKE'[Number(digits) % 23] === letter;
    },
  ],
];

function nationalIds(text: string, blocked: Uint8Array): PiiFinding[] {
  const found: PiiFinding[] = [];
  for (const [scheme, pattern, valid] of NATIONAL_IDS) {
    scan(text, pattern, (match) => {
      const end = match.index + match[0].length;
      blocked.fill(1, match.index, end);
      if (!valid(match.slice(1).map((group) => group ?? ''))) return undefined;
      found.push(finding('national_id', text, match.index, end, scheme));
      return end;
    });
  }
  return found;
}

/** A run of digits, with the '+' or the parentheses written around it. */
interface Group {
  digits: string;
  begin: number;
  end: number;
  plus: boolean;
  paren: boolean;
  /** What separates it from the previous group of its chunk ('' for the first, or after a parenthesis). */
  join: string;
  /** Its space-separated word in the chunk, e.g. `555-123-4567` is one word of three groups. */
  word: number;
}

const JOINS = new Set(['', ' ', '-', '.', '/']);

/** Digit groups joined by single separators ('' only next to a parenthesis or a '+'). */
function chunks(text: string): Group[][] {
  const all: Group[][] = [];
  for (const { 0: digits, index } of text.matchAll(/\d+/g)) {
    let [begin, end] = [index, index + digits.length];
    const paren = text[begin - 1] === '(' && text[end] === ')';
    if (paren) [begin, end] = [begin - 1, end + 1];
    const plus = !paren && text[begin - 1] === '+';
    if (plus) begin--;
    const last = all.at(-1)?.at(-1);
    const join = last && begin - last.end <= 1 ? text.slice(last.end, begin) : undefined;
    if (last && join !== undefined && JOINS.has(join)) {
      all.at(-1)?.push({ digits, begin, end, plus, paren, join, word: last.word + (join === ' ' ? 1 : 0) });
    } else all.push([{ digits, begin, end, plus, paren, join: '', word: 0 }]);
  }
  return all;
}

/**
 * Cards and phone numbers: ranges of groups of a chunk that pass the checks of one or the other. A
 * range holds at most 19 digits, so each group starts a bounded number of ranges; the cheap tests
 * (lengths, issuer digit, cuts) come first and the digits are sliced out only for the survivors.
 */
function digitGroupFindings(text: string): { cards: PiiFinding[]; phones: PiiFinding[] } {
  const cards: PiiFinding[] = [];
  const phones: PiiFinding[] = [];
  for (const groups of chunks(text)) {
    const [first = 0, last = 0] = [groups[0]?.begin, groups.at(-1)?.end];
    // A product code such as ABC-555-1234 touches a letter through its dash.
    const startAttached = /(\w|\w[-/])$/.test(text.slice(Math.max(0, first - 2), first));
    const endAttached = /^(\w|[-/]\w)/.test(text.slice(last, last + 2));
    const digits = groups.map((group) => group.digits).join('');
    const offsets = [0];
    for (const group of groups) offsets.push((offsets.at(-1) ?? 0) + group.digits.length);
    const offset = (k: number) => offsets[k] ?? 0;
    const wordSizes = new Map<number, number>();
    for (const group of groups) wordSizes.set(group.word, (wordSizes.get(group.word) ?? 0) + 1);
    const compound = (k: number) => (wordSizes.get(groups[k]?.word ?? -1) ?? 0) > 1;
    // A phone number ends at the chunk's end or at a space next to a word such as 555-123-4567 or
    // 2024-05-01: a run of plain groups (4111 1111 1111 1112) is read whole or not at all.
    const cut = (k: number) =>
      k === 0
        ? !startAttached
        : k === groups.length
          ? !endAttached
          : groups[k]?.join === ' ' && (compound(k - 1) || compound(k));
    for (let i = 0; i < groups.length; i++) {
      const phoneStart = cut(i);
      // Every issuer prefix starts with 2 to 6.
      const issuer = (i > 0 || !startAttached) && /[2-6]/.test(digits[offset(i)] ?? '');
      if (!issuer && !phoneStart) continue;
      for (let j = i; j < groups.length && offset(j) - offset(i) < 19; j++) {
        const length = offset(j + 1) - offset(i);
        const span = [groups[i]?.begin ?? 0, groups[j]?.end ?? 0] as const;
        if (issuer && length >= 13 && length <= 19 && (j + 1 < groups.length || !endAttached)) {
          const number = digits.slice(offset(i), offset(j + 1));
          const brand = luhnValid(number) ? cardBrand(number) : undefined;
          if (brand && cardShaped(groups.slice(i, j + 1))) {
            cards.push(finding('card', text, ...span, brand));
          }
        }
        const phone = phoneStart && length >= 7 && length <= 15 && cut(j + 1);
        if (phone && isPhone(groups.slice(i, j + 1), length)) {
          phones.push(finding('phone', text, ...span));
        }
      }
    }
  }
  return { cards, phones };
}

/** Whether the groups read as a card: one run, fours (the last shorter), or 4-6-5 and 4-6-4 (Amex, Diners). */
function cardShaped(range: Group[]): boolean {
  const sizes = range.map((group) => group.digits.length);
  return (
    range.every(
      (group, k) => !group.plus && !group.paren && (k === 0 || group.join === ' ' || group.join === '-'),
    ) &&
    (sizes.length === 1 ||
      ['4,6,5', '4,6,4'].includes(sizes.join(',')) ||
      sizes.every((size, k) => (k === sizes.length - 1 ? size <= 4 : size === 4)))
  );
}

/**
 * E.164 written as one run (+ and 8 to 15 digits), or a number of 7 to 15 digits in groups: an
 * optional +country code (1 to 3 digits), an optional (area code), then groups of at most 5, 4 and
 * 6 digits (first, middle, last) joined by one kind of separator. Dates, IPv4 addresses and amounts
 * written in thousands are left out, and so are two groups without a country or area code unless
 * the first starts with a trunk 0 (07700 900123, not 2019 2020 or an invoice's 2024-0042).
 */
function isPhone(range: Group[], total: number): boolean {
  const plus = range[0]?.plus ?? false;
  if (total < (plus ? 8 : 7) || range.length === 1) return plus && total >= 8;
  const areaAt = plus ? 1 : 0;
  const national = range.slice(areaAt + (range[areaAt]?.paren ? 1 : 0));
  const sizes = national.map((group) => group.digits.length);
  const joins = new Set(national.slice(1).map((group) => group.join));
  const join = [...joins][0];
  const [first = 0, ...rest] = sizes;
  const misplaced = range.some(
    (group, k) => (group.plus && k > 0) || (group.paren && k !== areaAt) || group.join === '/',
  );
  const oversized =
    sizes.length > 1 && sizes.some((size, k) => size > (k === 0 ? 5 : k === sizes.length - 1 ? 6 : 4));
  if (misplaced || oversized || (plus && (range[0]?.digits.length ?? 0) > 3) || !first || joins.size > 1)
    return false;
  const amount = first <= 3 && rest.every((size) => size === 3) && (join === '.' || first < 3);
  const address =
    join === '.' && sizes.length === 4 && national.every((group) => Number(group.digits) <= 255);
  const pair = sizes.length < 3 && !national[0]?.digits.startsWith('0');
  if (national.length === range.length && (pair || amount || address)) return false;
  return !datesIn(range);
}

/** Whether a word of the range is a date: year-month-day, or day and month (either order) then the year. */
function datesIn(range: Group[]): boolean {
  const words = new Map<number, Group[]>();
  for (const group of range) words.set(group.word, [...(words.get(group.word) ?? []), group]);
  return [...words.values()].some((word) => {
    const shape = word.map((group) => group.digits.length).join(',');
    const [a = 0, b = 0, c = 0] = word.map((group) => Number(group.digits));
    if (shape === '4,2,2') return b >= 1 && b <= 12 && c >= 1 && c <= 31;
    if (!/^[12],[12],[24]$/.test(shape)) return false;
    return a >= 1 && b >= 1 && Math.max(a, b) <= 31 && Math.min(a, b) <= 12;
  });
}

/**
 * The findings kept: none strictly inside another (an IBAN holds a phone-like run of digits, an
 * email may hold a card-like one), then by type priority and length, none overlapping one kept.
 */
function resolve(candidates: PiiFinding[], length: number): PiiFinding[] {
  const outer: PiiFinding[] = [];
  let reach = -1;
  let reachBegin = -1;
  for (const candidate of candidates.sort((a, b) => a.begin - b.begin || b.end - a.end)) {
    if (!(candidate.end < reach || (candidate.end === reach && reachBegin < candidate.begin)))
      outer.push(candidate);
    if (candidate.end > reach) [reach, reachBegin] = [candidate.end, candidate.begin];
  }
  outer.sort(
    (a, b) => PRIORITY[a.type] - PRIORITY[b.type] || b.end - b.begin - (a.end - a.begin) || a.begin - b.begin,
  );
  const taken = new Uint8Array(length);
  const kept: PiiFinding[] = [];
  for (const candidate of outer) {
    if (taken.subarray(candidate.begin, candidate.end).includes(1)) continue;
    taken.fill(1, candidate.begin, candidate.end);
    kept.push(candidate);
  }
  return kept.sort((a, b) => a.begin - b.begin);
}
