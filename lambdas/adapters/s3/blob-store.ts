import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { BlobListing, BlobStore, Clock } from '../../domain/ports.ts';

export interface S3BlobStoreOptions {
  bucket: string;
  /** The longest a presigned link may live. Default 900 s. */
  maxPresignSeconds?: number;
  /** When links are signed: the system clock by default (a test signs a link that has already expired). */
  clock?: Clock;
}

/**
 * Blobs in one bucket. Keys come from the domain, which starts every one with the tenant. The
 * client must be built by createAwsClients: its WHEN_REQUIRED checksums keep presigned URLs clean.
 */
export class S3BlobStore implements BlobStore {
  readonly bucket: string;
  readonly #maxPresignSeconds: number;
  readonly #clock: Clock;

  constructor(
    private readonly s3: S3Client,
    options: S3BlobStoreOptions,
  ) {
    this.bucket = options.bucket;
    this.#maxPresignSeconds = options.maxPresignSeconds ?? 900;
    this.#clock = options.clock ?? { now: () => new Date() };
  }

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const output = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return output.Body === undefined ? new Uint8Array() : await output.Body.transformToByteArray();
    } catch (error) {
      if (error instanceof Error && error.name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  async copy(fromKey: string, toKey: string, contentType: string): Promise<{ bytes: number }> {
    await this.s3.send(
      new CopyObjectCommand({
        Bucket: this.bucket,
        Key: toKey,
        CopySource: `${this.bucket}/${fromKey.split('/').map(encodeURIComponent).join('/')}`,
        ContentType: contentType,
        MetadataDirective: 'REPLACE',
      }),
    );
    const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: toKey }));
    return { bytes: head.ContentLength ?? 0 };
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (error instanceof Error && (error.name === 'NotFound' || error.name === 'NoSuchKey'))
        return undefined;
      throw error;
    }
  }

  /**
   * ListObjects (version 1), from `after` and then from the last key of each page (its `Marker`),
   * until `limit` objects are read or the listing ends: S3 answers at most 1000 keys a request, and
   * may answer fewer. Version 1 rather than ListObjectsV2 because of the local platform's emulator:
   * s3rver signs V2's continuation tokens with DES, which Node's OpenSSL 3 no longer provides, so
   * that every truncated V2 page fails there with a 500; a V1 page needs no token. S3 lists both
   * versions in the same order (the keys' UTF-8 bytes), and both need the same s3:ListBucket.
   */
  async list(prefix: string, options: { after?: string; limit?: number } = {}): Promise<BlobListing[]> {
    const limit = options.limit ?? 1000;
    if (!(Number.isInteger(limit) && limit >= 1)) {
      throw new RangeError(`a listing's limit must be a positive integer, got ${limit}`);
    }
    const listed: BlobListing[] = [];
    let marker = options.after;
    for (;;) {
      const page = await this.s3.send(
        new ListObjectsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          MaxKeys: Math.min(1000, limit - listed.length),
          ...(marker === undefined ? {} : { Marker: marker }),
        }),
      );
      const contents = page.Contents ?? [];
      for (const object of contents) {
        if (object.Key !== undefined) listed.push({ key: object.Key, bytes: object.Size ?? 0 });
      }
      marker = listed.at(-1)?.key;
      if (!page.IsTruncated || contents.length === 0 || listed.length >= limit) return listed;
    }
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** `ttlSeconds` is clamped to [1, maxPresignSeconds]: a link never outlives the configured maximum. */
  async presignGet(key: string, ttlSeconds: number, downloadName?: string): Promise<string> {
    const expiresIn = Math.min(Math.max(Math.floor(ttlSeconds), 1), this.#maxPresignSeconds);
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ...(downloadName === undefined ? {} : { ResponseContentDisposition: attachment(downloadName) }),
    });
    return getSignedUrl(this.s3, command, { expiresIn, signingDate: this.#clock.now() });
  }

  /**
   * Clamped like `presignGet`. The content type is a signed header: an upload that sends another one
   * is refused by S3, so an object under the key has the type it was announced with.
   */
  async presignPut(key: string, ttlSeconds: number, contentType: string): Promise<string> {
    const expiresIn = Math.min(Math.max(Math.floor(ttlSeconds), 1), this.#maxPresignSeconds);
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: contentType });
    return getSignedUrl(this.s3, command, {
      expiresIn,
      signingDate: this.#clock.now(),
      signableHeaders: new Set(['content-type']),
    });
  }
}

/**
 * A Content-Disposition that every browser saves under `fileName`: an ASCII fallback for old
 * clients, and the exact name in RFC 5987 form. Quotes and control characters cannot break out.
 */
export function attachment(fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeRfc5987(fileName)}`;
}

function encodeRfc5987(value: string): string {
  // toWellFormed: a lone surrogate would make encodeURIComponent throw.
  return encodeURIComponent(value.toWellFormed()).replace(
    /['()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
