/**
 * Frames too large for API Gateway's 10 MB body are uploaded first: a presigned PUT into the tenant's
 * uploads, whose `s3://` URI a request then names as a frame (lambdas/domain/inference/frames.ts reads
 * only that prefix). The key is made here, never taken from the caller.
 */
import { invalidParameters } from '../errors.ts';
import type { BlobStore, Clock } from '../ports.ts';
import { uploadsPrefix } from './frames.ts';

/** What a frame may be: the formats the frame checks accept. */
export const UPLOAD_CONTENT_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'video/mp4',
] as const;

export interface UploadRequest {
  filename: string;
  content_type: string;
}

export interface UploadUrl {
  method: 'PUT';
  /** PUT the file's bytes here, with exactly `headers`. */
  url: string;
  /** The frame to send once uploaded. */
  s3_uri: string;
  headers: { 'content-type': string };
  expires_at: string;
}

export interface UploadDeps {
  blobs: Pick<BlobStore, 'bucket' | 'presignPut'>;
  clock: Clock;
  newId: () => string;
  /** How long the link lives. Default 900 s. */
  ttlSeconds?: number;
}

export async function uploadUrl(
  deps: UploadDeps,
  tenant: string,
  request: UploadRequest,
): Promise<UploadUrl> {
  const contentType = request.content_type.toLowerCase();
  if (!(UPLOAD_CONTENT_TYPES as readonly string[]).includes(contentType)) {
    throw invalidParameters(
      `content_type ${request.content_type} is not a frame's type; use one of ${UPLOAD_CONTENT_TYPES.join(', ')}`,
      { parameter: 'content_type', value: request.content_type, supported: [...UPLOAD_CONTENT_TYPES] },
    );
  }
  const ttlSeconds = deps.ttlSeconds ?? 900;
  const key = `${uploadsPrefix(tenant)}${deps.newId()}/${safeFileName(request.filename)}`;
  const url = await deps.blobs.presignPut(key, ttlSeconds, contentType);
  return {
    method: 'PUT',
    url,
    s3_uri: `s3://${deps.blobs.bucket}/${key}`,
    headers: { 'content-type': contentType },
    expires_at: new Date(deps.clock.now().getTime() + ttlSeconds * 1000).toISOString(),
  };
}

/**
 * A file name that is one plain key segment: its last path segment, letters, digits, dots, dashes and
 * underscores only, no leading dot, at most 100 characters ("upload" when nothing is left).
 */
export function safeFileName(filename: string): string {
  const last = filename.split(/[/\\]/).pop() ?? '';
  const safe = last
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .slice(-100)
    .replace(/^[._]+/, '');
  return safe.length === 0 ? 'upload' : safe;
}
