import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { API_KEY_PREFIX, extractApiKey, generateApiKey, hashApiKey } from '../../../lambdas/domain/keys.ts';

const keyArbitrary = fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/);

describe('extractApiKey', () => {
  it('reads X-API-Key, Authorization: Token and Authorization: Bearer, whatever the header case', () => {
    fc.assert(
      fc.property(keyArbitrary, fc.constantFrom('x-api-key', 'X-API-Key', 'X-Api-Key'), (key, name) => {
        expect(extractApiKey({ [name]: key })).toBe(key);
        expect(extractApiKey({ Authorization: `Token ${key}` })).toBe(key);
        expect(extractApiKey({ authorization: `bearer ${key}` })).toBe(key);
      }),
    );
  });

  it('prefers X-API-Key over Authorization', () => {
    expect(extractApiKey({ 'X-API-Key': 'a-key', Authorization: 'Bearer b-key' })).toBe('a-key');
  });

  it.each([
    [{}],
    [{ Authorization: 'Basic dXNlcjpwYXNz' }],
    [{ Authorization: 'Bearer' }],
    [{ Authorization: 'Bearer two words' }],
    [{ 'X-API-Key': '   ' }],
  ])('finds no key in %j', (headers) => {
    expect(extractApiKey(headers)).toBeUndefined();
  });
});

describe('generateApiKey', () => {
  it('makes distinct, prefixed keys whose hashes are 64 hex characters', () => {
    const keys = new Set(Array.from({ length: 200 }, generateApiKey));

    expect(keys.size).toBe(200);
    for (const key of keys) {
      expect(key.startsWith(API_KEY_PREFIX)).toBe(true);
      expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});
