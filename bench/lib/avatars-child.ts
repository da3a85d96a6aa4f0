/**
 * One end-to-end avatarization in a process of its own (B13), so that its peak memory is its own and
 * not the suite's: `node --import tsx avatars-child.ts '<AvatarRun>'`. Reads the CSV file, then
 * times what a job does with its bytes: parse → impute (mean) → avatarize → the shuffled avatars as
 * CSV bytes. Prints one answer line (ANSWER_PREFIX + AvatarMeasurement) and exits.
 *
 * The peak resident set is `process.resourceUsage().maxRSS`: the whole process, the kNN's worker
 * threads included (they share its heap's process), from its start to the answer.
 */
import { readFileSync } from 'node:fs';
import { avatarize } from '../../lambdas/domain/avatars/engine/avatarize.ts';
import { formatTable, parseTable } from '../../lambdas/domain/avatars/engine/csv.ts';
import { hasMissing, impute } from '../../lambdas/domain/avatars/engine/impute.ts';
import { computePrivacyMetrics } from '../../lambdas/domain/avatars/engine/metrics/privacy.ts';
import { computeSignalMetrics } from '../../lambdas/domain/avatars/engine/metrics/signal.ts';
import { answer } from './server-process.ts';

export interface AvatarRun {
  file: string;
  k: number;
  ncp: number;
  seed: number;
  threads: number;
  /** Also time the privacy and signal metrics of the avatars, after the peak memory is read. */
  metrics: boolean;
}

export interface MetricsMeasurement {
  privacySeconds: number;
  signalSeconds: number;
  hiddenRate: number;
  localCloaking: number;
  distanceToClosest: number;
  closestDistancesRatio: number;
  hellingerMean: number;
}

export interface AvatarMeasurement {
  rows: number;
  columns: number;
  csvBytes: number;
  outputBytes: number;
  /** Seconds per step, and their sum. */
  parse: number;
  impute: number;
  avatarize: number;
  format: number;
  total: number;
  /** Seconds of each of avatarize's steps, as its progress reports them. */
  avatarizeSteps: Record<string, number>;
  /** Peak resident set of the process, bytes. */
  maxRssBytes: number;
  metrics?: MetricsMeasurement;
}

const run = JSON.parse(process.argv[2] ?? '') as AvatarRun;
const bytes = new Uint8Array(readFileSync(run.file));

const seconds = (since: number) => (performance.now() - since) / 1000;
let started = performance.now();
const table = parseTable(bytes);
const parse = seconds(started);

started = performance.now();
const filled = hasMissing(table) ? impute(table, 'mean') : table;
const imputed = seconds(started);

const avatarizeSteps: Record<string, number> = {};
let step: { name: string; started: number } | undefined;
const endStep = () => {
  if (step) avatarizeSteps[step.name] = seconds(step.started);
};
started = performance.now();
const avatars = await avatarize(filled, {
  k: run.k,
  ncp: run.ncp,
  seed: run.seed,
  threads: run.threads,
  onProgress: (_share, name) => {
    endStep();
    step = { name, started: performance.now() };
  },
});
endStep();
const avatarized = seconds(started);

started = performance.now();
const output = new TextEncoder().encode(formatTable(avatars.shuffled));
const format = seconds(started);

const measurement: AvatarMeasurement = {
  rows: table.rowCount,
  columns: table.columns.length,
  csvBytes: bytes.byteLength,
  outputBytes: output.byteLength,
  parse,
  impute: imputed,
  avatarize: avatarized,
  format,
  total: parse + imputed + avatarized + format,
  // resourceUsage reports kilobytes.
  avatarizeSteps,
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
};
if (run.metrics) measurement.metrics = await metrics();
answer(measurement);

async function metrics(): Promise<MetricsMeasurement> {
  let started = performance.now();
  const privacy = await computePrivacyMetrics(filled, avatars.unshuffled, { ncp: run.ncp });
  const privacySeconds = seconds(started);
  started = performance.now();
  const signal = computeSignalMetrics(filled, avatars.shuffled);
  return {
    privacySeconds,
    signalSeconds: seconds(started),
    hiddenRate: privacy.hidden_rate,
    localCloaking: privacy.local_cloaking,
    distanceToClosest: privacy.distance_to_closest,
    closestDistancesRatio: privacy.closest_distances_ratio,
    hellingerMean: signal.hellinger_mean,
  };
}
