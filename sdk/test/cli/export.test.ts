/**
 * `synthforge export jsonl | s3` against the local platform, in process. An export of more than one
 * image runs as a job here, so that both the answer within the request and the job are seen; another
 * bucket of the S3 emulator stands for the user's own.
 */
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../../../test/support/platform.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { runInProcess } from '../support/cli.ts';
import { devClient, finishedImageBatch, greyPng } from '../support/datasets.ts';

const fixture = usePlatform({ datasets: { syncExportLimit: 1 } });
const USER_BUCKET = 'my-synthetic-data';
let bucket: string;
let batchId: string;

const cli = (argv: string[]) =>
  runInProcess(argv, {
    env: { SYNTHFORGE_API_URL: fixture.platform.url, SYNTHFORGE_API_KEY: fixture.platform.devKey },
  });

/** The lines of a file the JSONL export wrote, read from the data bucket by its `s3://` URI. */
async function exportedLines(uri: string): Promise<Record<string, unknown>[]> {
  const bytes = await fixture.platform.runtime.blobs.get(uri.slice(`s3://${bucket}/`.length));
  if (!bytes) throw new Error(`${uri} was not written`);
  return new TextDecoder()
    .decode(bytes)
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
}

beforeAll(async () => {
  // Prepare: one upload, one upload of another tenant, a finished batch of two images, the user's bucket.
  const { blobs, clients } = fixture.platform.runtime;
  bucket = blobs.bucket;
  await blobs.put('dev/single/grey.png', greyPng(16, 8, 90), 'image/png');
  await blobs.put('acme/single/theirs.png', greyPng(16, 8, 90), 'image/png');
  await clients.s3.send(new CreateBucketCommand({ Bucket: USER_BUCKET }));
  batchId = await finishedImageBatch(devClient(fixture), ['amber stars', 'teal circles']);
});

describe('synthforge export jsonl', () => {
  it('exports a small dataset within the request', async () => {
    // Act
    const run = await cli(['export', 'jsonl', 'single/', 'single.jsonl']);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toMatch(
      new RegExp(`^Exported 1 image to s3://${bucket}/dev/exports/single\\.jsonl \\(\\d+ B\\)\\n`),
    );
    expect(run.stderr).toBe('');
    expect(await exportedLines(`s3://${bucket}/dev/exports/single.jsonl`)).toEqual([
      expect.objectContaining({ file_name: 'grey.png', width: 16, height: 8 }),
    ]);
  });

  it('waits for a larger export run as a job, and leaves metadata out when asked', async () => {
    // Act
    const run = await cli(['export', 'jsonl', batchId, 'batch.jsonl', '--no-metadata', '--json']);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stderr).toMatch(
      new RegExp(
        `^The export of ${batchId} \\(2 images\\) runs as job ([0-9A-Z]{26}): follow it with synthforge jobs show \\1\\n`,
      ),
    );
    const result = JSON.parse(run.stdout) as { exported_count: number; output_file: string };
    expect(result).toMatchObject({ status: 'success', exported_count: 2 });
    const lines = await exportedLines(result.output_file);
    expect(lines).toHaveLength(2);
    expect(lines.map((line) => line.metadata)).toEqual([undefined, undefined]);
  });

  it('prints the started job with --no-wait', async () => {
    // Act
    const run = await cli(['export', 'jsonl', batchId, 'later.jsonl', '--no-wait']);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toMatch(/^The export of .* \(2 images\) runs as job [0-9A-Z]{26}: follow it with/);
    // The job goes on without the command; it ends before the platform stops.
    const jobId = /job ([0-9A-Z]{26})/.exec(run.stdout)?.[1] ?? '';
    const client = devClient(fixture);
    await expect(client.waitForDatasetJob(jobId, { pollMs: 25 })).resolves.toMatchObject({
      exported_count: 2,
    });
  });

  it('names each object it left out because it is no image', async () => {
    // Prepare
    const { blobs } = fixture.platform.runtime;
    await blobs.put('dev/mixed/good.png', greyPng(8, 8, 200), 'image/png');
    await blobs.put('dev/mixed/bad.png', new TextEncoder().encode('no png'), 'image/png');

    // Act
    const run = await cli(['export', 'jsonl', 'mixed/', 'mixed.jsonl']);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toMatch(
      /^Exported 1 image to s3:\/\/.*\/dev\/exports\/mixed\.jsonl \(\d+ B\)\n {2}skipped bad\.png: .+\n$/,
    );
  });

  it("exits 2 for another tenant's prefix and for an output name the server refuses", async () => {
    // Act
    const theirs = await cli(['export', 'jsonl', `s3://${bucket}/acme/single/`, 'stolen.jsonl']);
    const badName = await cli(['export', 'jsonl', 'single/', 'single.csv']);

    // Assess
    expect(theirs.code).toBe(EXIT.usage);
    expect(theirs.stderr).toMatch(/^error: .*\(HTTP 404, NOT_FOUND/);
    expect(badName.code).toBe(EXIT.usage);
    expect(badName.stderr).toMatch(/^error: .*output_file.*\(HTTP 400, INVALID_PARAMETERS/);
  });
});

describe('synthforge export s3', () => {
  it("copies a batch to the user's bucket with a manifest", async () => {
    // Act
    const run = await cli(['export', 's3', batchId, USER_BUCKET, '--prefix', 'sets/stars/']);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toMatch(
      new RegExp(
        `^Export to s3://${USER_BUCKET}/sets/stars/?: success, 2 images uploaded \\([0-9.]+ (B|KiB)\\)\\n {2}manifest: s3://${USER_BUCKET}/sets/stars/manifest\\.json\\n$`,
      ),
    );
    const manifest = await fixture.platform.runtime.clients.s3.send(
      new GetObjectCommand({ Bucket: USER_BUCKET, Key: 'sets/stars/manifest.json' }),
    );
    const listed = JSON.parse((await manifest.Body?.transformToString()) ?? '{}') as { objects: unknown[] };
    expect(listed.objects).toHaveLength(2);
  });

  it('exits 2 for public objects the stage does not allow', async () => {
    const run = await cli(['export', 's3', 'single/', USER_BUCKET, '--public-read', '--json']);
    expect(run.code).toBe(EXIT.usage);
    expect(JSON.parse(run.stderr)).toMatchObject({ error: { status: 403, exit_code: 2 } });
  });
});
