/**
 * Seed 001's validation, profile and export routes end to end on the local platform: images made in
 * the test under the dev tenant's prefix of the data bucket, the bundled face-api and Tesseract
 * models, the datasets machine on aws-local-stepfunctions, and another bucket of the S3 emulator as
 * the user's own.
 */
import { createHash } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { expectError, usePlatform, waitForBatch, waitForJob } from '../support/platform.ts';

const fixture = usePlatform();
const TENANT = 'dev';

/** A 256 × 256 scene of sharp-edged blocks in several colours: sharp, contrasted, clean. */
async function scene(seed: number): Promise<Buffer> {
  const blocks = Array.from({ length: 12 }, (_, i) => {
    const x = ((i * 53 + seed * 31) % 200) + 4;
    const y = ((i * 97 + seed * 17) % 200) + 4;
    const hue = (i * 47 + seed * 90) % 360;
    return `<rect x="${x}" y="${y}" width="48" height="40" fill="hsl(${hue},80%,${30 + (i % 4) * 12}%)"/>`;
  }).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256"><rect width="256" height="256" fill="#e8e4d8"/>${blocks}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** The same image with Gaussian noise of σ grey levels added to every channel (a fixed pattern). */
async function noisy(png: Buffer, sigma: number): Promise<Buffer> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let state = 12345;
  const uniform = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state + 1) / 2147483649;
  };
  for (let i = 0; i < data.length; i++) {
    const gaussian = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    data[i] = Math.max(0, Math.min(255, Math.round((data[i] as number) + sigma * gaussian)));
  }
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
    .png()
    .toBuffer();
}

async function put(key: string, body: Buffer): Promise<string> {
  await fixture.platform.runtime.blobs.put(`${TENANT}/${key}`, body, 'image/png');
  return `s3://${fixture.platform.emulators.bucketName}/${TENANT}/${key}`;
}

interface Quality {
  quality_score: number;
  passed: boolean;
  metrics: {
    sharpness: number;
    contrast: number;
    noise_level: number;
    brightness: number;
    colourfulness: number;
  };
}

describe('POST /api/v1/validate/quality', () => {
  it('scores a blurred copy lower on sharpness and a noisy copy higher on noise, with the seed limits in headers', async () => {
    // Prepare
    const original = await scene(1);
    const paths = {
      original: await put('quality/original.png', original),
      blurred: await put('quality/blurred.png', await sharp(original).blur(3).png().toBuffer()),
      noisy: await put('quality/noisy.png', await noisy(original, 20)),
    };

    // Act
    const answers = await Promise.all(
      Object.values(paths).map((image_path) =>
        fixture.api.post<Quality>('/api/v1/validate/quality', {
          image_path,
          metrics: ['sharpness', 'contrast', 'noise'],
        }),
      ),
    );

    // Assess
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-ratelimit-limit')).toBeTruthy();
      expect(Object.keys(answer.body.metrics).sort()).toEqual(['contrast', 'noise_level', 'sharpness']);
    }
    const [original_, blurred, noisy_] = answers.map((answer) => answer.body);
    expect(blurred?.metrics.sharpness).toBeLessThan((original_?.metrics.sharpness ?? 0) / 5);
    expect(noisy_?.metrics.noise_level).toBeGreaterThan((original_?.metrics.noise_level ?? 1) * 3);
    expect(original_?.passed).toBe(true);
  });

  it("answers 404 for another tenant's image and for a path outside the data, and stores nothing", async () => {
    // Prepare
    const bucket = fixture.platform.emulators.bucketName;
    await fixture.platform.runtime.blobs.put('other/quality/secret.png', await scene(2), 'image/png');
    const before = await fixture.api.get<{ jobs: unknown[] }>('/api/v1/jobs', { limit: 100 });

    // Act
    const foreign = await fixture.api.post('/api/v1/validate/quality', {
      image_path: `s3://${bucket}/other/quality/secret.png`,
    });
    const outside = await fixture.api.post('/api/v1/validate/quality', { image_path: '/etc/passwd' });
    const otherBucket = await fixture.api.post('/api/v1/validate/quality', {
      image_path: `s3://elsewhere/${TENANT}/x.png`,
    });
    const badMetric = await fixture.api.post('/api/v1/validate/quality', {
      image_path: 'x',
      metrics: ['beauty'],
    });

    // Assess
    expectError(foreign, 404, 'NOT_FOUND');
    expectError(outside, 404, 'NOT_FOUND');
    expectError(otherBucket, 404, 'NOT_FOUND');
    expectError(badMetric, 400);
    // The answer for another tenant's object is the answer for a missing one: no oracle of what exists.
    const missing = await fixture.api.post<{ error: { message: string } }>('/api/v1/validate/quality', {
      image_path: `s3://${bucket}/other/quality/absent.png`,
    });
    const messageOf = (answer: typeof missing, name: string) =>
      answer.body.error.message.replace(name, '<name>');
    expect(messageOf(foreign as typeof missing, 'secret.png')).toBe(messageOf(missing, 'absent.png'));
    const after = await fixture.api.get<{ jobs: unknown[] }>('/api/v1/jobs', { limit: 100 });
    expect(after.body.jobs.length).toBe(before.body.jobs.length);
  });
});

describe("the dataset routes and another tenant's data", () => {
  it('answer 404 for a dataset of another tenant or none, and store, write and start nothing', async () => {
    // Prepare
    const bucket = fixture.platform.emulators.bucketName;
    await fixture.platform.runtime.blobs.put('other/sets/theirs/a.png', await scene(8), 'image/png');
    const theirs = `s3://${bucket}/other/sets/theirs/`;
    const jobsBefore = await fixture.api.get<{ jobs: unknown[] }>('/api/v1/jobs', { limit: 100 });
    await fixture.platform.runtime.clients.s3.send(new CreateBucketCommand({ Bucket: 'their-copy' }));

    // Act
    const answers = await Promise.all([
      fixture.api.post('/api/v1/validate/batch', { dataset_dir: theirs }),
      fixture.api.post('/api/v1/validate/batch', { dataset_dir: '01JD3X2K8Q7YV4N6B5M9T0RWZC' }),
      fixture.api.post('/api/v1/profiles', { name: 'theirs', source: { s3_prefix: theirs } }),
      fixture.api.post('/api/v1/export/jsonl', { dataset_dir: theirs, output_file: 'theirs.jsonl' }),
      fixture.api.post('/api/v1/export/s3', { dataset_dir: theirs, bucket_name: 'their-copy' }),
    ]);

    // Assess
    for (const answer of answers) expectError(answer, 404, 'NOT_FOUND');
    const jobsAfter = await fixture.api.get<{ jobs: unknown[] }>('/api/v1/jobs', { limit: 100 });
    expect(jobsAfter.body.jobs.length).toBe(jobsBefore.body.jobs.length);
    expect(await fixture.platform.runtime.blobs.get(`${TENANT}/exports/theirs.jsonl`)).toBeUndefined();
    const copied = await fixture.platform.runtime.clients.s3.send(
      new ListObjectsV2Command({ Bucket: 'their-copy' }),
    );
    expect(copied.Contents ?? []).toEqual([]);
    expectError(await fixture.api.get('/api/v1/profiles/theirs'), 404, 'NOT_FOUND');
  });
});

describe('POST /api/v1/validate/privacy', () => {
  it('reads an e-mail and a card number in the image, with their regions, masked', async () => {
    // Prepare
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="220"><rect width="900" height="220" fill="white"/>
      <text x="20" y="80" font-family="DejaVu Sans" font-weight="bold" font-size="36">Contact jane.doe@example.com</text>
      <text x="20" y="160" font-family="DejaVu Sans" font-weight="bold" font-size="36">Card 4111 1111 1111 1111</text></svg>`;
    const image_path = await put('privacy/text.png', await sharp(Buffer.from(svg)).png().toBuffer());

    // Act
    const answer = await fixture.api.post<{
      pii_detected: boolean;
      text_detected: boolean;
      passed: boolean;
      privacy_score: number;
      detectors: string;
      issues: {
        type: string;
        pii_type?: string;
        region?: { x: number; y: number; width: number; height: number };
      }[];
    }>('/api/v1/validate/privacy', { image_path, check_faces: true, check_text: true });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.detectors).toBe('bundled');
    expect(answer.body.text_detected).toBe(true);
    expect(answer.body.pii_detected).toBe(true);
    expect(answer.body.passed).toBe(false);
    const types = answer.body.issues.filter((issue) => issue.type === 'pii').map((issue) => issue.pii_type);
    expect(types).toEqual(expect.arrayContaining(['email', 'card']));
    for (const issue of answer.body.issues.filter((i) => i.type === 'pii')) {
      expect(issue.region?.width).toBeGreaterThan(0);
      expect((issue.region?.x ?? -1) + (issue.region?.width ?? 0)).toBeLessThanOrEqual(900);
    }
    expect(answer.text).not.toContain('4111 1111 1111 1111');
    expect(answer.text).not.toContain('jane.doe@example.com');
  });

  it('counts the faces of a photograph', async () => {
    // Prepare: face-api's own sample photo (MIT), shipped in its package.
    const { readFile } = await import('node:fs/promises');
    const photo = await readFile('node_modules/@vladmandic/face-api/demo/sample1.jpg');
    const key = 'privacy/faces.jpg';
    await fixture.platform.runtime.blobs.put(`${TENANT}/${key}`, photo, 'image/jpeg');

    // Act
    const answer = await fixture.api.post<{ faces_detected: number; passed: boolean }>(
      '/api/v1/validate/privacy',
      {
        image_path: `s3://${fixture.platform.emulators.bucketName}/${TENANT}/${key}`,
        check_text: false,
      },
    );

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.faces_detected).toBeGreaterThan(0);
    expect(answer.body.passed).toBe(false);
  });
});

describe('profiles, batch validation and exports of a dataset', () => {
  it('computes a profile, validates the set as a job, exports it to JSONL and to another bucket with a manifest', async () => {
    // Prepare: three images under one prefix.
    for (const seed of [3, 4, 5]) await put(`sets/blocks/image-${seed}.png`, await scene(seed));
    const dataset_dir = 'sets/blocks/';

    // Act: a profile, as a job.
    const created = await fixture.api.post<{ job_id: string }>('/api/v1/profiles', {
      name: 'blocks',
      source: { s3_prefix: dataset_dir },
    });
    expect(created.status).toBe(202);
    expect((await waitForJob(fixture.api, created.body.job_id)).status).toBe('completed');
    const profile = await fixture.api.get<{ sample_count: number; statistics: { brightness_mean: number } }>(
      '/api/v1/profiles/blocks',
    );
    const list = await fixture.api.get<{ profiles: { name: string }[] }>('/api/v1/profiles');

    // Assess
    expect(profile.status).toBe(200);
    expect(profile.body.sample_count).toBe(3);
    expect(profile.body.statistics.brightness_mean).toBeGreaterThan(0);
    expect(list.body.profiles.map((p) => p.name)).toContain('blocks');
    expectError(await fixture.api.get('/api/v1/profiles/nothing-here'), 404, 'NOT_FOUND');

    // Act: an export that requires privacy validation is refused before one has passed.
    const gated = await fixture.api.post('/api/v1/export/jsonl', {
      dataset_dir,
      output_file: 'blocks.jsonl',
      require_privacy_validation: true,
    });
    expectError(gated, 409);

    // Act: the batch validation, as a job.
    const validation = await fixture.api.post<{ job_id: string }>('/api/v1/validate/batch', { dataset_dir });
    expect(validation.status).toBe(202);
    const job = await waitForJob(fixture.api, validation.body.job_id);
    expect(job.status).toBe('completed');
    const report = (await (await fetch(job.result_url ?? '')).json()) as {
      image_count: number;
      diversity: { mean_pairwise_ssim: number; diversity: number };
      privacy: { passed_count: number };
    };
    expect(report.image_count).toBe(3);
    expect(report.diversity.mean_pairwise_ssim).toBeLessThan(1);
    expect(report.privacy.passed_count).toBe(3);

    // Act: the JSONL export, now allowed by the gate.
    const jsonl = await fixture.api.post<{
      exported_count: number;
      output_file: string;
      output_url?: string;
      file_size_bytes: number;
    }>('/api/v1/export/jsonl', {
      dataset_dir,
      output_file: 'blocks.jsonl',
      require_privacy_validation: true,
    });
    expect(jsonl.status).toBe(200);
    expect(jsonl.headers.get('x-ratelimit-limit')).toBeTruthy();
    expect(jsonl.body.exported_count).toBe(3);
    const file = await fixture.platform.runtime.blobs.get(`${TENANT}/exports/blocks.jsonl`);
    const downloaded = await fetch(jsonl.body.output_url ?? '');
    expect(new Uint8Array(await downloaded.arrayBuffer())).toEqual(file);
    const lines = new TextDecoder()
      .decode(file)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { image_uri: string; sha256: string; width: number });
    expect(lines).toHaveLength(3);
    expect(jsonl.body.file_size_bytes).toBe(file?.byteLength);
    for (const line of lines) {
      const key = line.image_uri.replace(`s3://${fixture.platform.emulators.bucketName}/`, '');
      const bytes = await fixture.platform.runtime.blobs.get(key);
      expect(line.sha256).toBe(
        createHash('sha256')
          .update(bytes ?? new Uint8Array())
          .digest('hex'),
      );
      expect(line.width).toBe(256);
    }

    // Act: the S3 export to the user's own bucket.
    const s3 = fixture.platform.runtime.clients.s3;
    await s3.send(new CreateBucketCommand({ Bucket: 'my-synthetic-data' }));
    const exported = await fixture.api.post<{
      uploaded_count: number;
      failed_count: number;
      manifest_url: string;
    }>('/api/v1/export/s3', {
      dataset_dir,
      bucket_name: 'my-synthetic-data',
      s3_prefix: 'datasets/blocks/v1',
    });

    // Assess: the manifest lists every object with its size and SHA-256.
    expect(exported.status).toBe(200);
    expect(exported.body).toMatchObject({
      uploaded_count: 3,
      failed_count: 0,
      manifest_url: 's3://my-synthetic-data/datasets/blocks/v1/manifest.json',
    });
    const manifestObject = await s3.send(
      new GetObjectCommand({ Bucket: 'my-synthetic-data', Key: 'datasets/blocks/v1/manifest.json' }),
    );
    const manifest = JSON.parse((await manifestObject.Body?.transformToString()) ?? '{}') as {
      objects: { key: string; size_bytes: number; sha256: string }[];
    };
    expect(manifest.objects).toHaveLength(3);
    for (const entry of manifest.objects) {
      const object = await s3.send(new GetObjectCommand({ Bucket: 'my-synthetic-data', Key: entry.key }));
      const bytes = await object.Body?.transformToByteArray();
      expect(bytes?.byteLength).toBe(entry.size_bytes);
      expect(
        createHash('sha256')
          .update(bytes ?? new Uint8Array())
          .digest('hex'),
      ).toBe(entry.sha256);
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'my-synthetic-data' }));
    expect(listed.Contents?.length).toBeGreaterThanOrEqual(4);

    // Act: public_read is refused unless the stage allows it; the data bucket is never a destination.
    expectError(
      await fixture.api.post('/api/v1/export/s3', {
        dataset_dir,
        bucket_name: 'my-synthetic-data',
        public_read: true,
      }),
      403,
    );
    expectError(
      await fixture.api.post('/api/v1/export/s3', {
        dataset_dir,
        bucket_name: fixture.platform.emulators.bucketName,
      }),
      403,
    );
  });
});

describe('a profile conditioning the shapes generator', () => {
  it("moves the generated frames' brightness toward a dark profile's", async () => {
    // Prepare: a profile of dark images.
    for (const seed of [6, 7]) {
      const dark = await sharp(await scene(seed))
        .linear(0.25, 0)
        .png()
        .toBuffer();
      await put(`sets/dark/image-${seed}.png`, dark);
    }
    const created = await fixture.api.post<{ job_id: string }>('/api/v1/profiles', {
      name: 'dark',
      source: { s3_prefix: 'sets/dark/' },
    });
    expect((await waitForJob(fixture.api, created.body.job_id)).status).toBe('completed');
    const profile = await fixture.api.get<{ statistics: { brightness_mean: number } }>(
      '/api/v1/profiles/dark',
    );
    const run = (profile_: string) => ({
      name: 'shapes',
      is_preview: false,
      param_values: {
        seed: 7,
        frames: 1,
        image_width: 128,
        image_height: 128,
        background: 'solid',
        profile: profile_,
      },
    });

    // Act: the same scene without and with the profile.
    const submitted = await fixture.api.post<{ id: string; job_runs: { id: string }[] }>('/api/v1/batches', {
      job_runs: [run(''), run('dark')],
    });
    expect(submitted.status, submitted.text).toBe(202);
    await waitForBatch(fixture.api, submitted.body.id);
    const brightness = async (jobId: string) => {
      const answer = await fixture.api.post<Quality>('/api/v1/validate/quality', {
        image_path: `${jobId}/frames/frame_0000.png`,
        metrics: ['brightness'],
      });
      expect(answer.status).toBe(200);
      return answer.body.metrics.brightness;
    };
    const [plain, steered] = await Promise.all(submitted.body.job_runs.map((job) => brightness(job.id)));

    // Assess
    const target = profile.body.statistics.brightness_mean;
    expect(Math.abs((steered ?? 0) - target)).toBeLessThan(Math.abs((plain ?? 0) - target) / 2);
    expectError(
      await fixture.api.post('/api/v1/batches', { job_runs: [run('no-such-profile')] }),
      404,
      'NOT_FOUND',
    );
  });
});
