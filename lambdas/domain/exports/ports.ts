/**
 * Where the S3 export writes: a bucket of the user's (lambdas/adapters/s3/export-destination.ts puts
 * the objects). The adapter says what went wrong in a reason and whether it may pass (`retryable`);
 * the export decides what to do about it (s3-export.ts).
 */

/** Why a write failed. */
export type DestinationFailureReason =
  /** Refused by the bucket's policy, its account's, or Block Public Access (a public ACL). */
  | 'access_denied'
  | 'no_such_bucket'
  /** A public ACL on a bucket whose Object Ownership is "bucket owner enforced" (ACLs disabled). */
  | 'acl_not_supported'
  /** The bucket is in another region than the one the writer signs for. */
  | 'wrong_region'
  | 'invalid_bucket_name'
  /** S3's SlowDown, or any 429 or 503 that asks to slow down. */
  | 'throttled'
  /** A 5xx. */
  | 'server_error'
  /** No answer: a connection reset, refused, timed out. */
  | 'network'
  /** The bytes S3 received do not match their SHA-256 (corrupted on the way). */
  | 'bad_digest'
  /** Any other refusal of this one object. */
  | 'rejected';

/** A write that failed; its message is safe to show the user (no ARN, no account id). */
export class DestinationError extends Error {
  override readonly name = 'DestinationError';
  constructor(
    readonly reason: DestinationFailureReason,
    message: string,
    /** The same write may succeed if tried again. */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** Failures that every other object of the export would meet too: the export stops at the first. */
export const FATAL_REASONS = [
  'access_denied',
  'no_such_bucket',
  'acl_not_supported',
  'wrong_region',
  'invalid_bucket_name',
] as const satisfies readonly DestinationFailureReason[];
export type FatalReason = (typeof FATAL_REASONS)[number];

export const isFatal = (reason: DestinationFailureReason): reason is FatalReason =>
  (FATAL_REASONS as readonly string[]).includes(reason);

export interface PutOptions {
  /** Readable by anyone (ACL public-read). */
  publicRead: boolean;
  /** The bytes' SHA-256, base64: S3 checks the object it stores against it. */
  sha256Base64: string;
}

export interface ExportDestination {
  /** Writes one object; throws DestinationError (anything else is taken as a refusal of this object). */
  put(
    bucket: string,
    key: string,
    bytes: Uint8Array,
    contentType: string,
    options: PutOptions,
  ): Promise<void>;
}
