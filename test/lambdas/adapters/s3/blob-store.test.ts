import { describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../../../lambdas/adapters/s3/blob-store.ts';
import { useEmulators } from '../../../support/emulators.ts';

const fixture = useEmulators();

function store(): S3BlobStore {
  return new S3BlobStore(fixture.clients.s3, { bucket: fixture.emulators.bucketName });
}

function aKey(name: string): string {
  return `tenant-a/results/${crypto.randomUUID()}/${name}`;
}

const ARCHIVE = new Uint8Array(Array.from({ length: 70_000 }, (_, index) => (index * 31) % 256));

describe('S3BlobStore', () => {
  it('returns the bytes it stored', async () => {
    // Prepare
    const blobs = store();
    const key = aKey('result.zip');

    // Act
    await blobs.put(key, ARCHIVE, 'application/zip');
    const read = await blobs.get(key);

    // Assess
    expect(read).toEqual(ARCHIVE);
  });

  it('answers undefined for a key that holds nothing', async () => {
    // Prepare
    const blobs = store();

    // Act
    const read = await blobs.get(aKey('missing.zip'));

    // Assess
    expect(read).toBeUndefined();
  });

  it('presigns a link that plain fetch downloads, with the download name and no checksum parameters', async () => {
    // Prepare
    const blobs = store();
    const key = aKey('result.zip');
    await blobs.put(key, ARCHIVE, 'application/zip');

    // Act
    const url = await blobs.presignGet(key, 60, 'circles "v2" – final.zip');
    const response = await fetch(url);

    // Assess
    expect(response.status).toBe(200);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(ARCHIVE);
    expect(response.headers.get('content-type')).toBe('application/zip');
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="circles _v2_ _ final.zip"; filename*=UTF-8''circles%20%22v2%22%20%E2%80%93%20final.zip`,
    );
    expect(url.toLowerCase()).not.toContain('x-amz-checksum');
    expect(url.toLowerCase()).not.toContain('x-amz-sdk-checksum');
  });

  it('never signs a link for longer than 15 minutes', async () => {
    // Prepare
    const blobs = store();

    // Act
    const url = new URL(await blobs.presignGet(aKey('result.zip'), 7 * 24 * 3_600));

    // Assess
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
  });

  it('refuses a link once it expired', async () => {
    // Prepare: a link signed a minute ago for 30 s has expired; no need to wait for one to.
    const key = aKey('result.zip');
    await store().put(key, ARCHIVE, 'application/zip');
    const aMinuteAgo = new S3BlobStore(fixture.clients.s3, {
      bucket: fixture.emulators.bucketName,
      clock: { now: () => new Date(Date.now() - 60_000) },
    });
    const url = await aMinuteAgo.presignGet(key, 30);

    // Act
    const response = await fetch(url);

    // Assess
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('Request has expired');
  });

  it('serves a link signed a minute ago while it lives', async () => {
    // Prepare: the same signing date as above with a longer life, so the refusal above is the
    // expiry and not a signature the emulator rejects for its date.
    const key = aKey('result.zip');
    await store().put(key, ARCHIVE, 'application/zip');
    const aMinuteAgo = new S3BlobStore(fixture.clients.s3, {
      bucket: fixture.emulators.bucketName,
      clock: { now: () => new Date(Date.now() - 60_000) },
    });
    const url = await aMinuteAgo.presignGet(key, 600);

    // Act
    const response = await fetch(url);

    // Assess
    expect(response.status).toBe(200);
  });
});

describe('S3BlobStore.list', () => {
  /** `count` small objects under a prefix of their own, and that prefix. */
  async function objectsUnder(count: number): Promise<{ prefix: string; keys: string[] }> {
    const prefix = `tenant-a/listing/${crypto.randomUUID()}/`;
    const keys = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(4, '0')}.png`);
    const blobs = store();
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(
        keys.slice(i, i + 50).map((key) => blobs.put(key, Uint8Array.of(1, 2, 3), 'image/png')),
      );
    }
    return { prefix, keys };
  }

  it('lists only the prefix’s objects, in key order, with their sizes', async () => {
    // Prepare
    const { prefix, keys } = await objectsUnder(3);
    await store().put(`${prefix.slice(0, -1)}-sibling/x.png`, ARCHIVE, 'image/png');

    // Act
    const listed = await store().list(prefix);

    // Assess
    expect(listed).toEqual(keys.map((key) => ({ key, bytes: 3 })));
  });

  it('reads past S3’s 1000 keys a request up to the limit, and on from a key', async () => {
    // Prepare
    const { prefix, keys } = await objectsUnder(1030);

    // Act
    const first = await store().list(prefix, { limit: 1020 });
    const rest = await store().list(prefix, { after: first.at(-1)?.key, limit: 1020 });

    // Assess
    expect(first.map((object) => object.key)).toEqual(keys.slice(0, 1020));
    expect(rest.map((object) => object.key)).toEqual(keys.slice(1020));
  });

  it('answers an empty list for a prefix with nothing under it', async () => {
    // Act
    const listed = await store().list(`tenant-a/listing/${crypto.randomUUID()}/`);

    // Assess
    expect(listed).toEqual([]);
  });
});
