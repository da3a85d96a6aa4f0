import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/exit-codes.ts';
import { formatBytes, parseCount, parseDuration, parseTime, table } from '../../src/cli/format.ts';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['90', 90_000],
    ['1.5m', 90_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text, '--timeout')).toBe(ms);
  });

  it('reads back every whole duration it is given, in any unit', () => {
    const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8_000 }),
        fc.constantFrom(...Object.keys(units)),
        (amount, unit) => {
          expect(parseDuration(`${amount}${unit}`, '--x')).toBe(amount * units[unit as keyof typeof units]);
        },
      ),
    );
  });

  it('refuses anything else with a usage error naming the option', () => {
    fc.assert(
      fc.property(
        fc.string().filter((text) => !/^\s*\d+(\.\d+)?(ms|s|m|h|d)?\s*$/.test(text)),
        (text) => {
          expect(() => parseDuration(text, '--timeout')).toThrow(UsageError);
          expect(() => parseDuration(text, '--timeout')).toThrow(/--timeout/);
        },
      ),
    );
    for (const text of ['0s', '-5m', '400d', '5 minutes']) {
      expect(() => parseDuration(text, '--timeout')).toThrow(UsageError);
    }
  });
});

describe('parseTime', () => {
  const now = new Date('2026-11-22T12:00:00.000Z');

  it('reads durations as that long ago, dates as midnight UTC, and zoned ISO times as given', () => {
    expect(parseTime('2h', '--since', now)).toBe('2026-11-22T10:00:00.000Z');
    expect(parseTime('7d', '--since', now)).toBe('2026-11-15T12:00:00.000Z');
    expect(parseTime('2026-11-01', '--since', now)).toBe('2026-11-01T00:00:00.000Z');
    expect(parseTime('2026-11-01T10:00:00+02:00', '--since', now)).toBe('2026-11-01T08:00:00.000Z');
  });

  it('refuses a time without a zone, which the API would read in no particular zone', () => {
    expect(() => parseTime('2026-11-01T10:00:00', '--since', now)).toThrow(/--since/);
    expect(() => parseTime('yesterday', '--since', now)).toThrow(UsageError);
  });
});

describe('parseCount', () => {
  it('accepts whole numbers within bounds and nothing else', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 2000 }), (value) => {
        const read = () => parseCount(String(value), '-n', 1, 1000);
        if (value >= 1 && value <= 1000) expect(read()).toBe(value);
        else expect(read).toThrow(UsageError);
      }),
    );
    expect(() => parseCount('2.5', '-n', 1, 10)).toThrow(/whole number/);
  });
});

describe('output', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(
      table(
        ['ID', 'STATUS', 'NAME'],
        [
          ['a', 'completed', 'x'],
          ['bbb', 'failed', ''],
        ],
      ),
    ).toBe('ID   STATUS     NAME\na    completed  x\nbbb  failed\n');
  });

  it('prints sizes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(300 * 1024 * 1024)).toBe('300 MiB');
  });
});
