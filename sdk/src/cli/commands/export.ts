/**
 * `synthforge export jsonl DATASET OUTPUT_FILE | s3 DATASET BUCKET`: seed 001's exports of a batch
 * or prefix, to a JSONL file under your exports/ or to your own S3 bucket with a manifest. A small
 * dataset is exported within the request; a large one runs as a job, which is waited for unless
 * `--no-wait`. An S3 export that wrote only part of the images exits 1.
 */
import type { ApiClient } from '../../api-client.ts';
import {
  type DatasetJobResults,
  isDatasetJobAccepted,
  type JsonlExport,
  type S3Export,
} from '../../dataset-jobs.ts';
import { SynthForgeError } from '../../errors.ts';
import type { DatasetJobAccepted } from '../../resources.ts';
import { type Command, defineCommand, type OptionSpecs } from '../command.ts';
import type { CliContext } from '../context.ts';
import { DATASET_WAIT_OPTIONS, followDatasetJob, waitTimeoutOf } from '../dataset-jobs.ts';
import { EXIT } from '../exit-codes.ts';
import { formatBytes, plural } from '../format.ts';

const DATASET = {
  name: 'DATASET',
  description: 'a batch id, or a prefix of your data (uploads/2026/, or an s3:// URI under your prefix)',
};

const EXPORT_OPTIONS = {
  'no-metadata': { type: 'boolean', description: "leave out each image's job, batch and parameters" },
  'require-privacy': {
    type: 'boolean',
    description: 'refuse unless the dataset passed a privacy validation (images validate --batch)',
  },
  ...DATASET_WAIT_OPTIONS,
} as const satisfies OptionSpecs;

/**
 * Sends an export and settles it: the export when it was answered within the request; for one that
 * runs as a job, its result once waited for, or nothing with `--no-wait` (the job is printed).
 */
async function runExport<T extends object>(
  ctx: CliContext,
  values: { 'no-wait'?: boolean | undefined; timeout?: string | undefined },
  what: string,
  send: (client: ApiClient) => Promise<T | DatasetJobAccepted>,
): Promise<T | DatasetJobResults['image-export'] | undefined> {
  const timeoutMs = waitTimeoutOf(values);
  const client = (await ctx.manager()).client;
  const answer = await send(client);
  if (!isDatasetJobAccepted(answer)) return answer;
  return followDatasetJob(ctx, client, answer, 'image-export', {
    wait: !values['no-wait'],
    timeoutMs,
    what,
    // The route answers at once when it can: say why this one waits.
    announce: true,
  });
}

export const exportCommands: Command[] = [
  defineCommand({
    words: ['export', 'jsonl'],
    summary: 'Write one JSON line per image of a dataset (metadata, COCO annotations) under your exports/.',
    positionals: [
      DATASET,
      { name: 'OUTPUT_FILE', description: 'a name ending in .jsonl, under your exports/ folder' },
    ],
    options: {
      'no-annotations': { type: 'boolean', description: "leave out each frame's COCO annotations" },
      ...EXPORT_OPTIONS,
    },
    examples: [
      'synthforge export jsonl 01JD3X2K8Q7YV4N6B5M9T0RWZC nature_set.jsonl',
      'synthforge export jsonl uploads/2026/ uploads.jsonl --no-annotations --json',
    ],
    async run(ctx, { values, args: [dataset = '', outputFile = ''] }) {
      const result = await runExport(ctx, values, `The export of ${dataset}`, (client) =>
        client.exportJsonl(
          {
            dataset_dir: dataset,
            output_file: outputFile,
            include_metadata: !values['no-metadata'],
            include_annotations: !values['no-annotations'],
            require_privacy_validation: values['require-privacy'] === true,
          },
          { signal: ctx.signal },
        ),
      );
      if (result === undefined) return EXIT.ok;
      if (!('exported_count' in result)) throw unexpected('JSONL', result);
      ctx.result(result, describeJsonl);
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['export', 's3'],
    summary: 'Copy the images of a dataset to your own S3 bucket, with a manifest of sizes and SHA-256.',
    details: [
      [
        "The bucket must let the stack's export role write (s3:PutObject) and be one the stage exports",
        'to. Objects are written to PREFIX/FILE_NAME, then metadata.jsonl and manifest.json.',
      ].join('\n'),
    ],
    positionals: [DATASET, { name: 'BUCKET', description: 'your bucket' }],
    options: {
      prefix: {
        type: 'string',
        description: 'the key prefix in the bucket (default: none)',
        placeholder: 'P',
      },
      'public-read': {
        type: 'boolean',
        description: 'make the objects readable by anyone (refused unless the stage allows it)',
      },
      ...EXPORT_OPTIONS,
    },
    examples: ['synthforge export s3 01JD3X2K8Q7YV4N6B5M9T0RWZC my-datasets --prefix synthforge/nature/'],
    async run(ctx, { values, args: [dataset = '', bucket = ''] }) {
      const result = await runExport(ctx, values, `The export of ${dataset} to s3://${bucket}`, (client) =>
        client.exportS3(
          {
            dataset_dir: dataset,
            bucket_name: bucket,
            s3_prefix: values.prefix ?? '',
            include_metadata: !values['no-metadata'],
            public_read: values['public-read'] === true,
            require_privacy_validation: values['require-privacy'] === true,
          },
          { signal: ctx.signal },
        ),
      );
      if (result === undefined) return EXIT.ok;
      if (!('uploaded_count' in result)) throw unexpected('S3', result);
      ctx.result(result, describeS3);
      return result.status === 'success' ? EXIT.ok : EXIT.jobsFailed;
    },
  }),
];

/** A job's result of the other export's shape: an answer off the contract, as the client reports one. */
function unexpected(kind: string, result: object): SynthForgeError {
  return new SynthForgeError({
    status: 200,
    code: 'INVALID_RESPONSE',
    message: `the export job answered no ${kind} export: ${JSON.stringify(result).slice(0, 200)}`,
  });
}

function describeJsonl(result: JsonlExport): string {
  return [
    `Exported ${plural(result.exported_count, 'image')} to ${result.output_file} (${formatBytes(result.file_size_bytes)})`,
    ...(result.skipped ?? []).map((skipped) => `  skipped ${skipped.file_name}: ${skipped.error}`),
  ].join('\n');
}

function describeS3(result: S3Export): string {
  const where = `s3://${result.bucket_name}/${result.s3_prefix}`;
  const lines = [
    `Export to ${where}: ${result.status}, ${plural(result.uploaded_count, 'image')} uploaded (${formatBytes(result.total_size_bytes)})` +
      (result.failed_count > 0 ? `, ${result.failed_count} failed` : '') +
      (result.retries > 0 ? `, ${plural(result.retries, 'retry', 'retries')}` : ''),
    `  manifest: ${result.manifest_url}`,
  ];
  for (const failure of result.failures ?? []) lines.push(`  failed ${failure.file_name}: ${failure.error}`);
  return lines.join('\n');
}
