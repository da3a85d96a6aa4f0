/** The settings the stack gives each function, read back: seed 001's per-minute limits. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS } from '../../../lambdas/domain/rate-limits.ts';
import { coreConfigFromEnv } from '../../../lambdas/runtime/core.ts';
import { numberFrom, rateLimitsFrom } from '../../../lambdas/runtime/env.ts';

describe('rateLimitsFrom', () => {
  it('reads RATE_LIMITS as the stack writes it, and the seed’s numbers without it', async () => {
    // Act
    const configured = await coreConfigFromEnv({
      RATE_LIMITS: '{"generation":12,"validation":0,"export":5}',
    });
    const unset = await coreConfigFromEnv({});

    // Assess
    expect(configured.rateLimits).toEqual({ generation: 12, validation: 0, export: 5 });
    expect(unset.rateLimits).toEqual(DEFAULT_RATE_LIMITS);
  });

  it('fails the cold start on a value that is not limits, naming the variable', () => {
    expect(() => rateLimitsFrom({ RATE_LIMITS: 'ten' })).toThrow(
      'environment variable RATE_LIMITS must be JSON',
    );
    expect(() => rateLimitsFrom({ RATE_LIMITS: '{"generation":-1}' })).toThrow(
      'environment variable RATE_LIMITS: generation must be an integer from 0 to 10000',
    );
  });
});

describe('numberFrom', () => {
  it('reads a number, falls back when unset, and fails the cold start on an empty, negative or non-number value', () => {
    expect(numberFrom({ LIMIT: '200' }, 'LIMIT', 5)).toBe(200);
    expect(numberFrom({}, 'LIMIT', 5)).toBe(5);
    for (const text of ['', ' ', '-1', 'ten', 'Infinity']) {
      expect(() => numberFrom({ LIMIT: text }, 'LIMIT', 5), JSON.stringify(text)).toThrow(
        'environment variable LIMIT must be a number of 0 or more',
      );
    }
  });
});
