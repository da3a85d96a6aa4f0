/**
 * Frames too large for API Gateway's body go through S3: a presigned PUT into the tenant's uploads,
 * whose `s3://` URI is then a frame. Over fakes for the shapes, and once for real through the S3
 * adapter on s3rver: the link uploads with plain fetch, and the frame checks read the upload back.
 */
import { describe, expect, it } from 'vitest';
import { UploadRequest } from '../../../../contracts/inference.ts';
import { S3BlobStore } from '../../../../lambdas/adapters/s3/blob-store.ts';
import { checkFrames } from '../../../../lambdas/domain/inference/frames.ts';
import { safeFileName, uploadUrl } from '../../../../lambdas/domain/inference/uploads.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { anImage, aService, BUCKET, CLAUDE, failure, fakeTime, TENANT } from './fakes.ts';

const fixture = useEmulators();

describe('uploadUrl', () => {
  it("signs a PUT under the tenant's uploads, with the frame's URI and the header to send", async () => {
    // Prepare
    const { service, blobs } = aService();

    // Act
    const upload = await service.uploadUrl(TENANT, { filename: 'clip.mp4', content_type: 'video/mp4' });

    // Assess
    const key = `${TENANT}/uploads/01JUPLOADUPLOADUPLOADUPLOA/clip.mp4`;
    expect(upload).toEqual({
      method: 'PUT',
      url: `https://${BUCKET}.s3.example/${key}?X-Amz-Signature=abc`,
      s3_uri: `s3://${BUCKET}/${key}`,
      headers: { 'content-type': 'video/mp4' },
      expires_at: '2026-05-01T12:15:00.000Z',
    });
    expect(blobs.presigned).toEqual([{ key, ttlSeconds: 900, contentType: 'video/mp4' }]);
  });

  it.each(['application/pdf', 'IMAGE/PNG'])(
    "takes no content type that is not a frame's, as the route's schema reads it: %s",
    (contentType) => {
      // Act
      const parsed = UploadRequest.safeParse({ filename: 'a.pdf', content_type: contentType });

      // Assess
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.message).toBe(
        'content_type must be image/png, image/jpeg, image/gif, image/webp or video/mp4',
      );
    },
  );

  it.each([
    ['cat.png', 'cat.png'],
    ['../../globex/uploads/x.png', 'x.png'],
    ['C:\\Users\\me\\holiday clip.mp4', 'holiday_clip.mp4'],
    ['.hidden', 'hidden'],
    ['été 2025?.jpg', 't_2025_.jpg'],
    ['///', 'upload'],
    [`${'a'.repeat(300)}.png`, `${'a'.repeat(96)}.png`],
  ])('keeps %j as the one key segment %j', (filename, expected) => {
    // Act
    const safe = safeFileName(filename);

    // Assess
    expect(safe).toBe(expected);
  });

  it('uploads through the real link, and the uploaded frame is then read and checked', async () => {
    // Prepare
    const blobs = new S3BlobStore(fixture.clients.s3, { bucket: fixture.emulators.bucketName });
    const time = fakeTime(new Date().toISOString());
    const png = await anImage('png', 64, 48);
    const upload = await uploadUrl({ blobs, clock: time.clock, newId: () => 'UP1' }, TENANT, {
      filename: 'photo.png',
      content_type: 'image/png',
    });

    // Act
    const put = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: png });
    const frames = await checkFrames([upload.s3_uri], 'image', CLAUDE, { tenant: TENANT, blobs });
    const otherTenant = await failure(
      checkFrames([upload.s3_uri], 'image', CLAUDE, { tenant: 'globex', blobs }),
    );

    // Assess
    expect(put.status).toBe(200);
    expect(new URL(upload.url).searchParams.get('X-Amz-SignedHeaders')).toContain('content-type');
    expect(new URL(upload.url).searchParams.has('x-amz-checksum-crc32')).toBe(false);
    expect(frames).toEqual([{ kind: 'image', format: 'png', bytes: png, width: 64, height: 48 }]);
    expect(otherTenant.status).toBe(404);
  });
});
