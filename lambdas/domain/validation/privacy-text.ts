/**
 * The issues of the text an image holds (privacy.ts): one per stretch of personal data (PII) in it,
 * found by the rules of pii.ts and, where there is one, a PII service (Comprehend), placed on the
 * words that hold it and masked in its message; or one low issue for text with no PII in it.
 */
import { findPii, luhnValid, maskPii } from './pii.ts';
import type { DetectedLine, PiiEntity, PiiEntityDetector, PrivacyIssue, Region } from './privacy.ts';

/**
 * Comprehend's types that are not counted: a date or an age alone identifies no one, and Comprehend
 * reports every date it reads (DATE_TIME), which a generated poster or screenshot is full of.
 */
export const IGNORED_PII_TYPES: ReadonlySet<string> = new Set(['DATE_TIME', 'AGE']);

/** Comprehend's types that are pii.ts's types under another name. */
const SAME_TYPES: Readonly<Record<string, string>> = {
  CREDIT_DEBIT_NUMBER: 'card',
  EMAIL: 'email',
  PHONE: 'phone',
  INTERNATIONAL_BANK_ACCOUNT_NUMBER: 'iban',
  SSN: 'national_id',
  UK_NATIONAL_INSURANCE_NUMBER: 'national_id',
  CA_SOCIAL_INSURANCE_NUMBER: 'national_id',
  IN_AADHAAR: 'national_id',
};

/** PII that reaches or names a person; every other type (ids, accounts, credentials) is high. */
const MEDIUM_PII_TYPES: ReadonlySet<string> = new Set([
  'email',
  'phone',
  'name',
  'address',
  'url',
  'username',
  'ip_address',
  'mac_address',
  'license_plate',
]);

const LABELS: Readonly<Record<string, string>> = {
  email: 'An email address',
  phone: 'A phone number',
  card: 'A payment card number',
  iban: 'An IBAN',
  national_id: 'A national identity number',
  name: "A person's name",
  address: 'A postal address',
};

/** The issues of the lines read in an image: its PII, or one text issue when it holds none. */
export async function textIssues(
  lines: DetectedLine[],
  service: PiiEntityDetector | undefined,
  minScore: number,
): Promise<PrivacyIssue[]> {
  if (lines.length === 0) return [];
  const pii = await piiIssues(lines, service, minScore);
  return pii.length > 0 ? pii : [textIssue(lines)];
}

function textIssue(lines: DetectedLine[]): PrivacyIssue {
  const count = lines.length === 1 ? '1 line' : `${lines.length} lines`;
  return {
    type: 'text',
    severity: 'low',
    region: unionOf(lines.map(({ region }) => region)),
    confidence: Math.max(...lines.map(({ confidence }) => confidence)),
    message: `Text in the image (${count}), with no personal data found in it`,
  };
}

/** A stretch of the text that holds PII, from the rules, the PII service, or both. */
interface Finding {
  type: string;
  begin: number;
  end: number;
  score: number;
  byRules: boolean;
}

/**
 * The PII in the lines, one issue per stretch of text: the rules' findings and the service's are
 * joined, and findings that overlap are one issue (named by the rules' type when they found it, the
 * rules being checked, e.g. a card's Luhn digit; else by the service's likeliest type). The lines are
 * read as one text, a line per row, so that the service sees each line in its context.
 */
async function piiIssues(
  lines: DetectedLine[],
  service: PiiEntityDetector | undefined,
  minScore: number,
): Promise<PrivacyIssue[]> {
  const text = lines.map((line) => line.text).join('\n');
  const fromRules: Finding[] = findPii(text).map(({ type, begin, end }) => ({
    type,
    begin,
    end,
    score: 1,
    byRules: true,
  }));
  const fromService = service
    ? (await service.entities(text)).filter((entity) => kept(entity, text, minScore))
    : [];
  const findings = [
    ...fromRules,
    ...fromService.map(({ type, begin, end, score }) => ({
      type: SAME_TYPES[type] ?? type.toLowerCase(),
      begin,
      end,
      score,
      byRules: false,
    })),
  ];
  const starts = lineStarts(lines);
  return merged(findings).flatMap((group): PrivacyIssue[] => {
    const region = regionOf(lines, starts, group.begin, group.end);
    // Only the newline that joins two lines: nothing of the image.
    if (region === undefined) return [];
    const value = text.slice(group.begin, group.end);
    // The rules' own masks keep what identifies nothing (a card's last four digits); a stretch the
    // service found is masked whole, since no rule knows what part of it is safe to show.
    const masked = group.members.every(({ byRules }) => byRules) ? maskPii(value) : maskAll(value);
    const label = LABELS[group.type] ?? `Personal data (${group.type.replaceAll('_', ' ')})`;
    return [
      {
        type: 'pii',
        pii_type: group.type,
        severity: MEDIUM_PII_TYPES.has(group.type) ? 'medium' : 'high',
        region,
        confidence: group.score,
        message: `${label} in the image's text: "${masked === value ? maskAll(value) : masked}"`,
      },
    ];
  });
}

/**
 * Whether a service's finding counts: likely enough, of a type that identifies someone, inside the
 * text, and, for a card number, passing the Luhn check. Comprehend names any long grouped number
 * near words like "card" or "account" CREDIT_DEBIT_NUMBER (AWS's own example labels
 * 1111-0000-1111-0000 so, which fails it), and every issued card number ends in a Luhn check digit
 * (ISO/IEC 7812-1): a number that fails is an order or reference number, no card, and would fail
 * the image for nothing. A real card misread by one digit fails too; the rules find none either.
 */
function kept({ type, begin, end, score }: PiiEntity, text: string, minScore: number): boolean {
  if (score < minScore || IGNORED_PII_TYPES.has(type)) return false;
  if (
    !(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && begin < end && end <= text.length)
  ) {
    return false;
  }
  if (type !== 'CREDIT_DEBIT_NUMBER') return true;
  const digits = text.slice(begin, end).replace(/\D/g, '');
  return luhnValid(digits);
}

interface Group {
  type: string;
  begin: number;
  end: number;
  score: number;
  members: Finding[];
}

/** Overlapping findings as one group each, in the order of the text. */
function merged(findings: Finding[]): Group[] {
  const sorted = [...findings].sort((a, b) => a.begin - b.begin || b.end - a.end);
  const groups: Group[] = [];
  for (const finding of sorted) {
    const last = groups.at(-1);
    if (last && finding.begin < last.end) {
      last.end = Math.max(last.end, finding.end);
      last.members.push(finding);
    } else {
      groups.push({ ...finding, members: [finding] });
    }
  }
  return groups.map((group) => {
    const named =
      group.members.find(({ byRules }) => byRules) ??
      group.members.reduce((best, member) => (member.score > best.score ? member : best));
    const score = Math.max(...group.members.map(({ score }) => score));
    return { ...group, type: named.type, score };
  });
}

/** Where each line starts in the text the lines make, joined by newlines. */
function lineStarts(lines: DetectedLine[]): number[] {
  const starts: number[] = [];
  let at = 0;
  for (const line of lines) {
    starts.push(at);
    at += line.text.length + 1;
  }
  return starts;
}

/**
 * The region of a stretch of the text: the boxes of the words it touches, or of the whole line where
 * the detector gave no word boxes (or words that cannot be found in the line's text, in order);
 * none when it touches no line.
 */
function regionOf(lines: DetectedLine[], starts: number[], begin: number, end: number): Region | undefined {
  const boxes: Region[] = [];
  lines.forEach((line, index) => {
    const start = starts[index] as number;
    const from = Math.max(begin, start) - start;
    const to = Math.min(end, start + line.text.length) - start;
    if (from >= to) return;
    const words = wordSpans(line).filter((word) => word.begin < to && word.end > from);
    boxes.push(...(words.length > 0 ? words.map(({ region }) => region) : [line.region]));
  });
  return boxes.length > 0 ? unionOf(boxes) : undefined;
}

function wordSpans(line: DetectedLine): { begin: number; end: number; region: Region }[] {
  const spans: { begin: number; end: number; region: Region }[] = [];
  let cursor = 0;
  for (const word of line.words ?? []) {
    const at = line.text.indexOf(word.text, cursor);
    if (word.text === '' || at === -1) return [];
    spans.push({ begin: at, end: at + word.text.length, region: word.region });
    cursor = at + word.text.length;
  }
  return spans;
}

export function unionOf(regions: readonly Region[]): Region {
  const left = Math.min(...regions.map(({ x }) => x));
  const top = Math.min(...regions.map(({ y }) => y));
  const right = Math.max(...regions.map(({ x, width }) => x + width));
  const bottom = Math.max(...regions.map(({ y, height }) => y + height));
  return { x: left, y: top, width: right - left, height: bottom - top };
}

/** Every letter and digit but the first of each run hidden: "Paulo Santos" is "P**** S*****". */
function maskAll(value: string): string {
  return value.replace(/[\p{L}\p{N}]+/gu, (run) => {
    const [first = '', ...rest] = [...run];
    return first + '*'.repeat(rest.length);
  });
}
