/**
 * `synthforge images validate PATH | --batch ID`: seed 001's quality and privacy validation from the
 * shell. One image is measured at once (quality by default, `--privacy` for privacy, both with
 * `--all`); a batch or prefix is validated as a job, waited for, and summed up. The exit status says
 * whether everything passed (0) or not (1), so that a script can gate on it.
 */
import type { ApiClient } from '../../api-client.ts';
import type { BatchValidationReport } from '../../dataset-jobs.ts';
import type { PrivacyReport, QualityReport, QualityRequest } from '../../resources.ts';
import { type Command, defineCommand } from '../command.ts';
import { DATASET_WAIT_OPTIONS, followDatasetJob, waitTimeoutOf } from '../dataset-jobs.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { plural, table } from '../format.ts';

/** Failed images a batch summary lists; `--json` has them all. */
const FAILED_LISTED = 20;

type Thresholds = NonNullable<QualityRequest['thresholds']>;

/** `--metrics sharpness,noise --metrics contrast` → the names, in order. */
export function metricsOf(values: readonly string[] | undefined): string[] | undefined {
  const names = (values ?? []).flatMap((value) => value.split(',')).map((name) => name.trim());
  const given = names.filter((name) => name !== '');
  return given.length === 0 ? undefined : given;
}

/** `--threshold sharpness_min=50` (repeatable) → the request's thresholds; names are the server's to check. */
export function thresholdsOf(values: readonly string[] | undefined): Thresholds | undefined {
  if (!values || values.length === 0) return undefined;
  // Entries, not assignments: `__proto__=1` must become a key the server refuses, not vanish.
  const thresholds: [string, number][] = [];
  for (const text of values) {
    const match = /^([a-z_]+)=(.+)$/.exec(text.trim());
    const value = Number(match?.[2]);
    if (!match?.[1] || match[2]?.trim() === '' || !Number.isFinite(value)) {
      throw new UsageError(
        `--threshold takes NAME=NUMBER, such as sharpness_min=50, got ${JSON.stringify(text)}`,
      );
    }
    thresholds.push([match[1], value]);
  }
  return Object.fromEntries(thresholds) as Thresholds;
}

/**
 * What to check: the flags given, else the default (an image: quality; a batch: both, as the
 * server's default is).
 */
function checksOf(values: { quality?: boolean; privacy?: boolean; all?: boolean }, batch: boolean) {
  if (values.all) return { quality: true, privacy: true };
  if (!values.quality && !values.privacy) return { quality: true, privacy: batch };
  return { quality: values.quality === true, privacy: values.privacy === true };
}

export const validateImagesCommand: Command = defineCommand({
  words: ['images', 'validate'],
  summary: "Check an image's (or a whole batch's) quality and privacy; exit 1 when it does not pass.",
  details: [
    [
      'PATH is one of your images: an s3:// URI under your prefix (as images generate prints it), an',
      "image job's id, or JOB_ID/FRAME (a frame of a generation job's result). Quality measures sharpness,",
      'contrast, noise, brightness and colourfulness against thresholds; privacy looks for faces, text and',
      'personal data. --batch validates every image of a batch (or a prefix of your data) as a job, with',
      "the set's diversity, and waits for its report (both checks unless one is named).",
    ].join('\n'),
  ],
  positionals: [{ name: 'PATH', description: 'the image (leave out with --batch)', required: false }],
  options: {
    batch: {
      type: 'string',
      description: 'validate every image of this batch (or prefix of your data) as a job',
      placeholder: 'ID',
    },
    quality: { type: 'boolean', description: 'check quality (the default for one image)' },
    privacy: { type: 'boolean', description: 'check privacy: faces, text, personal data' },
    all: { type: 'boolean', description: 'check both' },
    metrics: {
      type: 'string',
      multiple: true,
      description: 'quality metrics, comma-separated: sharpness, contrast, noise, brightness, colourfulness',
      placeholder: 'LIST',
    },
    threshold: {
      type: 'string',
      multiple: true,
      description: 'a quality threshold, e.g. sharpness_min=50 or brightness_max=0.8',
      placeholder: 'NAME=VALUE',
    },
    'no-faces': { type: 'boolean', description: 'privacy without face detection' },
    'no-text': { type: 'boolean', description: 'privacy without text and personal data detection' },
    ...DATASET_WAIT_OPTIONS,
  },
  examples: [
    'synthforge images validate s3://synthforge-data/dev/jobs/01JD3X2K8Q7YV4N6B5M9T0RWZC/image.png',
    'synthforge images validate 01JD3X2K8Q7YV4N6B5M9T0RWZC --all --metrics sharpness,noise',
    'synthforge images validate --batch 01JD3X2K8Q7YV4N6B5M9T0RWZC --quality --threshold sharpness_min=50',
  ],
  async run(ctx, { values, args: [path] }) {
    if ((path === undefined) === (values.batch === undefined)) {
      throw new UsageError('give either an image PATH or --batch ID, not both and not neither');
    }
    const metrics = metricsOf(values.metrics);
    const thresholds = thresholdsOf(values.threshold);
    const checks = checksOf(values, values.batch !== undefined);
    const privacyOptions = { check_faces: !values['no-faces'], check_text: !values['no-text'] };
    const timeoutMs = waitTimeoutOf(values);
    const client = (await ctx.manager()).client;
    const call = { signal: ctx.signal };

    if (values.batch !== undefined) {
      const accepted = await client.validateImageBatch(
        {
          dataset_dir: values.batch,
          ...checks,
          ...(metrics ? { metrics } : {}),
          ...(thresholds ? { thresholds } : {}),
          ...privacyOptions,
        },
        call,
      );
      const report = await followDatasetJob(ctx, client, accepted, 'image-validation', {
        wait: !values['no-wait'],
        timeoutMs,
        what: `The validation of ${values.batch}`,
      });
      if (!report) return EXIT.ok;
      ctx.result(report, renderBatchReport);
      return report.passed ? EXIT.ok : EXIT.jobsFailed;
    }

    const image = path ?? '';
    const [quality, privacy] = await Promise.all([
      checks.quality ? qualityOf(client, image, metrics, thresholds, call) : undefined,
      checks.privacy
        ? client.validateImagePrivacy({ image_path: image, ...privacyOptions }, call)
        : undefined,
    ]);
    const passed = (quality?.passed ?? true) && (privacy?.passed ?? true);
    const both = quality && privacy ? { image_path: image, passed, quality, privacy } : undefined;
    ctx.result(both ?? quality ?? privacy, () =>
      [quality && renderQuality(quality), privacy && renderPrivacy(privacy)]
        .filter((part) => part !== undefined)
        .join('\n'),
    );
    return passed ? EXIT.ok : EXIT.jobsFailed;
  },
});

function qualityOf(
  client: ApiClient,
  image: string,
  metrics: string[] | undefined,
  thresholds: Thresholds | undefined,
  call: { signal: AbortSignal },
) {
  return client.validateImageQuality(
    {
      image_path: image,
      ...(metrics ? { metrics } : {}),
      ...(thresholds ? { thresholds } : {}),
    },
    call,
  );
}

const verdict = (passed: boolean) => (passed ? 'passed' : 'FAILED');

/** A metric's value, short: four significant digits at most. */
function short(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

/** `Quality of PATH (96×64): passed, score 0.71` and one row per metric with its thresholds. */
export function renderQuality(report: QualityReport): string {
  const checksOfMetric = (metric: string) => report.checks.filter((check) => check.metric === metric);
  const measured = Object.entries(report.metrics).filter(
    (entry): entry is [string, number] => entry[1] !== undefined,
  );
  const otherChecks = report.checks.filter((check) => !(check.metric in report.metrics));
  const rows = [
    ...measured.map(([metric, value]) => [metric, value, checksOfMetric(metric)] as const),
    ...otherChecks.map((check) => [check.metric, check.value, [check]] as const),
  ].map(([metric, value, checks]) => [
    metric,
    short(value),
    checks.map((check) => `${check.comparison === 'min' ? '≥' : '≤'} ${short(check.threshold)}`).join(', '),
    checks.length === 0 ? '' : checks.every((check) => check.passed) ? 'ok' : 'FAIL',
  ]);
  return [
    `Quality of ${report.image_path} (${report.width}×${report.height}): ${verdict(report.passed)}, score ${short(report.quality_score)}`,
    table(
      ['  METRIC', 'VALUE', 'THRESHOLD', 'RESULT'],
      rows.map(([first, ...rest]) => [`  ${first}`, ...rest]),
    ).trimEnd(),
  ].join('\n');
}

/** `Privacy of PATH: FAILED, score 40/100` and one line per finding, with its region. */
export function renderPrivacy(report: PrivacyReport): string {
  const lines = [
    `Privacy of ${report.image_path}: ${verdict(report.passed)}, score ${short(report.privacy_score)}/100 (${report.detectors} detectors)`,
    `  ${plural(report.faces_detected, 'face')}, text ${report.text_detected ? 'found' : 'none'}, personal data ${report.pii_detected ? 'found' : 'none'}`,
  ];
  for (const issue of report.issues) {
    const where = issue.region
      ? ` at ${Math.round(issue.region.x)},${Math.round(issue.region.y)} ${Math.round(issue.region.width)}×${Math.round(issue.region.height)}`
      : '';
    const confidence = issue.confidence === undefined ? '' : ` (confidence ${short(issue.confidence)})`;
    lines.push(
      `  ${issue.severity} ${issue.type}${issue.pii_type ? ` ${issue.pii_type}` : ''}${where}: ${issue.message}${confidence}`,
    );
  }
  return lines.join('\n');
}

/** The report's summary: counts, quality means, diversity, privacy, and the images that failed. */
export function renderBatchReport(report: BatchValidationReport): string {
  const lines = [
    `Validation of ${report.dataset_dir}: ${verdict(report.passed)}, ${report.passed_count} of ${plural(report.image_count, 'image')} passed`,
  ];
  if (report.quality) {
    const means = Object.entries(report.quality.means)
      .filter((entry): entry is [string, number] => entry[1] !== undefined)
      .map(([metric, value]) => `${metric} ${short(value)}`)
      .join(', ');
    lines.push(
      `  quality: ${report.quality.passed_count} passed, mean score ${short(report.quality.mean_quality_score)}${means ? `; means: ${means}` : ''}`,
    );
  }
  if (report.diversity) {
    lines.push(
      `  diversity: ${short(report.diversity.diversity)} (mean pairwise SSIM ${short(report.diversity.mean_pairwise_ssim)} over ${plural(report.diversity.pairs, 'pair')})`,
    );
  }
  if (report.privacy) {
    const privacy = report.privacy;
    lines.push(
      `  privacy: ${privacy.passed_count} passed; ${plural(privacy.faces_detected, 'face')}, ${plural(privacy.text_images, 'image')} with text, ${privacy.pii_images} with personal data`,
    );
  }
  const failed = report.images.filter((image) => !image.passed);
  if (failed.length > 0) {
    lines.push('Failed:');
    for (const image of failed.slice(0, FAILED_LISTED))
      lines.push(`  ${image.image_path}: ${whyFailed(image)}`);
    if (failed.length > FAILED_LISTED) lines.push(`  … ${failed.length - FAILED_LISTED} more (see --json)`);
  }
  return lines.join('\n');
}

function whyFailed(image: BatchValidationReport['images'][number]): string {
  if (image.error) return image.error;
  const reasons = (image.quality?.checks ?? [])
    .filter((check) => !check.passed)
    .map(
      (check) =>
        `${check.metric} ${short(check.value)} ${check.comparison === 'min' ? '<' : '>'} ${short(check.threshold)}`,
    );
  if (image.privacy && !image.privacy.passed) {
    reasons.push(`privacy: ${image.privacy.issues.map((issue) => issue.type).join(', ') || 'not passed'}`);
  }
  return reasons.join('; ') || 'not passed';
}
