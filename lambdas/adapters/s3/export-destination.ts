/**
 * The S3 export's writes into the user's bucket (lambdas/domain/exports/s3-export.ts): one PutObject
 * per object, with its SHA-256 (`ChecksumSHA256`: S3 computes the digest of what it received and
 * refuses the object when they differ, so a corrupted upload is never stored), and every failure
 * told apart for the export to decide on: retry, give up on the object, or stop.
 *
 * `publicRead` sends the canned ACL `public-read`. What the user sees when the bucket will not have
 * it: a bucket whose Object Ownership is "bucket owner enforced" (the default for buckets created
 * since April 2023) has ACLs disabled and answers 400 AccessControlListNotSupported, which the
 * export turns into a 400 telling them to export with `public_read: false` and share through the
 * bucket policy instead; a bucket (or account) whose Block Public Access blocks public ACLs answers
 * 403 AccessDenied, which the export answers as a 403 naming the bucket policy and Block Public
 * Access. Private objects are sent with no ACL at all, so that a bucket with ACLs disabled takes them
 * and the writer needs no s3:PutObjectAcl.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { withoutAwsIdentifiers } from '../../domain/errors.ts';
import {
  DestinationError,
  type DestinationFailureReason,
  type ExportDestination,
  type PutOptions,
} from '../../domain/exports/ports.ts';
import { type AwsClientOptions, clientSettings } from '../clients.ts';

export class S3ExportDestination implements ExportDestination {
  /** `s3`: best made by `exportS3Client`, whose single attempt leaves the retries to the export. */
  constructor(private readonly s3: S3Client) {}

  async put(
    bucket: string,
    key: string,
    bytes: Uint8Array,
    contentType: string,
    options: PutOptions,
  ): Promise<void> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentType: contentType,
          ChecksumSHA256: options.sha256Base64,
          ...(options.publicRead ? { ACL: 'public-read' } : {}),
        }),
      );
    } catch (error) {
      throw classifyPutError(error, bucket);
    }
  }
}

/**
 * The destination over `s3`. Give it the client of `exportS3Client` (`clients.own(exportS3Client)`):
 * over the shared client, whose SDK retries three times, each of the export's attempts is three.
 */
export function createS3ExportDestination(s3: S3Client): ExportDestination {
  return new S3ExportDestination(s3);
}

/**
 * The client for exports, made once per container with `clients.own(exportS3Client)`: one attempt
 * (the export retries transient failures itself, with jitter, and counts them; the SDK's own three
 * would multiply its attempts), checksums only where a request carries one (the export's does), and
 * path-style addressing only against an emulator, which listens on a bare host and port (against AWS
 * the SDK picks the style itself, path-style for a name with dots, which no TLS name would match).
 */
export function exportS3Client(options: AwsClientOptions): S3Client {
  const endpoint = options.endpoints?.s3;
  return new S3Client({
    ...clientSettings(options, endpoint),
    maxAttempts: 1,
    forcePathStyle: endpoint !== undefined,
    // A bucket in another region is written there rather than refused (S3 answers 301 with its region).
    followRegionRedirects: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Error codes (the SDK's error names) and what they mean for an export. */
const BY_CODE: Readonly<Record<string, { reason: DestinationFailureReason; retryable: boolean }>> = {
  AccessDenied: { reason: 'access_denied', retryable: false },
  AllAccessDisabled: { reason: 'access_denied', retryable: false },
  AccountProblem: { reason: 'access_denied', retryable: false },
  InvalidAccessKeyId: { reason: 'access_denied', retryable: false },
  SignatureDoesNotMatch: { reason: 'access_denied', retryable: false },
  ExpiredToken: { reason: 'access_denied', retryable: false },
  NoSuchBucket: { reason: 'no_such_bucket', retryable: false },
  AccessControlListNotSupported: { reason: 'acl_not_supported', retryable: false },
  PermanentRedirect: { reason: 'wrong_region', retryable: false },
  AuthorizationHeaderMalformed: { reason: 'wrong_region', retryable: false },
  IllegalLocationConstraintException: { reason: 'wrong_region', retryable: false },
  InvalidBucketName: { reason: 'invalid_bucket_name', retryable: false },
  SlowDown: { reason: 'throttled', retryable: true },
  Throttling: { reason: 'throttled', retryable: true },
  ThrottlingException: { reason: 'throttled', retryable: true },
  RequestLimitExceeded: { reason: 'throttled', retryable: true },
  TooManyRequestsException: { reason: 'throttled', retryable: true },
  RequestTimeout: { reason: 'network', retryable: true },
  RequestTimeoutException: { reason: 'network', retryable: true },
  TimeoutError: { reason: 'network', retryable: true },
  InternalError: { reason: 'server_error', retryable: true },
  ServiceUnavailable: { reason: 'server_error', retryable: true },
  BadDigest: { reason: 'bad_digest', retryable: true },
  InvalidDigest: { reason: 'bad_digest', retryable: true },
  XAmzContentSHA256Mismatch: { reason: 'bad_digest', retryable: true },
};

/** What a socket failure says (Node's error codes): no answer came, so the same write may pass. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EPROTO',
]);

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** A PutObject failure as the export reads it; its message names the bucket, never an ARN or account. */
export function classifyPutError(error: unknown, bucket: string): DestinationError {
  const sdk = (typeof error === 'object' && error !== null ? error : {}) as SdkError;
  const code = sdk.Code ?? sdk.name ?? 'Error';
  const status = sdk.$metadata?.httpStatusCode;
  const said = withoutAwsIdentifiers(
    `${code}${status ? ` (${status})` : ''}: ${sdk.message ?? String(error)}`,
  );
  const known = BY_CODE[code];
  if (known) return new DestinationError(known.reason, `${said} [bucket ${bucket}]`, known.retryable);
  if (status === undefined && (NETWORK_CODES.has(sdk.code ?? '') || NETWORK_CODES.has(code))) {
    return new DestinationError('network', said, true);
  }
  if (status === 429) return new DestinationError('throttled', said, true);
  if (status !== undefined && status >= 500) return new DestinationError('server_error', said, true);
  if (status === 403) return new DestinationError('access_denied', `${said} [bucket ${bucket}]`, false);
  if (status === 404) return new DestinationError('no_such_bucket', `${said} [bucket ${bucket}]`, false);
  return new DestinationError('rejected', said, false);
}
