/** Comprehend's DetectPiiEntities behind the PII port: the request, the offsets, the chunks, the errors. */
import {
  ComprehendClient,
  DetectPiiEntitiesCommand,
  type DetectPiiEntitiesCommandOutput,
  InternalServerException,
  TooManyRequestsException,
} from '@aws-sdk/client-comprehend';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { ComprehendPiiDetector, chunks } from '../../../../lambdas/adapters/vision/comprehend-pii.ts';
import { loadEvent } from '../../../support/fixtures.ts';

const comprehend = mockClient(ComprehendClient);
const detector = (maxBytes?: number) =>
  new ComprehendPiiDetector(new ComprehendClient({ region: 'us-east-1' }), maxBytes);

/** AWS's example text for DetectPiiEntities; the fixture is Comprehend's answer to it. */
const TEXT =
  'Hello Paulo Santos. The latest statement for your credit card account 1111-0000-1111-0000 was mailed to 123 Any Street, Seattle, WA 98109.';

beforeEach(() => {
  comprehend.reset();
});

describe('ComprehendPiiDetector', () => {
  it('asks for English and gives each entity with its place in the text', async () => {
    // Prepare
    comprehend
      .on(DetectPiiEntitiesCommand)
      .resolves(loadEvent<DetectPiiEntitiesCommandOutput>('comprehend/detect-pii-entities.json'));

    // Act
    const entities = await detector().entities(TEXT);

    // Assess
    expect(comprehend).toHaveReceivedCommandWith(DetectPiiEntitiesCommand, {
      Text: TEXT,
      LanguageCode: 'en',
    });
    expect(entities.map(({ type, begin, end }) => [type, TEXT.slice(begin, end)])).toEqual([
      ['NAME', 'Paulo Santos'],
      ['CREDIT_DEBIT_NUMBER', '1111-0000-1111-0000'],
      ['ADDRESS', '123 Any Street, Seattle, WA 98109'],
    ]);
    expect(entities[0]?.score).toBe(0.9999173879623413);
  });

  it("turns Comprehend's code point offsets into string indexes past an emoji", async () => {
    // Prepare: 👋 is one code point and two UTF-16 units, so Comprehend's offsets are one less.
    const text = '👋 Hi Paulo Santos';
    comprehend
      .on(DetectPiiEntitiesCommand)
      .resolves({ Entities: [{ Type: 'NAME', BeginOffset: 5, EndOffset: 17, Score: 0.99 }], $metadata: {} });

    // Act
    const [entity] = await detector().entities(text);

    // Assess
    expect(text.slice(entity?.begin, entity?.end)).toBe('Paulo Santos');
  });

  it('sends text over the limit in chunks cut at line ends, and shifts their offsets', async () => {
    // Prepare: a limit of 30 bytes takes two of these lines at most.
    const lines = ['call jane at home', 'Paulo Santos lives', 'at 123 Any Street'];
    const text = lines.join('\n');
    comprehend.on(DetectPiiEntitiesCommand).callsFake(({ Text }: { Text: string }) => {
      const at = Text.indexOf('Paulo Santos');
      return {
        Entities: at === -1 ? [] : [{ Type: 'NAME', BeginOffset: at, EndOffset: at + 12, Score: 0.98 }],
      };
    });

    // Act
    const entities = await detector(30).entities(text);

    // Assess
    const sent = comprehend.commandCalls(DetectPiiEntitiesCommand).map((call) => call.args[0].input.Text);
    expect(sent).toEqual(['call jane at home\n', 'Paulo Santos lives\n', 'at 123 Any Street']);
    expect(entities.map(({ begin, end }) => text.slice(begin, end))).toEqual(['Paulo Santos']);
  });

  it('calls nothing for text with nothing in it', async () => {
    // Act
    const entities = await detector().entities(' \n ');

    // Assess
    expect(entities).toEqual([]);
    expect(comprehend).not.toHaveReceivedCommand(DetectPiiEntitiesCommand);
  });

  it('answers a throttle or an outage as a 503 to retry', async () => {
    // Prepare
    const fault = { $metadata: {} };
    for (const error of [
      new TooManyRequestsException({ message: 'Rate exceeded', ...fault }),
      new InternalServerException({ message: 'Internal error', ...fault }),
    ]) {
      comprehend.on(DetectPiiEntitiesCommand).rejects(error);

      // Act
      const found = detector().entities(TEXT);

      // Assess
      await expect(found).rejects.toMatchObject({ code: 'UNAVAILABLE', status: 503, retryAfter: 1 });
    }
  });
});

describe('chunks', () => {
  it('cover the text in order, each within the limit in UTF-8, none cutting a character in two', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 400 }),
        fc.integer({ min: 4, max: 64 }),
        (text, limit) => {
          // Act
          const pieces = chunks(text, limit);

          // Assess
          let at = 0;
          for (const piece of pieces) {
            expect(text.slice(at, piece.start).trim()).toBe('');
            expect(Buffer.byteLength(piece.text, 'utf8')).toBeLessThanOrEqual(limit);
            expect(piece.text).toBe(text.slice(piece.start, piece.start + piece.text.length));
            expect(piece.text).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
            at = piece.start + piece.text.length;
          }
          expect(text.slice(at).trim()).toBe('');
        },
      ),
    );
  });
});
