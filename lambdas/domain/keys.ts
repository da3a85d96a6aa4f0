import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyRecord, KeyStore } from './ports.ts';

/** Keys look like `sf_<43 base64url characters>`: the prefix makes a leaked key easy to spot. */
export const API_KEY_PREFIX = 'sf_';
export const TENANT_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;

/** Tenant names become the first part of every storage key: a narrow alphabet keeps them unambiguous. */
export function assertTenantName(tenant: string): void {
  if (!TENANT_PATTERN.test(tenant)) {
    throw new Error(
      `tenant must match ${TENANT_PATTERN}: lower-case letters, digits and dashes, 2 to 63 long`,
    );
  }
}

export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * The key a request carries: `X-API-Key: <key>`, or `Authorization: Token <key>` (Infinity) or
 * `Authorization: Bearer <key>` (EMD, Octopize). Header names are matched case-insensitively.
 */
export function extractApiKey(
  headers: Record<string, string | undefined> | null | undefined,
): string | undefined {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) if (value) lower[name.toLowerCase()] = value;
  const direct = lower['x-api-key']?.trim();
  if (direct) return direct;
  const match = /^(?:Token|Bearer)\s+(\S+)\s*$/i.exec(lower.authorization ?? '');
  return match?.[1];
}

/** The key's record when it exists and is not revoked. */
export async function authenticate(
  store: KeyStore,
  key: string | undefined,
): Promise<ApiKeyRecord | undefined> {
  if (!key || key.length > 200) return undefined;
  const record = await store.findByHash(hashApiKey(key));
  return record && !record.revokedAt ? record : undefined;
}

export async function createApiKey(
  store: KeyStore,
  options: { tenant: string; label?: string; usageKey?: string; now: Date },
): Promise<{ key: string; record: ApiKeyRecord }> {
  assertTenantName(options.tenant);
  const key = generateApiKey();
  const record: ApiKeyRecord = {
    hash: hashApiKey(key),
    keyId: `key_${randomBytes(8).toString('hex')}`,
    tenant: options.tenant,
    createdAt: options.now.toISOString(),
    ...(options.label ? { label: options.label } : {}),
    ...(options.usageKey ? { usageKey: options.usageKey } : {}),
  };
  await store.create(record);
  return { key, record };
}

/** How long a verified key is trusted without asking the keys table again, unless configured. */
export const DEFAULT_KEY_CACHE_TTL_SECONDS = 60;
/** The longest a stage may configure: a revoked key must stop working within minutes, not hours. */
export const MAX_KEY_CACHE_TTL_SECONDS = 300;
/** Keys remembered at once by default: a few hundred bytes each. */
export const DEFAULT_KEY_CACHE_ENTRIES = 1_000;

export interface KeyCacheOptions {
  /** How long a verified key is trusted without asking the store again; 0 turns the cache off. */
  ttlSeconds: number;
  /** The most keys remembered at once; the least recently used is forgotten first. */
  maxEntries?: number;
  /** Milliseconds since the epoch (tests move it instead of sleeping). */
  now?: () => number;
}

interface VerifiedKey {
  record: ApiKeyRecord;
  /** Counted from before the read that verified it, so never later than the store's answer + TTL. */
  expiresAt: number;
}

/**
 * A key store that remembers, in memory, the keys it has verified: a key found and not revoked is
 * trusted for `ttlSeconds` from the moment it was read, and only then read again. A revocation
 * therefore takes effect within the TTL wherever this cache runs (each authorizer container, the
 * local platform); a hit never extends an entry.
 *
 * Only verified keys are kept. Unknown and revoked keys are asked about every time: a key created a
 * moment ago must work at once, and the keys a request can name are unlimited, so remembering
 * failures would let anyone push the real keys out of a bounded cache. A store that fails is not
 * remembered either: the error reaches the caller, and the next request asks again.
 * Requests that arrive while a key is being read wait for that one read.
 *
 * Revoking through this store forgets the key at once here; every other method passes through.
 */
export class CachingKeyStore implements KeyStore {
  readonly #store: KeyStore;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** In least recently used order: a hit moves its entry to the end. */
  readonly #verified = new Map<string, VerifiedKey>();
  readonly #reading = new Map<string, Promise<ApiKeyRecord | undefined>>();
  /** Bumped by every revocation here: a read that began before one does not fill the cache. */
  #revocations = 0;

  constructor(store: KeyStore, options: KeyCacheOptions) {
    if (!(Number.isFinite(options.ttlSeconds) && options.ttlSeconds >= 0)) {
      throw new RangeError(`the key cache TTL must be 0 or more seconds, got ${options.ttlSeconds}`);
    }
    const maxEntries = options.maxEntries ?? DEFAULT_KEY_CACHE_ENTRIES;
    if (!(Number.isInteger(maxEntries) && maxEntries >= 1)) {
      throw new RangeError(`the key cache must hold at least one key, got ${maxEntries}`);
    }
    this.#store = store;
    this.#ttlMs = options.ttlSeconds * 1000;
    this.#maxEntries = maxEntries;
    this.#now = options.now ?? Date.now;
  }

  /** Keys remembered now (expired ones included until they are looked up or pushed out). */
  get size(): number {
    return this.#verified.size;
  }

  findByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const cached = this.#verified.get(hash);
    if (cached) {
      this.#verified.delete(hash);
      if (cached.expiresAt > this.#now()) {
        this.#verified.set(hash, cached);
        return Promise.resolve(cached.record);
      }
    }
    let reading = this.#reading.get(hash);
    if (!reading) {
      reading = this.#read(hash).finally(() => this.#reading.delete(hash));
      this.#reading.set(hash, reading);
    }
    return reading;
  }

  async #read(hash: string): Promise<ApiKeyRecord | undefined> {
    const startedAt = this.#now();
    const revocations = this.#revocations;
    const record = await this.#store.findByHash(hash);
    if (record && !record.revokedAt && this.#ttlMs > 0 && revocations === this.#revocations) {
      this.#verified.set(hash, { record, expiresAt: startedAt + this.#ttlMs });
      if (this.#verified.size > this.#maxEntries) {
        const oldest = this.#verified.keys().next().value;
        if (oldest !== undefined) this.#verified.delete(oldest);
      }
    }
    return record;
  }

  create(record: ApiKeyRecord): Promise<void> {
    return this.#store.create(record);
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.#store.list();
  }

  async revoke(keyId: string, at: string): Promise<ApiKeyRecord | undefined> {
    // Counted on both sides of the write: no read that overlaps it can cache what it replaced.
    this.#revocations++;
    try {
      const record = await this.#store.revoke(keyId, at);
      if (record) this.#verified.delete(record.hash);
      return record;
    } finally {
      this.#revocations++;
    }
  }
}
