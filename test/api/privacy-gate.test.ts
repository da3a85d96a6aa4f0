/**
 * The privacy gate of a stage that requires it (`datasets.requirePrivacyValidation`): a batch's
 * images are neither linked nor exported until the batch passed a privacy validation made after them.
 */
import { describe, expect, it } from 'vitest';
import { expectError, usePlatform, waitForJob } from '../support/platform.ts';

const fixture = usePlatform({ datasets: { requirePrivacyValidation: true } });

interface BatchImages {
  status: string;
  images: { job_id: string; image_path?: string; image_url?: string; error?: { code: string } }[];
}

async function finished(batchId: string, timeoutMs = 60_000): Promise<BatchImages> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await fixture.api.get<BatchImages>(`/api/v1/generate/batch/${batchId}`);
    if (['completed', 'failed', 'cancelled'].includes(batch.body.status)) return batch.body;
    if (Date.now() > deadline) throw new Error(`batch ${batchId} is still ${batch.body.status}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('a stage that requires privacy validation', () => {
  it('links and exports a batch only once it passed a privacy validation', async () => {
    // Prepare
    const started = await fixture.api.post<{ batch_id: string }>('/api/v1/generate/batch', {
      prompts: ['amber stars', 'teal circles'],
      width: 64,
      height: 64,
    });
    expect(started.status).toBe(202);
    const batchId = started.body.batch_id;

    // Act: before any validation.
    const before = await finished(batchId);
    const oneBefore = await fixture.api.get(`/api/v1/generate/${before.images[0]?.job_id}`);
    const exportBefore = await fixture.api.post('/api/v1/export/jsonl', {
      dataset_dir: batchId,
      output_file: 'gate.jsonl',
    });

    // Assess: made, not linked, not exported.
    expect(before.status).toBe('completed');
    for (const image of before.images) {
      expect(image.image_url).toBeUndefined();
      expect(image.image_path).toMatch(/^s3:\/\//);
      expect(image.error?.code).toBe('PRIVACY_VALIDATION_REQUIRED');
    }
    expectError(oneBefore, 409);
    expectError(exportBefore, 409);

    // Act: the batch's privacy validation, then the same reads.
    const validation = await fixture.api.post<{ job_id: string }>('/api/v1/validate/batch', {
      dataset_dir: batchId,
    });
    expect(validation.status).toBe(202);
    const job = await waitForJob(fixture.api, validation.body.job_id);
    const after = await fixture.api.get<BatchImages>(`/api/v1/generate/batch/${batchId}`);
    const oneAfter = await fixture.api.get(`/api/v1/generate/${before.images[0]?.job_id}`);
    const exportAfter = await fixture.api.post('/api/v1/export/jsonl', {
      dataset_dir: batchId,
      output_file: 'gate.jsonl',
    });

    // Assess
    expect(job.status).toBe('completed');
    for (const image of after.body.images) expect(image.image_url).toMatch(/^http/);
    expect(oneAfter.status).toBe(200);
    expect(exportAfter.status).toBe(200);
  });
});
