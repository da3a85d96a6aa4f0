/**
 * The export's writes into a user's bucket: for real against s3rver (a second bucket beside the data
 * bucket), and S3's refusals through aws-sdk-client-mock, each read as the export needs it: what to
 * retry, what stops the export.
 */

import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  classifyPutError,
  exportS3Client,
  S3ExportDestination,
} from '../../../../lambdas/adapters/s3/export-destination.ts';
import { DestinationError } from '../../../../lambdas/domain/exports/ports.ts';
import { useEmulators } from '../../../support/emulators.ts';

const fixture = useEmulators();
const BODY = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7) % 256);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('base64');

/** A bucket of its own on the emulator, as a user's bucket would be. */
async function aUserBucket(): Promise<string> {
  const bucket = `user-${crypto.randomUUID()}`;
  await fixture.clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

function emulatorDestination() {
  const client = exportS3Client({
    region: fixture.emulators.region,
    endpoints: { s3: fixture.emulators.s3Endpoint },
  });
  return { client, destination: new S3ExportDestination(client) };
}

/** An error as the SDK throws S3's answer of `code` with `status`. */
function s3Error(code: string, status: number, message = code): S3ServiceException {
  return new S3ServiceException({
    name: code,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message,
  });
}

describe('S3ExportDestination on the emulator', () => {
  it('writes an object into another bucket with its content type', async () => {
    // Prepare
    const bucket = await aUserBucket();
    const { client, destination } = emulatorDestination();

    // Act
    await destination.put(bucket, 'datasets/v1/a.png', BODY, 'image/png', {
      publicRead: false,
      sha256Base64: sha256(BODY),
    });

    // Assess
    const object = await fixture.clients.s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'datasets/v1/a.png' }),
    );
    expect(new Uint8Array((await object.Body?.transformToByteArray()) ?? [])).toEqual(BODY);
    expect(object.ContentType).toBe('image/png');
    client.destroy();
  });

  it('writes a view into a larger buffer as exactly its bytes (a frame read from an archive)', async () => {
    // Prepare
    const bucket = await aUserBucket();
    const { client, destination } = emulatorDestination();
    const archive = new Uint8Array(10_000).fill(9);
    archive.set(BODY, 3000);
    const frame = archive.subarray(3000, 3000 + BODY.byteLength);

    // Act
    await destination.put(bucket, 'frame.png', frame, 'image/png', {
      publicRead: false,
      sha256Base64: sha256(frame),
    });

    // Assess
    const head = await fixture.clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'frame.png' }));
    expect(head.ContentLength).toBe(BODY.byteLength);
    client.destroy();
  });

  it('reads a bucket that does not exist as no_such_bucket, which the export stops on', async () => {
    // Prepare
    const { client, destination } = emulatorDestination();

    // Act
    const error = await destination
      .put(`missing-${crypto.randomUUID()}`, 'a.png', BODY, 'image/png', {
        publicRead: false,
        sha256Base64: sha256(BODY),
      })
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(DestinationError);
    expect(error).toMatchObject({ reason: 'no_such_bucket', retryable: false });
    client.destroy();
  });
});

describe('S3ExportDestination’s requests', () => {
  it('sends the SHA-256 for S3 to check, the length, and the public-read ACL only when asked', async () => {
    // Prepare
    const client = new S3Client({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    const s3 = mockClient(client);
    s3.on(PutObjectCommand).resolves({});
    const destination = new S3ExportDestination(client);

    // Act
    await destination.put('b', 'private.png', BODY, 'image/png', {
      publicRead: false,
      sha256Base64: sha256(BODY),
    });
    await destination.put('b', 'public.png', BODY, 'image/png', {
      publicRead: true,
      sha256Base64: sha256(BODY),
    });

    // Assess
    const [first, second] = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
    expect(first).toMatchObject({
      Bucket: 'b',
      Key: 'private.png',
      ContentType: 'image/png',
      ContentLength: BODY.byteLength,
      ChecksumSHA256: sha256(BODY),
    });
    expect(first?.ACL).toBeUndefined();
    expect(second?.ACL).toBe('public-read');
  });

  it.each([
    ['AccessDenied', 403, 'access_denied', false],
    ['NoSuchBucket', 404, 'no_such_bucket', false],
    ['AccessControlListNotSupported', 400, 'acl_not_supported', false],
    ['PermanentRedirect', 301, 'wrong_region', false],
    ['SlowDown', 503, 'throttled', true],
    ['InternalError', 500, 'server_error', true],
    ['ServiceUnavailable', 503, 'server_error', true],
    ['BadDigest', 400, 'bad_digest', true],
    ['SomethingNew', 502, 'server_error', true],
    ['EntityTooLarge', 400, 'rejected', false],
  ] as const)('reads %s (%i) as %s, retryable: %s', async (code, status, reason, retryable) => {
    // Prepare
    const client = new S3Client({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    mockClient(client).on(PutObjectCommand).rejects(s3Error(code, status));
    const destination = new S3ExportDestination(client);

    // Act
    const error = await destination
      .put('their-bucket', 'a.png', BODY, 'image/png', { publicRead: false, sha256Base64: sha256(BODY) })
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(DestinationError);
    expect(error).toMatchObject({ reason, retryable });
  });
});

describe('classifyPutError', () => {
  it('reads a connection reset with no answer as a retryable network failure', () => {
    // Prepare
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

    // Act
    const error = classifyPutError(reset, 'b');

    // Assess
    expect(error).toMatchObject({ reason: 'network', retryable: true });
  });

  it('takes ARNs and account ids out of the message the user will see', () => {
    // Prepare
    const denied = s3Error(
      'AccessDenied',
      403,
      'User: arn:aws:sts::123456789012:assumed-role/synthforge-export/fn is not authorized to perform: s3:PutObject',
    );

    // Act
    const error = classifyPutError(denied, 'their-bucket');

    // Assess
    expect(error.message).not.toMatch(/123456789012|arn:aws/);
    expect(error.message).toContain('their-bucket');
  });
});
