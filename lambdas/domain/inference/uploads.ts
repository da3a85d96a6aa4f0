/**
 * Frames too large for API Gateway's 10 MB body are uploaded first: a presigned PUT into the tenant's
 * uploads, whose `s3://` URI a request then names as a frame (lambdas/domain/inference/frames.ts reads
 * only that prefix). The key is made here, never taken from the caller.
 */
import type { UploadRequest, UploadUrl } from '../../../contracts/inference.ts';
import type { BlobStore, Clock } from '../ports.ts';
import { uploadsPrefix } from './frames.ts';

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
  // The route's schema takes only a frame's content types (contracts/inference.ts `UploadRequest`).
  const contentType = request.content_type;
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
