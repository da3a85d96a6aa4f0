/**
 * Profiles (seed 001 `/profiles`): the statistics of a set of the tenant's images, one JSON object
 * per profile in the data bucket (`<tenant>/profiles/<name>.json`), which is the `path` the seed
 * shows. A profile is written whole by the job that computes it; computing it again replaces it and
 * keeps its `created_at`.
 */
import type { Profile, ProfileStatistics } from '../../../contracts/datasets.ts';
import { DomainError } from '../errors.ts';
import type { BlobStore } from '../ports.ts';

export const profileKey = (tenant: string, name: string) => `${tenant}/profiles/${name}.json`;
const profilesPrefix = (tenant: string) => `${tenant}/profiles/`;

/** A profile as stored: the seed's fields, `path` included. */
export type StoredProfile = Profile;

export class ProfileStore {
  constructor(private readonly blobs: Pick<BlobStore, 'get' | 'put' | 'list' | 'bucket'>) {}

  /** The tenant's profiles, by name; at most `limit` (the list route's page is all of them up to it). */
  async list(tenant: string, limit = 1000): Promise<StoredProfile[]> {
    const objects = await this.blobs.list(profilesPrefix(tenant), { limit });
    const names = objects
      .map((object) => object.key.slice(profilesPrefix(tenant).length))
      .filter((rest) => rest.endsWith('.json') && !rest.includes('/'))
      .map((rest) => rest.slice(0, -'.json'.length));
    const profiles = await Promise.all(names.map((name) => this.find(tenant, name)));
    return profiles.filter((profile): profile is StoredProfile => profile !== undefined);
  }

  async find(tenant: string, name: string): Promise<StoredProfile | undefined> {
    const bytes = await this.blobs.get(profileKey(tenant, name));
    if (!bytes) return undefined;
    return JSON.parse(new TextDecoder().decode(bytes)) as StoredProfile;
  }

  async get(tenant: string, name: string): Promise<StoredProfile> {
    const profile = await this.find(tenant, name);
    if (!profile) {
      throw new DomainError('NOT_FOUND', `profile ${JSON.stringify(name)} was not found`, {
        profile_name: name,
      });
    }
    return profile;
  }

  /** Writes a computed profile, keeping the `created_at` of the one it replaces. */
  async save(
    tenant: string,
    name: string,
    computed: { statistics: ProfileStatistics; sample_count: number; source: Profile['source'] },
    now: Date,
  ): Promise<{ profile: StoredProfile; key: string; bytes: number }> {
    const previous = await this.find(tenant, name);
    const key = profileKey(tenant, name);
    const profile: StoredProfile = {
      name,
      created_at: previous?.created_at ?? now.toISOString(),
      updated_at: now.toISOString(),
      sample_count: computed.sample_count,
      path: `s3://${this.blobs.bucket}/${key}`,
      statistics: computed.statistics,
      source: computed.source,
    };
    const body = new TextEncoder().encode(JSON.stringify(profile));
    await this.blobs.put(key, body, 'application/json');
    return { profile, key, bytes: body.byteLength };
  }
}
