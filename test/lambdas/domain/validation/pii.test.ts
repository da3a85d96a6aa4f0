/** Personal data in OCR text (lambdas/domain/validation/pii.ts): what is found, what is not, and masking. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  findPii,
  ibanValid,
  luhnValid,
  maskPii,
  type PiiFinding,
  type PiiType,
} from '../../../../lambdas/domain/validation/pii.ts';

/** The type, text and detail of each finding, for comparing with a short table. */
function found(text: string): Array<[PiiType, string, string | undefined]> {
  return findPii(text).map((finding) => [finding.type, finding.text, finding.detail]);
}

/** Each text holds no finding; a failure names the text. */
function expectNoFinding(texts: readonly string[]): void {
  for (const text of texts) expect(found(text), text).toEqual([]);
}

/** `digits` followed by its Luhn check digit. */
function withLuhnDigit(digits: string): string {
  const check = [...'0123456789'].find((digit) => luhnValid(digits + digit)) as string;
  return digits + check;
}

/** An issuer prefix, the lengths its brand is issued in, and the brand. */
const ISSUERS: ReadonlyArray<readonly [fc.Arbitrary<string>, readonly number[], string]> = [
  [fc.constant('4'), [13, 16, 19], 'visa'],
  [fc.integer({ min: 51, max: 55 }).map(String), [16], 'mastercard'],
  [fc.integer({ min: 2221, max: 2720 }).map(String), [16], 'mastercard'],
  [fc.constantFrom('34', '37'), [15], 'amex'],
  [fc.constantFrom('6011', '65'), [16, 19], 'discover'],
  [fc.integer({ min: 3528, max: 3589 }).map(String), [16], 'jcb'],
];

/** A Luhn-valid number of a known brand, and how it is written: in one run, in fours, or 4-6-5. */
const aCard = fc
  .constantFrom(...ISSUERS)
  .chain(([prefix, lengths, brand]) =>
    fc.record({
      prefix,
      length: fc.constantFrom(...lengths),
      body: fc.stringMatching(/^\d{18}$/),
      separator: fc.constantFrom('', ' ', '-'),
      brand: fc.constant(brand),
    }),
  )
  .map(({ prefix, length, body, separator, brand }) => {
    const digits = withLuhnDigit((prefix + body).slice(0, length - 1));
    return { digits, brand, separator };
  });

/** The digits written with the separator: 4-6-5 for 15 digits, fours otherwise. */
function written(digits: string, separator: string): string {
  if (separator === '') return digits;
  if (digits.length === 15)
    return [digits.slice(0, 4), digits.slice(4, 10), digits.slice(10)].join(separator);
  return (digits.match(/.{1,4}/g) ?? []).join(separator);
}

const someWords = fc.array(fc.stringMatching(/^[a-z]{1,8}$/), { maxLength: 6 });

/** Text with PII, its near misses, separators and noise run together, to reach every path. */
const anOcrText = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '4111 1111 1111 1111',
        '4111-1111-1111-1112',
        '3782 822463 10005',
        'GB82 WEST 1234 5698 7654 32',
        'DE89370400440532013000',
        '555-123-4567',
        '+44 20 7946 0958',
        '(555) 123-4567',
        'name.surname@example.com',
        'a @ b.co',
        '536-22-1894',
        'AB 12 34 56 C',
        '184127645108946',
        '12345678Z',
        '2024-05-01',
        ' ',
        '-',
        '.',
        '+',
        '(',
        ')',
        '@',
        '\n',
      ),
      fc.stringMatching(/^[A-Za-z0-9]{1,6}$/),
      fc.string({ maxLength: 6 }),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

describe('findPii', () => {
  it('finds published test card numbers, with their brand', () => {
    // Act and Assess
    expect(found('Card 4111 1111 1111 1111 exp 12/27')).toEqual([['card', '4111 1111 1111 1111', 'visa']]);
    expect(found('5555 5555 5555 4444')).toEqual([['card', '5555 5555 5555 4444', 'mastercard']]);
    expect(found('amex: 3782 822463 10005.')).toEqual([['card', '3782 822463 10005', 'amex']]);
    expect(found('2223-0031-2200-3222')).toEqual([['card', '2223-0031-2200-3222', 'mastercard']]);
    expect(found('6011111111111117')).toEqual([['card', '6011111111111117', 'discover']]);
    expect(found('3530 1113 3330 0000')).toEqual([['card', '3530 1113 3330 0000', 'jcb']]);
    expect(found('3056 9309 0259 04')).toEqual([['card', '3056 9309 0259 04', 'diners']]);
    expect(found('4111 1111 1111 1111 2024')).toEqual([['card', '4111 1111 1111 1111', 'visa']]);
  });

  it('finds no card in a number one digit off, nor in a valid Luhn number without a known issuer', () => {
    // Act and Assess
    expectNoFinding([
      '4111 1111 1111 1112',
      '5555 5555 5555 4445',
      '3782 822463 10006',
      '4111111111111112',
      '4111-1111-1111-1121',
      '79927398713',
      written(withLuhnDigit('100000000000000'), ' '),
    ]);
  });

  it('finds IBANs from the registry, grouped by four or not, and not one digit off', () => {
    // Act and Assess
    expect(found('IBAN GB82 WEST 1234 5698 7654 32 thanks')).toEqual([
      ['iban', 'GB82 WEST 1234 5698 7654 32', 'GB'],
    ]);
    expect(found('DE89 3704 0044 0532 0130 00')).toEqual([['iban', 'DE89 3704 0044 0532 0130 00', 'DE']]);
    expect(found('to FR1420041010050500013M02606.')).toEqual([['iban', 'FR1420041010050500013M02606', 'FR']]);
    expect(found('DE89 3704 0044 0532 0130 00 BANK')).toEqual([
      ['iban', 'DE89 3704 0044 0532 0130 00', 'DE'],
    ]);
    expectNoFinding([
      'GB82 WEST 1234 5698 7654 33',
      'DE89 3704 0044 0532 0130 01',
      'DE8937040044053201300012',
    ]);
  });

  it('checks the mod-97 remainder and each country’s registered length', () => {
    // Prepare: examples of SWIFT's IBAN registry.
    const examples = [
      'GB82WEST12345698765432',
      'DE89370400440532013000',
      'FR1420041010050500013M02606',
      'ES9121000418450200051332',
      'IT60X0542811101000000123456',
      'NL91ABNA0417164300',
      'BE68539007547034',
      'CH9300762011623852957',
      'AT611904300234573201',
      'IE29AIBK93115212345678',
      'PT50000201231234567890154',
      'PL61109010140000071219812874',
      'NO9386011117947',
      'MT84MALT011000012345MTLCAST001S',
    ];

    // Act and Assess
    for (const iban of examples) expect(ibanValid(iban), iban).toBe(true);
    expect(ibanValid('gb82 west 1234 5698 7654 32')).toBe(true);
    expect(ibanValid('GB82WEST1234569876543')).toBe(false);
    expect(ibanValid('XX82WEST12345698765432')).toBe(false);
    expect(ibanValid('GB82WEST12345698765433')).toBe(false);
  });

  it('finds phone numbers in international and national forms', () => {
    // Act and Assess
    for (const phone of [
      '+44 20 7946 0958',
      '(555) 123-4567',
      '555-123-4567',
      '+14155552671',
      '+1 (555) 123-4567',
      '555.123.4567',
      '06 12 34 56 78',
      '+33 1 23 45 67 89',
      '+44 (0)20 7946 0958',
      '1-800-555-0199',
      '020 7946 0958',
      '07700 900123',
    ]) {
      expect(found(`Tel: ${phone}, thanks`), phone).toEqual([['phone', phone, undefined]]);
    }
  });

  it('finds no phone in dates, addresses, amounts, codes or plain runs of digits', () => {
    // Act and Assess
    expectNoFinding([
      '2024-05-01',
      '01/05/2024',
      '12.05.2024',
      'on 2024-05-01 at 10:30',
      '192.168.100.200',
      'total 1.234.567 EUR',
      'years 2019 2020',
      'order 5551234567',
      '+1234567',
      'v1.2.3',
      'ABC-555-123-4567',
    ]);
    expect(found('2024-05-01 555-123-4567')).toEqual([['phone', '555-123-4567', undefined]]);
  });

  it('finds email addresses, also with OCR spaces around the @, but not what only looks like one', () => {
    // Act and Assess
    expect(found('write to name.surname@example.com now')).toEqual([
      ['email', 'name.surname@example.com', undefined],
    ]);
    expect(found('jane.doe @ example.org')).toEqual([['email', 'jane.doe @ example.org', undefined]]);
    expect(found("'john+tag@mail.example.co.uk'")).toEqual([
      ['email', 'john+tag@mail.example.co.uk', undefined],
    ]);
    expect(found('https://user@host.com/path')).toEqual([['email', 'user@host.com', undefined]]);
    expectNoFinding(['meet @ 5pm', 'a@b', 'x@y.z', 'name  @  example.com', '@example.com']);
  });

  it('finds identity numbers that pass their scheme’s checks, and no other', () => {
    // Act and Assess
    expect(found('SSN 536-22-1894')).toEqual([['national_id', '536-22-1894', 'us_ssn']]);
    expect(found('NI AB 12 34 56 C')).toEqual([['national_id', 'AB 12 34 56 C', 'uk_nino']]);
    expect(found('NI: AB123456C')).toEqual([['national_id', 'AB123456C', 'uk_nino']]);
    expect(found('1 84 12 76 451 089 46')).toEqual([['national_id', '1 84 12 76 451 089 46', 'fr_nir']]);
    expect(found('NIR 184127645108946')).toEqual([['national_id', '184127645108946', 'fr_nir']]);
    expect(found('2 69 05 2A 123 456 88')).toEqual([['national_id', '2 69 05 2A 123 456 88', 'fr_nir']]);
    expect(found('DNI 12345678Z')).toEqual([['national_id', '12345678Z', 'es_dni']]);
    expect(found('NIE X1234567L')).toEqual([['national_id', 'X1234567L', 'es_dni']]);
    expectNoFinding([
      '000-12-3456',
      '666-12-3456',
      '912-12-3456',
      '536-00-1894',
      '536-22-0000',
      'QQ 12 34 56 C',
      'GB 12 34 56 A',
      'AO 12 34 56 A',
      'AB 12 34 56 E',
      '184127645108947',
      '12345678A',
    ]);
  });

  it('reads a page of OCR text with noise around the findings', () => {
    // Prepare
    const page = [
      'ACME L1MITED — lnvoice #2024-0042',
      'Date: 2024-05-01   Ref 1.234.567',
      'Emai1 : jane.doe @ example.org | Te1: +44 20 7946 0958',
      'Card No.: 4111-1111-1111-1111  exp 12/27',
      'IBAN: DE89 3704 0044 0532 0130 00 (BIC COBADEFFXXX)',
      'Customer NI: AB 12 34 56 C; fax (555) 123-4567.',
    ].join('\n');

    // Act
    const findings = findPii(page);

    // Assess
    expect(findings.map((finding) => [finding.type, finding.text])).toEqual([
      ['email', 'jane.doe @ example.org'],
      ['phone', '+44 20 7946 0958'],
      ['card', '4111-1111-1111-1111'],
      ['iban', 'DE89 3704 0044 0532 0130 00'],
      ['national_id', 'AB 12 34 56 C'],
      ['phone', '(555) 123-4567'],
    ]);
    for (const finding of findings) expect(page.slice(finding.begin, finding.end)).toBe(finding.text);
  });

  it('reports one finding where two readings overlap: the IBAN holds a phone-like run, the email a card', () => {
    // Act and Assess
    expect(found('GB82 WEST 1234 5698 7654 32')).toEqual([['iban', 'GB82 WEST 1234 5698 7654 32', 'GB']]);
    expect(found('1 84 12 76 451 089 46')).toHaveLength(1);
    expect(found('536-22-1894')).toEqual([['national_id', '536-22-1894', 'us_ssn']]);
    expect(found('x 4111111111111111@mail.com')).toEqual([['email', '4111111111111111@mail.com', undefined]]);
  });

  it('reads 100 kB of text with many findings', () => {
    // Prepare
    const line =
      'Pay 4111 1111 1111 1111 or GB82 WEST 1234 5698 7654 32, call 555-123-4567, a@b.co 2024-05-01 1 2 3\n';
    const text = line.repeat(Math.ceil(100_000 / line.length));

    // Act
    const findings = findPii(text);

    // Assess
    expect(findings).toHaveLength(4 * Math.ceil(100_000 / line.length));
  });

  it('finds any Luhn-valid number of a known issuer among words, at its offsets', () => {
    fc.assert(
      fc.property(aCard, someWords, someWords, ({ digits, brand, separator }, before, after) => {
        // Prepare
        const card = written(digits, separator);
        const prefix = before.length > 0 ? `${before.join(' ')} ` : '';
        const text = `${prefix}${card}${after.length > 0 ? ' ' : ''}${after.join(' ')}`;

        // Act
        const findings = findPii(text);

        // Assess
        const begin = prefix.length;
        expect(findings).toEqual([
          { type: 'card', text: card, begin, end: begin + card.length, detail: brand },
        ]);
      }),
    );
  });

  it('never finds a card once one digit of a valid number changes', () => {
    fc.assert(
      fc.property(aCard, fc.nat(), fc.integer({ min: 1, max: 9 }), ({ digits, separator }, at, shift) => {
        // Prepare: grouped in fours, the first 16 digits of a 19-digit number may pass by chance.
        fc.pre(separator === '' || digits.length <= 16);
        const k = at % digits.length;
        const changed = digits.slice(0, k) + ((Number(digits[k]) + shift) % 10) + digits.slice(k + 1);

        // Act
        const findings = findPii(`paid with ${written(changed, separator)} today`);

        // Assess
        expect(findings.filter((finding) => finding.type === 'card')).toEqual([]);
      }),
    );
  });

  it('gives offsets that slice back to the text, sorted and never overlapping', () => {
    fc.assert(
      fc.property(anOcrText, (text) => {
        // Act
        const findings = findPii(text);

        // Assess
        let reached = 0;
        for (const finding of findings) {
          expect(text.slice(finding.begin, finding.end)).toBe(finding.text);
          expect(finding.begin).toBeGreaterThanOrEqual(reached);
          expect(finding.end).toBeGreaterThan(finding.begin);
          reached = finding.end;
        }
      }),
    );
  });
});

describe('maskPii', () => {
  it('hides emails and phones whole, and numbers but for their last four letters or digits', () => {
    // Act and Assess
    expect(maskPii('Card 4111 1111 1111 1111 exp 12/27')).toBe('Card ***************1111 exp 12/27');
    expect(maskPii('IBAN GB82 WEST 1234 5698 7654 32.')).toBe('IBAN **********************54*32.');
    expect(maskPii('SSN 536-22-1894')).toBe('SSN *******1894');
    expect(maskPii('mail jane.doe @ example.org or call 555-123-4567')).toBe(
      'mail ********************** or call ************',
    );
    expect(maskPii('nothing to hide 2024-05-01')).toBe('nothing to hide 2024-05-01');
  });

  it('keeps the length and the text around findings, and shows at most 4 characters of each', () => {
    fc.assert(
      fc.property(anOcrText, (text) => {
        // Act
        const masked = maskPii(text);
        const findings: PiiFinding[] = findPii(text);

        // Assess
        expect(masked).toHaveLength(text.length);
        let at = 0;
        for (const finding of findings) {
          expect(masked.slice(at, finding.begin)).toBe(text.slice(at, finding.begin));
          const shown = [...masked.slice(finding.begin, finding.end)].flatMap((char, k) =>
            char === '*' ? [] : [[char, finding.text[k]]],
          );
          const limit = finding.type === 'email' || finding.type === 'phone' ? 0 : 4;
          expect(shown.length).toBe(Math.min(limit, finding.text.replace(/[^A-Za-z0-9]/g, '').length));
          for (const [char, original] of shown) expect(char).toBe(original);
          at = finding.end;
        }
        expect(masked.slice(at)).toBe(text.slice(at));
      }),
    );
  });
});

describe('luhnValid', () => {
  it('accepts a number with its check digit and refuses every other last digit', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\d{1,20}$/), (digits) => {
        // Prepare
        const valid = withLuhnDigit(digits);

        // Act and Assess
        expect(luhnValid(valid)).toBe(true);
        for (const other of '0123456789') {
          if (other !== valid.at(-1)) expect(luhnValid(digits + other)).toBe(false);
        }
      }),
    );
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('4111 1111 1111 1111')).toBe(false);
    expect(luhnValid('')).toBe(false);
  });
});
