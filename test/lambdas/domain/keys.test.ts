import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  API_KEY_PREFIX,
  authenticate,
  CachingKeyStore,
  extractApiKey,
  generateApiKey,
  hashApiKey,
} from '../../../lambdas/domain/keys.ts';
import type { ApiKeyRecord, KeyStore } from '../../../lambdas/domain/ports.ts';

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

/** Keys in memory, counting the reads the cache lets through; `failing` makes every read throw. */
class CountingKeyStore implements KeyStore {
  readonly records = new Map<string, ApiKeyRecord>();
  reads = 0;
  failing = false;

  async findByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    this.reads++;
    if (this.failing) throw new Error('the keys table did not answer');
    const record = this.records.get(hash);
    return record && { ...record };
  }

  async create(record: ApiKeyRecord): Promise<void> {
    this.records.set(record.hash, { ...record });
  }

  async list(): Promise<ApiKeyRecord[]> {
    return [...this.records.values()];
  }

  async revoke(keyId: string, at: string): Promise<ApiKeyRecord | undefined> {
    const record = [...this.records.values()].find((candidate) => candidate.keyId === keyId);
    if (record) record.revokedAt ??= at;
    return record && { ...record };
  }

  /** A valid key for `tenant`, stored. */
  add(tenant: string): { key: string; record: ApiKeyRecord } {
    const key = generateApiKey();
    const record: ApiKeyRecord = {
      hash: hashApiKey(key),
      keyId: `key_${tenant}`,
      tenant,
      createdAt: '2031-01-01T00:00:00.000Z',
    };
    this.records.set(record.hash, record);
    return { key, record };
  }
}

const TTL_SECONDS = 60;

/** A store, a cache over it with a clock the test moves, and the clock. */
function cached(options: { ttlSeconds?: number; maxEntries?: number } = {}) {
  const store = new CountingKeyStore();
  const clock = { ms: Date.parse('2031-01-01T00:00:00.000Z') };
  const cache = new CachingKeyStore(store, {
    ttlSeconds: options.ttlSeconds ?? TTL_SECONDS,
    ...(options.maxEntries === undefined ? {} : { maxEntries: options.maxEntries }),
    now: () => clock.ms,
  });
  return { store, cache, clock };
}

describe('CachingKeyStore', () => {
  it('answers a verified key from memory until its TTL has passed, then reads it again', async () => {
    // Prepare
    const { store, cache, clock } = cached();
    const { key } = store.add('acme');

    // Act
    const first = await authenticate(cache, key);
    clock.ms += TTL_SECONDS * 1000 - 1;
    const withinTtl = await authenticate(cache, key);
    const readsWithinTtl = store.reads;
    clock.ms += 1;
    const afterTtl = await authenticate(cache, key);

    // Assess
    expect(first?.tenant).toBe('acme');
    expect(withinTtl?.tenant).toBe('acme');
    expect(readsWithinTtl).toBe(1);
    expect(afterTtl?.tenant).toBe('acme');
    expect(store.reads).toBe(2);
  });

  it('stops accepting a key revoked elsewhere within the TTL of its last read, however often it is used', async () => {
    // Prepare: verified at t0, revoked in the store (the admin tool, another process) 10 s later.
    const { store, cache, clock } = cached();
    const { key, record } = store.add('acme');
    await authenticate(cache, key);
    clock.ms += 10_000;
    await store.revoke(record.keyId, new Date(clock.ms).toISOString());

    // Act: used every second; a hit must not push the next read back.
    const answers: (string | undefined)[] = [];
    for (let second = 10; second < TTL_SECONDS + 5; second++) {
      answers.push((await authenticate(cache, key))?.tenant);
      clock.ms += 1_000;
    }

    // Assess: accepted up to the TTL after the read at t0, refused from then on.
    const accepted = answers.filter((tenant) => tenant === 'acme').length;
    expect(accepted).toBe(TTL_SECONDS - 10);
    expect(answers.slice(accepted).every((tenant) => tenant === undefined)).toBe(true);
  });

  it('forgets a key at once when it is revoked through the cache itself', async () => {
    const { store, cache } = cached();
    const { key, record } = store.add('acme');
    await authenticate(cache, key);

    await cache.revoke(record.keyId, '2031-01-01T00:00:01.000Z');

    expect(await authenticate(cache, key)).toBeUndefined();
  });

  it('never remembers an unknown or revoked key, nor a read that failed', async () => {
    // Prepare
    const { store, cache } = cached();
    const revoked = store.add('gone');
    await store.revoke(revoked.record.keyId, '2031-01-01T00:00:00.000Z');
    const valid = store.add('acme');

    // Act
    for (let i = 0; i < 3; i++) {
      expect(await authenticate(cache, 'sf_unknown')).toBeUndefined();
      expect(await authenticate(cache, revoked.key)).toBeUndefined();
    }
    store.failing = true;
    const failure = await authenticate(cache, valid.key).catch((error: Error) => error);
    store.failing = false;
    const recovered = await authenticate(cache, valid.key);

    // Assess: every one of them was read each time, and the outage was not taken for a bad key.
    expect(store.reads).toBe(8);
    expect(failure).toBeInstanceOf(Error);
    expect(recovered?.tenant).toBe('acme');
    expect(cache.size).toBe(1);
  });

  it('reads a key once for a burst of requests that arrive before the first read has answered', async () => {
    const { store, cache } = cached();
    const { key } = store.add('acme');

    const answers = await Promise.all(Array.from({ length: 20 }, () => authenticate(cache, key)));

    expect(answers.every((record) => record?.tenant === 'acme')).toBe(true);
    expect(store.reads).toBe(1);
  });

  it('holds at most maxEntries keys, forgetting the least recently used first', async () => {
    // Prepare
    const { store, cache } = cached({ maxEntries: 2 });
    const [a, b, c] = ['a-tenant', 'b-tenant', 'c-tenant'].map((tenant) => store.add(tenant));
    if (!a || !b || !c) throw new Error('three keys expected');

    // Act: a and b cached; a used again (most recent); c pushes out b.
    await authenticate(cache, a.key);
    await authenticate(cache, b.key);
    await authenticate(cache, a.key);
    await authenticate(cache, c.key);
    const readsBefore = store.reads;
    await authenticate(cache, a.key);
    await authenticate(cache, c.key);
    const cachedReads = store.reads - readsBefore;
    await authenticate(cache, b.key);

    // Assess
    expect(cache.size).toBe(2);
    expect(cachedReads).toBe(0);
    expect(store.reads - readsBefore).toBe(1);
  });

  it('reads every time with a TTL of 0', async () => {
    const { store, cache } = cached({ ttlSeconds: 0 });
    const { key } = store.add('acme');

    for (let i = 0; i < 3; i++) await authenticate(cache, key);

    expect(store.reads).toBe(3);
    expect(cache.size).toBe(0);
  });

  it('refuses a negative or non-finite TTL and an empty cache', () => {
    const store = new CountingKeyStore();
    expect(() => new CachingKeyStore(store, { ttlSeconds: -1 })).toThrow(RangeError);
    expect(() => new CachingKeyStore(store, { ttlSeconds: Number.NaN })).toThrow(RangeError);
    expect(() => new CachingKeyStore(store, { ttlSeconds: 60, maxEntries: 0 })).toThrow(RangeError);
  });

  it('never accepts a key longer than the TTL after it was revoked, whatever the timing of reads', async () => {
    // Steps: move the clock, authenticate, or revoke the key in the store (as the admin tool does).
    const step = fc.oneof(
      fc.record({
        kind: fc.constant('wait' as const),
        ms: fc.integer({ min: 0, max: 2 * TTL_SECONDS * 1000 }),
      }),
      fc.record({ kind: fc.constant('use' as const) }),
      fc.record({ kind: fc.constant('revoke' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        const { store, cache, clock } = cached();
        const { key, record } = store.add('acme');
        let revokedAt: number | undefined;
        for (const { kind, ...rest } of steps) {
          if (kind === 'wait') clock.ms += (rest as { ms: number }).ms;
          else if (kind === 'revoke') {
            await store.revoke(record.keyId, new Date(clock.ms).toISOString());
            revokedAt ??= clock.ms;
          } else {
            const accepted = (await authenticate(cache, key)) !== undefined;
            // Safety: accepted only within the TTL of the revocation. Liveness: a valid key always works.
            if (revokedAt === undefined) expect(accepted).toBe(true);
            else if (clock.ms - revokedAt >= TTL_SECONDS * 1000) expect(accepted).toBe(false);
          }
        }
      }),
    );
  });
});
