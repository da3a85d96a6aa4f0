/**
 * The profiles store over a bucket in memory: a profile written whole where the seed's `path` says,
 * its `created_at` kept when it is computed again, a missing one a 404, and a tenant's list holding
 * its own profiles only.
 */
import { describe, expect, it } from 'vitest';
import type { ProfileStatistics } from '../../../../contracts/datasets.ts';
import { ProfileStore, profileKey } from '../../../../lambdas/domain/datasets/profiles.ts';
import type { DomainError } from '../../../../lambdas/domain/errors.ts';
import { aTenant } from '../../../support/jobs.ts';
import { MemoryBlobStore } from '../../../support/memory-blobs.ts';

const STATISTICS: ProfileStatistics = {
  color_distribution: { red_mean: 0.42, green_mean: 0.51, blue_mean: 0.33 },
  brightness_mean: 0.47,
  contrast_mean: 0.21,
  brightness_std: 0.05,
  contrast_std: 0.02,
  resolution: { width_mean: 640, height_mean: 480 },
};

const MAY_1 = new Date('2026-05-01T12:00:00.000Z');
const MAY_2 = new Date('2026-05-02T08:30:00.000Z');

function aStore() {
  const blobs = new MemoryBlobStore('synthforge-data');
  return { blobs, profiles: new ProfileStore(blobs), tenant: aTenant('profiles') };
}

const computed = (sample_count = 12, statistics = STATISTICS) => ({
  statistics,
  sample_count,
  source: { s3_prefix: 'uploads/nature/' },
});

describe('ProfileStore', () => {
  it('writes a profile as JSON at its path and reads it back', async () => {
    // Prepare
    const { blobs, profiles, tenant } = aStore();

    // Act
    const saved = await profiles.save(tenant, 'nature', computed(), MAY_1);
    const read = await profiles.get(tenant, 'nature');

    // Assess
    const key = `${tenant}/profiles/nature.json`;
    expect(saved.key).toBe(key);
    expect(profileKey(tenant, 'nature')).toBe(key);
    expect(read).toEqual({
      name: 'nature',
      created_at: MAY_1.toISOString(),
      updated_at: MAY_1.toISOString(),
      sample_count: 12,
      path: `s3://synthforge-data/${key}`,
      statistics: STATISTICS,
      source: { s3_prefix: 'uploads/nature/' },
    });
    expect(saved.profile).toEqual(read);
    expect(blobs.objects.get(key)?.contentType).toBe('application/json');
    expect(saved.bytes).toBe(blobs.objects.get(key)?.body.byteLength);
  });

  it('keeps created_at when a profile is computed again, and moves updated_at', async () => {
    // Prepare
    const { profiles, tenant } = aStore();
    await profiles.save(tenant, 'nature', computed(12), MAY_1);
    const brighter = { ...STATISTICS, brightness_mean: 0.61 };

    // Act
    const again = await profiles.save(tenant, 'nature', computed(20, brighter), MAY_2);

    // Assess: one profile, with the new figures.
    expect(again.profile).toMatchObject({
      created_at: MAY_1.toISOString(),
      updated_at: MAY_2.toISOString(),
      sample_count: 20,
      statistics: brighter,
    });
    expect(await profiles.get(tenant, 'nature')).toEqual(again.profile);
    expect(await profiles.list(tenant)).toHaveLength(1);
  });

  it('answers a missing profile as undefined to find and as a 404 to get', async () => {
    // Prepare
    const { profiles, tenant } = aStore();
    await profiles.save(tenant, 'nature', computed(), MAY_1);

    // Act
    const found = await profiles.find(tenant, 'city');
    const error = await profiles.get(tenant, 'city').catch((e: DomainError) => e);

    // Assess
    expect(found).toBeUndefined();
    expect(error).toMatchObject({
      code: 'NOT_FOUND',
      status: 404,
      message: 'profile "city" was not found',
      details: { profile_name: 'city' },
    });
  });

  it('lists the tenant’s profiles by name, and nothing else under its profiles folder', async () => {
    // Prepare: two profiles, another tenant's whose name starts the same, and objects that are no profile.
    const { blobs, profiles, tenant } = aStore();
    await profiles.save(tenant, 'urban', computed(3), MAY_2);
    await profiles.save(tenant, 'nature', computed(5), MAY_1);
    await profiles.save(`${tenant}-2`, 'desert', computed(), MAY_1);
    await blobs.put(`${tenant}/profiles/notes.txt`, new TextEncoder().encode('hi'), 'text/plain');
    await blobs.put(`${tenant}/profiles/old/nature.json`, new TextEncoder().encode('{}'), 'application/json');

    // Act
    const listed = await profiles.list(tenant);

    // Assess
    expect(listed.map(({ name, sample_count }) => ({ name, sample_count }))).toEqual([
      { name: 'nature', sample_count: 5 },
      { name: 'urban', sample_count: 3 },
    ]);
    expect(await profiles.list(aTenant('empty'))).toEqual([]);
  });

  it('lists at most `limit` profiles', async () => {
    // Prepare
    const { profiles, tenant } = aStore();
    for (const name of ['a', 'b', 'c', 'd']) await profiles.save(tenant, name, computed(), MAY_1);

    // Act
    const listed = await profiles.list(tenant, 3);

    // Assess
    expect(listed.map((profile) => profile.name)).toEqual(['a', 'b', 'c']);
  });
});
