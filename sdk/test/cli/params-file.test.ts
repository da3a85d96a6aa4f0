import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/exit-codes.ts';
import { parseParamsText } from '../../src/cli/params-file.ts';

const paramValues = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), fc.boolean()),
);

describe('parseParamsText', () => {
  it('reads JSON Lines back to the same objects, each with its line, whatever blank lines surround them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(paramValues, fc.nat({ max: 2 })), { minLength: 1, maxLength: 20 }),
        (jobs) => {
          // Prepare
          const lines: string[] = [];
          const expected: { line: number; values: unknown }[] = [];
          for (const [values, blanks] of jobs) {
            lines.push(...Array(blanks).fill(''));
            lines.push(JSON.stringify(values));
            expected.push({ line: lines.length, values: JSON.parse(JSON.stringify(values)) });
          }

          // Act
          const entries = parseParamsText(`${lines.join('\r\n')}\n`, 'jobs.jsonl');

          // Assess
          expect(entries).toEqual(expected);
        },
      ),
    );
  });

  it('reads a JSON array too, numbering entries from 1', () => {
    expect(parseParamsText('[{"frames": 1}, {"frames": 2}]', 'jobs.json')).toEqual([
      { line: 1, values: { frames: 1 } },
      { line: 2, values: { frames: 2 } },
    ]);
  });

  it('names every bad line at once', () => {
    // Prepare
    const text = '{"frames": 1}\nnot json\n[1, 2]\n{"frames": 2}\n"text"\n';

    // Act
    const error = captureUsageError(() => parseParamsText(text, 'jobs.jsonl'));

    // Assess
    expect(error.message).toBe('jobs.jsonl has 3 bad lines');
    expect(error.lines).toHaveLength(3);
    expect(error.lines[0]).toMatch(/^jobs\.jsonl:2: not JSON/);
    expect(error.lines[1]).toBe('jobs.jsonl:3: expected an object of parameter values, got an array');
    expect(error.lines[2]).toBe('jobs.jsonl:5: expected an object of parameter values, got a string');
  });

  it('refuses an empty file, and never fails with anything but a usage error', () => {
    expect(() => parseParamsText('\n\n', 'jobs.jsonl')).toThrow(/holds no job parameters/);
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseParamsText(text, 'x');
        } catch (error) {
          expect(error).toBeInstanceOf(UsageError);
        }
      }),
    );
  });
});

function captureUsageError(action: () => unknown): UsageError {
  try {
    action();
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error('expected a UsageError');
}
