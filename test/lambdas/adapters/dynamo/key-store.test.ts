import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DuplicateApiKeyError, DynamoKeyStore } from '../../../../lambdas/adapters/dynamo/key-store.ts';
import type { ApiKeyRecord } from '../../../../lambdas/domain/ports.ts';
import { useEmulators } from '../../../support/emulators.ts';

const fixture = useEmulators();

function store(): DynamoKeyStore {
  return new DynamoKeyStore(fixture.clients.dynamo, { tableName: fixture.emulators.tableNames.keys });
}

function aKey(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  const secret = crypto.randomUUID();
  return {
    hash: createHash('sha256').update(secret).digest('hex'),
    keyId: `key_${crypto.randomUUID().slice(0, 8)}`,
    tenant: 'acme',
    createdAt: '2031-02-03T04:05:06.000Z',
    label: 'ci',
    ...overrides,
  };
}

describe('DynamoKeyStore', () => {
  it('finds a created key by its hash, and nothing for an unknown hash', async () => {
    // Prepare
    const keys = store();
    const key = aKey({ usageKey: 'usage-plan-key-value' });
    await keys.create(key);

    // Act
    const found = await keys.findByHash(key.hash);
    const unknown = await keys.findByHash(aKey().hash);

    // Assess
    expect(found).toStrictEqual(key);
    expect(unknown).toBeUndefined();
  });

  it('refuses a second key with the same hash, keeping the first', async () => {
    // Prepare
    const keys = store();
    const key = aKey({ tenant: 'first' });
    await keys.create(key);

    // Act
    const creating = keys.create({ ...key, tenant: 'second' });

    // Assess
    await expect(creating).rejects.toThrow(DuplicateApiKeyError);
    expect((await keys.findByHash(key.hash))?.tenant).toBe('first');
  });

  it('lists every key', async () => {
    // Prepare
    const keys = store();
    const created = [aKey(), aKey({ tenant: 'globex' }), aKey()];
    for (const key of created) await keys.create(key);

    // Act
    const listed = await keys.list();

    // Assess
    expect(listed).toEqual(expect.arrayContaining(created));
  });

  it('revokes a key by id once, keeping the first revocation time', async () => {
    // Prepare
    const keys = store();
    const key = aKey();
    const bystander = aKey();
    await keys.create(key);
    await keys.create(bystander);

    // Act
    const revoked = await keys.revoke(key.keyId, '2031-03-01T00:00:00.000Z');
    const again = await keys.revoke(key.keyId, '2031-04-01T00:00:00.000Z');

    // Assess
    expect(revoked).toStrictEqual({ ...key, revokedAt: '2031-03-01T00:00:00.000Z' });
    expect(again?.revokedAt).toBe('2031-03-01T00:00:00.000Z');
    expect((await keys.findByHash(key.hash))?.revokedAt).toBe('2031-03-01T00:00:00.000Z');
    expect((await keys.findByHash(bystander.hash))?.revokedAt).toBeUndefined();
  });

  it('answers undefined when revoking an unknown key id', async () => {
    // Prepare
    const keys = store();

    // Act
    const revoked = await keys.revoke('key_unknown', '2031-03-01T00:00:00.000Z');

    // Assess
    expect(revoked).toBeUndefined();
  });
});
