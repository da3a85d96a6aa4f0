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
