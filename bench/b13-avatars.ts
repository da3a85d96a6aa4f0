/**
 * B13, the avatar engine at the users' scale (issue 14):
 * - kNN: all-kNN with k = 20 in 5 dimensions. `allKnnParallel` (2 threads, as `avatarize` calls
 *   it) against the O(n²) brute force at 10k rows, where the brute force takes a second or two,
 *   interleaved; the KD-tree's time at 100k against the ≤ 1.5 s target; and its neighbours against
 *   the brute force's on 2k rows, which must be the same (an ERROR row if not).
 * - End to end, from CSV bytes: parse → impute (1 % missing cells, mean) → avatarize (k 20, ncp 5)
 *   → the shuffled avatars as CSV bytes, on 20 mixed columns generated from a seed, in a process
 *   of its own so that its peak memory is measured alone: 100k rows (target ≥ 20k rows/s), and in
 *   the full profile 1M rows (targets ≤ 60 s, ≤ 2 GB). Its ratio against a straightforward
 *   TypeScript pipeline (bench/lib/avatars-reference.ts) is measured at 10k rows: that pipeline's
 *   brute-force kNN would take minutes at 100k and hours at 1M.
 * - The privacy and signal metrics of the avatars, timed (informational): at 100k rows in the full
 *   profile, at 20k in the quick one.
 * - A table of metric values on the avatar paper's data sets: SynthForge's avatars against the
 *   paper's own avatars, synthpop and CTGAN (no ratios: values, next to their targets).
 *
 * Absolute times are informational: a target the issue states is reported as pass/fail against
 * the measured time (reference = the target), never asserted by a test.
 */
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { avatarize } from '../lambdas/domain/avatars/engine/avatarize.ts';
import { formatTable, parseTable } from '../lambdas/domain/avatars/engine/csv.ts';
import { hasMissing, impute } from '../lambdas/domain/avatars/engine/impute.ts';
import { bruteForceAllKnn } from '../lambdas/domain/avatars/engine/knn.ts';
import { allKnnParallel } from '../lambdas/domain/avatars/engine/knn-parallel.ts';
import { computePrivacyMetrics } from '../lambdas/domain/avatars/engine/metrics/privacy.ts';
import { computeSignalMetrics } from '../lambdas/domain/avatars/engine/metrics/signal.ts';
import {
  PRIVACY_TARGETS,
  type PrivacyMetricName,
  SIGNAL_TARGETS,
  type SignalMetricName,
} from '../lambdas/domain/avatars/engine/metrics/targets.ts';
import { createRandom } from '../lambdas/domain/avatars/engine/rng.ts';
import type { ColumnType, Points, Table } from '../lambdas/domain/avatars/engine/table.ts';
import type { AvatarMeasurement, AvatarRun } from './lib/avatars-child.ts';
import { straightforwardAvatars } from './lib/avatars-reference.ts';
import { bareEnv, runNode } from './lib/child.ts';
import { errorRow, fmt, type Row, row } from './lib/rows.ts';
import { ANSWER_PREFIX } from './lib/server-process.ts';
import { bootstrapMedianCi, median, pairedRatios } from './lib/stats.ts';

export interface B13Options {
  /** Measured rounds of each interleaved pair and of the 100k kNN (after one discarded round). */
  rounds: number;
  /** Rows of each end-to-end run in a process of its own. */
  endToEndRows: readonly number[];
  /**
   * Rows of the run whose privacy and signal metrics are timed (one of `endToEndRows`, or a run of
   * its own): local cloaking takes about two minutes at 100k rows on 2 cores.
   */
  metricsRows: number;
  log: (line: string) => void;
}

/** What B13 adds to the suite's output besides its rows: the metric comparison. */
export interface B13Output {
  rows: Row[];
  markdown: string;
  details: { metricComparison: MetricComparisonRow[] };
}

const K = 20;
const NCP = 5;
const THREADS = 2;
const SEED = 13;
/** The issue's targets (performance-targets B7). */
const KNN_100K_SECONDS = 1.5;
const ROWS_PER_SECOND = 20_000;
const MILLION_SECONDS = 60;
const MILLION_RSS_MIB = 2048;
const MiB = 1024 * 1024;

const CHILD_SCRIPT = fileURLToPath(new URL('./lib/avatars-child.ts', import.meta.url));
const DATA = new URL('../../shared/data/avatars/', import.meta.url);

export async function benchAvatars(options: B13Options): Promise<B13Output> {
  const load = `1-min load average ${loadavg()[0]!.toFixed(1)} at the start (${availableParallelism()} CPUs)`;
  options.log(`B13: ${load}`);
  const rows: Row[] = [];
  const attempt = async (label: string, measure: () => Promise<Row[]>) => {
    try {
      rows.push(...(await measure()));
    } catch (error) {
      options.log(`B13: ${label} failed: ${(error as Error).stack ?? error}`);
      rows.push(errorRow('B13', label, error));
    }
  };
  await attempt('kNN recall vs brute force', async () => [await knnRecallRow()]);
  await attempt('kNN 10k vs brute force', async () => [await knnRatioRow(options)]);
  await attempt('kNN 100k', async () => [await knnScaleRow(options, load)]);

  const scratch = await mkdtemp(join(tmpdir(), 'synthforge-b13-'));
  try {
    let measured100k: AvatarMeasurement | undefined;
    let measuredMetrics: AvatarMeasurement | undefined;
    const sizes = [...new Set([...options.endToEndRows, options.metricsRows])].sort((a, b) => a - b);
    for (const size of sizes) {
      const endToEnd = options.endToEndRows.includes(size);
      await attempt(endToEnd ? `end to end ${size} rows` : `metrics of ${size} avatars`, async () => {
        const measurement = await endToEndInChild(scratch, size, size === options.metricsRows, options);
        if (size === 100_000) measured100k = measurement;
        if (measurement.metrics) measuredMetrics = measurement;
        return endToEnd ? endToEndRows(measurement, load) : [];
      });
    }
    await attempt('end to end 10k vs a straightforward pipeline', async () => [
      await endToEndRatioRow(options, measured100k),
    ]);
    if (measuredMetrics) rows.push(metricsTimeRow(measuredMetrics));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  let comparison: MetricComparisonRow[] = [];
  await attempt('metric comparison (WBCD, AIDS)', async () => {
    comparison = await metricComparison(options);
    return [];
  });
  return {
    rows,
    markdown: metricComparisonMarkdown(comparison),
    details: { metricComparison: comparison },
  };
}

// ---------------------------------------------------------------------------------------------
// kNN

/**
 * Points as a projection gives them: 5 axes of decreasing spread (uniform, anisotropic, as the
 * kNN figures the targets come from were measured on).
 */
export function projectedPoints(count: number, seed: number, dims = 5): Points {
  const random = createRandom(seed);
  const data = new Float64Array(count * dims);
  for (let i = 0; i < data.length; i++) data[i] = random.next() * (1 - (i % dims) / (dims + 1));
  return { data, count, dims };
}

async function timedSeconds<T>(work: () => T | Promise<T>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

async function knnRecallRow(): Promise<Row> {
  const points = projectedPoints(2000, SEED);
  const expected = bruteForceAllKnn(points, K);
  // minParallelCount 0: the worker threads' path, which 2k rows would otherwise skip.
  const actual = await allKnnParallel(points, K, { threads: THREADS, minParallelCount: 0 });
  let found = 0;
  let sameOrder = 0;
  for (let i = 0; i < points.count; i++) {
    const wanted = new Set(expected.indices.subarray(i * K, (i + 1) * K));
    for (let r = 0; r < K; r++) {
      if (wanted.has(actual.indices[i * K + r]!)) found++;
      if (actual.indices[i * K + r] === expected.indices[i * K + r]) sameOrder++;
    }
  }
  const total = points.count * K;
  if (found !== total || sameOrder !== total) {
    throw new Error(
      `allKnnParallel found ${found} of the brute force's ${total} neighbours, ${sameOrder} in the same place`,
    );
  }
  return row({
    bench: 'B13',
    metric: 'kNN recall vs brute force (2k × 5, k = 20, 2 worker threads)',
    unit: '',
    reference: 1,
    project: found / total,
    target: { kind: 'min', value: 1 },
    note: 'every neighbour of every row, in the brute force order (ties to the lower index)',
  });
}

async function knnRatioRow(options: B13Options): Promise<Row> {
  const points = projectedPoints(10_000, SEED);
  const project: number[] = [];
  const reference: number[] = [];
  for (let round = 0; round <= options.rounds; round++) {
    const runProject = () => timedSeconds(() => allKnnParallel(points, K, { threads: THREADS }));
    const runReference = () => timedSeconds(() => bruteForceAllKnn(points, K));
    let p: number;
    let r: number;
    if (round % 2 === 0) {
      p = await runProject();
      r = await runReference();
    } else {
      r = await runReference();
      p = await runProject();
    }
    // Round 0 warms the JIT: discarded.
    if (round > 0) {
      project.push(p);
      reference.push(r);
    }
    options.log(`B13: kNN 10k round ${round}: ${fmt(p * 1000)} ms vs brute force ${fmt(r * 1000)} ms`);
  }
  const ratios = pairedRatios(project, reference);
  const bruteAt100k = median(reference) * 100;
  return row({
    bench: 'B13',
    metric: 'kNN all-kNN 10k × 5, k = 20: allKnnParallel vs brute force',
    unit: 's',
    reference: median(reference),
    project: median(project),
    ratio: median(ratios),
    ratioCi: bootstrapMedianCi(ratios),
    note:
      `n=${project.length} rounds ABAB; reference = bruteForceAllKnn (typed arrays, O(n²)); below 20k rows ` +
      `allKnnParallel searches in its own thread; the brute force at 100k would take ≈ ${fmt(bruteAt100k)} s (n² × 100)`,
  });
}

async function knnScaleRow(options: B13Options, load: string): Promise<Row> {
  const points = projectedPoints(100_000, SEED + 1);
  const times: number[] = [];
  for (let round = 0; round <= options.rounds; round++) {
    const seconds = await timedSeconds(() => allKnnParallel(points, K, { threads: THREADS }));
    if (round > 0) times.push(seconds);
    options.log(`B13: kNN 100k round ${round}: ${fmt(seconds * 1000)} ms`);
  }
  const seconds = median(times);
  return row({
    bench: 'B13',
    metric: 'kNN all-kNN 100k × 5, k = 20, 2 threads (absolute vs target)',
    unit: 's',
    reference: KNN_100K_SECONDS,
    project: seconds,
    target: { kind: 'max', value: 1 },
    note:
      `reference = the issue's target ≤ ${KNN_100K_SECONDS} s; median of ${times.length} ` +
      `(min ${fmt(Math.min(...times))}, max ${fmt(Math.max(...times))} s); ` +
      `${fmt(100_000 / seconds)} rows/s; ${load}`,
  });
}

// ---------------------------------------------------------------------------------------------
// End to end

/** The generated table's categories: 2 to 8 levels, some tied to the latent factors. */
const CATEGORIES: readonly (readonly [string, readonly string[]])[] = [
  ['sex', ['F', 'M']],
  ['smoker', ['no', 'yes']],
  ['region', ['north', 'south', 'east', 'west', 'centre']],
  ['blood_type', ['O+', 'A+', 'B+', 'AB+', 'O-', 'A-', 'B-', 'AB-']],
  ['education', ['primary', 'secondary', 'bachelor', 'master']],
  ['treatment', ['A', 'B', 'C']],
  ['stage', ['I', 'II', 'III', 'IV']],
  ['status', ['alive', 'deceased', 'lost']],
  ['diet', ['omnivore', 'vegetarian', 'vegan', 'pescatarian', 'keto', 'other']],
  ['employment', ['employed', 'self-employed', 'unemployed', 'retired', 'student']],
];
const CONTINUOUS = [
  'age',
  'weight_kg',
  'height_cm',
  'systolic',
  'cholesterol',
  'income',
  'visits',
  'score_a',
  'score_b',
  'days',
] as const;

export interface MixedTableOptions {
  seed: number;
  /** Share (0..1) of cells left empty. */
  missingRate: number;
  /** Rows per chunk of text. */
  chunkRows?: number;
}

/**
 * A patient-like table as CSV text, in chunks: 10 continuous columns (5 of them integers) and 10
 * categories of 2 to 8 levels, driven by three latent factors so that the columns correlate and a
 * projection has structure to find. The same seed gives the same text.
 */
export function* mixedTableCsv(rows: number, options: MixedTableOptions): Generator<string> {
  const random = createRandom(options.seed);
  const chunkRows = options.chunkRows ?? 20_000;
  yield `${[...CONTINUOUS, ...CATEGORIES.map(([name]) => name)].join(',')}\n`;
  const level = (index: number, x: number) => {
    const levels = CATEGORIES[index]![1];
    return levels[Math.min(levels.length - 1, Math.max(0, Math.floor(x)))]!;
  };
  const cells = new Array<string>(20);
  for (let start = 0; start < rows; start += chunkRows) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(rows, start + chunkRows); i++) {
      const z1 = random.normal();
      const z2 = random.normal();
      const z3 = random.normal();
      cells[0] = String(Math.min(95, Math.max(18, Math.round(50 + 14 * z1 + 5 * random.normal()))));
      cells[1] = (72 + 11 * z2 + 4 * z1 + 5 * random.normal()).toFixed(1);
      cells[2] = String(Math.round(170 + 9 * z2 + 4 * random.normal()));
      cells[3] = String(Math.round(125 + 12 * z1 + 8 * random.normal()));
      cells[4] = (5.2 + 0.7 * z1 + 0.5 * random.normal()).toFixed(2);
      cells[5] = Math.exp(10.3 + 0.5 * z3 + 0.3 * random.normal()).toFixed(2);
      cells[6] = String(Math.floor(Math.exp(1 + 0.4 * z1 + 0.5 * random.normal())));
      cells[7] = (1 / (1 + Math.exp(-(z1 - z3 + random.normal())))).toFixed(4);
      cells[8] = (z2 * z3 + 0.5 * random.normal()).toFixed(3);
      cells[9] = String(random.int(3650));
      cells[10] = level(0, z2 + 0.5 * random.normal() > 0 ? 1 : 0);
      cells[11] = level(1, z1 + random.normal() > 1 ? 1 : 0);
      cells[12] = level(2, random.next() * 5);
      cells[13] = level(3, random.exponential() * 2.2);
      cells[14] = level(4, 1.5 + z3 + 0.7 * random.normal());
      cells[15] = level(5, random.next() * 3);
      cells[16] = level(6, 1.5 + 0.9 * z1 + 0.8 * random.normal());
      cells[17] = level(7, z1 + random.normal() > 1.8 ? 1 : random.next() < 0.05 ? 2 : 0);
      cells[18] = level(8, random.exponential() * 2);
      cells[19] = level(9, 2 + z3 + random.normal());
      if (options.missingRate > 0) {
        for (let c = 0; c < cells.length; c++) if (random.next() < options.missingRate) cells[c] = '';
      }
      lines.push(cells.join(','));
    }
    yield `${lines.join('\n')}\n`;
  }
}

const MIXED: MixedTableOptions = { seed: SEED, missingRate: 0.01 };

function writeMixedCsv(file: string, rows: number): void {
  const descriptor = openSync(file, 'w');
  try {
    for (const chunk of mixedTableCsv(rows, MIXED)) writeSync(descriptor, chunk);
  } finally {
    closeSync(descriptor);
  }
}

async function endToEndInChild(
  scratch: string,
  rows: number,
  metrics: boolean,
  options: B13Options,
): Promise<AvatarMeasurement> {
  const file = join(scratch, `mixed-${rows}.csv`);
  writeMixedCsv(file, rows);
  options.log(
    `B13: ${rows} rows written (${fmt(statSync(file).size / MiB)} MiB); avatarizing in a child process`,
  );
  const run: AvatarRun = { file, k: K, ncp: NCP, seed: SEED, threads: THREADS, metrics };
  const result = await runNode(['--import', 'tsx', CHILD_SCRIPT, JSON.stringify(run)], {
    env: bareEnv(),
    timeoutMs: 900_000,
  });
  await rm(file, { force: true });
  const line = result.stdout.split('\n').find((candidate) => candidate.startsWith(ANSWER_PREFIX));
  if (result.code !== 0 || line === undefined) {
    throw new Error(`the ${rows}-row avatarization exited ${result.code}: ${result.stderr.slice(-500)}`);
  }
  const measurement = JSON.parse(line.slice(ANSWER_PREFIX.length)) as AvatarMeasurement;
  options.log(
    `B13: ${rows} rows end to end in ${fmt(measurement.total)} s, peak RSS ${fmt(measurement.maxRssBytes / MiB)} MiB`,
  );
  return measurement;
}

function steps(m: AvatarMeasurement): string {
  return (
    `parse ${fmt(m.parse)} s, impute ${fmt(m.impute)} s, avatarize ${fmt(m.avatarize)} s ` +
    `(${Object.entries(m.avatarizeSteps)
      .map(([step, seconds]) => `${step} ${fmt(seconds)}`)
      .join(', ')}), CSV out ${fmt(m.format)} s`
  );
}

function endToEndRows(m: AvatarMeasurement, load: string): Row[] {
  const shape = `${fmt(m.rows)} rows × ${m.columns} (10 continuous, 10 categorical, 1 % missing)`;
  const base =
    `k ${K}, ncp ${NCP}, ${THREADS} kNN threads; CSV ${fmt(m.csvBytes / MiB)} MiB in, ` +
    `${fmt(m.outputBytes / MiB)} MiB out; ${steps(m)}`;
  const rss = m.maxRssBytes / MiB;
  if (m.rows < 1_000_000) {
    const budget = m.rows / ROWS_PER_SECOND;
    return [
      row({
        bench: 'B13',
        metric: `end to end ${shape}, CSV to CSV (absolute vs target)`,
        unit: 's',
        reference: budget,
        project: m.total,
        target: { kind: 'max', value: 1 },
        note:
          `reference = the issue's ≥ ${fmt(ROWS_PER_SECOND)} rows/s, here ${fmt(m.rows / m.total)} rows/s; ` +
          `peak RSS ${fmt(rss)} MiB (child process); ${base}; ${load}`,
      }),
    ];
  }
  return [
    row({
      bench: 'B13',
      metric: `end to end ${shape}, CSV to CSV (absolute vs target)`,
      unit: 's',
      reference: MILLION_SECONDS,
      project: m.total,
      target: { kind: 'max', value: 1 },
      note: `reference = the issue's target ≤ ${MILLION_SECONDS} s; ${fmt(m.rows / m.total)} rows/s; ${base}; ${load}`,
    }),
    row({
      bench: 'B13',
      metric: `end to end ${fmt(m.rows)} rows: peak RSS (absolute vs target)`,
      unit: 'MiB',
      reference: MILLION_RSS_MIB,
      project: rss,
      target: { kind: 'max', value: 1 },
      note: `reference = the issue's target ≤ 2 GB; process.resourceUsage().maxRSS of the child process, its input bytes included`,
    }),
  ];
}

/** The project's pipeline in this process, on CSV bytes, as the child runs it. */
async function projectPipeline(bytes: Uint8Array): Promise<number> {
  const started = performance.now();
  const table = parseTable(bytes);
  const filled = hasMissing(table) ? impute(table, 'mean') : table;
  const avatars = await avatarize(filled, { k: K, ncp: NCP, seed: SEED, threads: THREADS });
  new TextEncoder().encode(formatTable(avatars.shuffled));
  return (performance.now() - started) / 1000;
}

async function endToEndRatioRow(options: B13Options, at100k: AvatarMeasurement | undefined): Promise<Row> {
  const rows = 10_000;
  const text = [...mixedTableCsv(rows, MIXED)].join('');
  const bytes = new TextEncoder().encode(text);
  const project: number[] = [];
  const reference: number[] = [];
  const referenceKnn: number[] = [];
  for (let round = 0; round <= options.rounds; round++) {
    const runReference = () => straightforwardAvatars(text, { k: K, ncp: NCP, seed: SEED });
    let p: number;
    let r: ReturnType<typeof straightforwardAvatars>;
    if (round % 2 === 0) {
      p = await projectPipeline(bytes);
      r = runReference();
    } else {
      r = runReference();
      p = await projectPipeline(bytes);
    }
    if (round > 0) {
      project.push(p);
      reference.push(r.totalSeconds);
      referenceKnn.push(r.knnSeconds);
    }
    options.log(
      `B13: end to end 10k round ${round}: ${fmt(p * 1000)} ms vs straightforward ${fmt(r.totalSeconds * 1000)} ms`,
    );
  }
  const ratios = pairedRatios(project, reference);
  // Derived, not measured: the reference's kNN grows with n², the rest of its work with n.
  const knn = median(referenceKnn);
  const referenceAt100k = knn * 100 + (median(reference) - knn) * 10;
  const derived = at100k
    ? `; at 100k the reference would take ≈ ${fmt(referenceAt100k)} s (its kNN × 100, the rest × 10), ` +
      `the project took ${fmt(at100k.total)} s: ≈ ${fmt(at100k.total / referenceAt100k, 2)} (B7's target ≤ 0.02, ≥ 50×)`
    : '';
  return row({
    bench: 'B13',
    metric: 'end to end 10k × 20 mixed, CSV to CSV: project vs straightforward TS',
    unit: 's',
    reference: median(reference),
    project: median(project),
    ratio: median(ratios),
    ratioCi: bootstrapMedianCi(ratios),
    note:
      `n=${project.length} rounds ABAB, in this process; reference = csv-parse records as objects, ` +
      `ml-matrix SVD of the dense FAMD matrix, brute-force kNN (${fmt(knn)} s of it), same weights, ` +
      `barycentres in the full space, shuffle, CSV string; measured at 10k because its O(n²) kNN takes minutes at 100k` +
      derived,
  });
}

function metricsTimeRow(m: AvatarMeasurement): Row {
  const metrics = m.metrics!;
  return row({
    bench: 'B13',
    metric: `privacy metrics of ${fmt(m.rows)} avatars (informational)`,
    unit: 's',
    reference: Number.NaN,
    project: metrics.privacySeconds,
    note:
      `computePrivacyMetrics on the unshuffled avatars, nf ${NCP}: hidden rate ${fmt(metrics.hiddenRate)} %, ` +
      `local cloaking ${fmt(metrics.localCloaking)}, DCR ${fmt(metrics.distanceToClosest)}, ` +
      `NNDR ${fmt(metrics.closestDistancesRatio)}; signal metrics ${fmt(metrics.signalSeconds)} s ` +
      `(hellinger_mean ${fmt(metrics.hellingerMean)})`,
  });
}

// ---------------------------------------------------------------------------------------------
// Metric comparison

const COMPARED_PRIVACY = [
  'hidden_rate',
  'local_cloaking',
  'distance_to_closest',
  'closest_distances_ratio',
] as const satisfies readonly PrivacyMetricName[];
const COMPARED_SIGNAL = [
  'hellinger_mean',
  'correlation_difference_ratio',
] as const satisfies readonly SignalMetricName[];

export type ComparedMetric = (typeof COMPARED_PRIVACY)[number] | (typeof COMPARED_SIGNAL)[number];

export interface MetricComparisonRow {
  dataset: string;
  synthetic: string;
  values: Record<ComparedMetric, number | null>;
}

function readData(file: string, options: { types?: Record<string, ColumnType>; drop?: string[] }): Table {
  const bytes = readFileSync(new URL(file, DATA));
  const header = new TextDecoder().decode(bytes.subarray(0, 400)).split('\n')[0]!;
  const drop = (options.drop ?? []).filter((name) => header.includes(name));
  return parseTable(bytes, { ...(options.types ? { types: options.types } : {}), dropColumns: drop });
}

async function compared(
  original: Table,
  synthetic: Table,
  ncp: number,
): Promise<Record<ComparedMetric, number | null>> {
  const privacy = await computePrivacyMetrics(original, synthetic, { ncp, random: createRandom(0) });
  const signal = computeSignalMetrics(original, synthetic);
  return {
    hidden_rate: privacy.hidden_rate,
    local_cloaking: privacy.local_cloaking,
    distance_to_closest: privacy.distance_to_closest,
    closest_distances_ratio: privacy.closest_distances_ratio,
    hellinger_mean: signal.hellinger_mean,
    correlation_difference_ratio: signal.correlation_difference_ratio,
  };
}

/**
 * The paper's rule for its metrics (`get_column_type.py`): a column of at most 10 distinct values
 * is categorical.
 */
function fewValuesAsCategories(table: Table): Record<string, ColumnType> {
  const types: Record<string, ColumnType> = {};
  for (const column of table.columns) {
    const distinct = column.type === 'category' ? column.levels.length : new Set(column.values).size;
    if (distinct <= 10) types[column.name] = 'category';
  }
  return types;
}

async function metricComparison(options: B13Options): Promise<MetricComparisonRow[]> {
  const wbcd = { types: { Class: 'category' as const }, drop: ['Sample_code_number'] };
  const original = readData('breast_cancer_wisconsin.csv', wbcd);
  const ours = await avatarize(original, { k: 20, ncp: 2, seed: 0, threads: THREADS });
  // As the paper's script avatarized WBCD: every column a category (MCA), then measured as above.
  const allCategories = readData('breast_cancer_wisconsin.csv', {
    types: Object.fromEntries(original.columns.map((column) => [column.name, 'category' as const])),
    drop: wbcd.drop,
  });
  const oursAsThePaper = await avatarize(allCategories, { k: 20, ncp: 2, seed: 0, threads: THREADS });
  const asMeasured = (table: Table): Table => ({
    rowCount: table.rowCount,
    columns: table.columns.map((column, index) => {
      const measured = original.columns[index]!;
      if (column.type !== 'category' || measured.type === 'category') return column;
      return { ...measured, values: Float64Array.from(column.codes, (code) => Number(column.levels[code])) };
    }),
  });
  const results: MetricComparisonRow[] = [
    {
      dataset: 'WBCD',
      synthetic: 'SynthForge avatars (k 20, ncp 2, seed 0)',
      values: await compared(original, ours.unshuffled, 2),
    },
    {
      dataset: 'WBCD',
      synthetic: "SynthForge avatars, every column a category as the paper's script (k 20, ncp 2, seed 0)",
      values: await compared(original, asMeasured(oursAsThePaper.unshuffled), 2),
    },
  ];
  for (const [synthetic, file] of [
    ["the paper's avatars (k 20)", 'breast_cancer_wisconsin_avatarized_k20.csv'],
    ['synthpop', 'wbcd_synthpop_base.csv'],
    ['CTGAN', 'wbcd_CTGAN_base_2.csv'],
  ] as const) {
    results.push({ dataset: 'WBCD', synthetic, values: await compared(original, readData(file, wbcd), 2) });
  }
  options.log('B13: WBCD metrics done');

  const aidsDrop = ['pidnum', 'zprior'];
  const aidsTypes = fewValuesAsCategories(readData('aids_original_data.csv', { drop: aidsDrop }));
  const aids = impute(readData('aids_original_data.csv', { types: aidsTypes, drop: aidsDrop }), 'mean');
  const aidsAvatars = await avatarize(aids, { k: 20, ncp: 5, seed: 0, threads: THREADS });
  results.push({
    dataset: 'AIDS',
    synthetic: 'SynthForge avatars (k 20, ncp 5, seed 0)',
    values: await compared(aids, aidsAvatars.unshuffled, 5),
  });
  options.log('B13: AIDS metrics done');
  return results;
}

const COMPARED: readonly ComparedMetric[] = [...COMPARED_PRIVACY, ...COMPARED_SIGNAL];
const TARGETS: Record<ComparedMetric, string> = { ...PRIVACY_TARGETS, ...SIGNAL_TARGETS };

/** The comparison as the Markdown the suite prints: one line per synthetic table, the targets first. */
export function metricComparisonMarkdown(results: readonly MetricComparisonRow[]): string {
  if (results.length === 0) return '';
  const header = ['Data set', 'Synthetic table', ...COMPARED];
  const lines = [
    `| ${header.join(' | ')} |`,
    `|---|---|${COMPARED.map(() => '---:').join('|')}|`,
    `| | target | ${COMPARED.map((name) => TARGETS[name]).join(' | ')} |`,
  ];
  for (const result of results) {
    const cells = COMPARED.map((name) => {
      const value = result.values[name];
      return value === null || !Number.isFinite(value) ? '—' : fmt(value, 4);
    });
    lines.push(`| ${result.dataset} | ${result.synthetic} | ${cells.join(' | ')} |`);
  }
  return [
    '### B13 metric comparison: privacy (higher is safer) and signal (lower is closer)',
    '',
    ...lines,
    '',
    'Privacy metrics in the projection fitted on the original (WBCD: nf 2, `Sample_code_number` dropped, ' +
      '`Class` a category; AIDS: nf 5, `pidnum` and the constant `zprior` dropped, columns of at most 10 ' +
      'values as categories as the paper types them, `cd496` mean-imputed). Hidden rate and local cloaking ' +
      "pair original row i with synthetic row i: that holds for avatars (unshuffled), not for synthpop's " +
      "and CTGAN's tables, whose rows are drawn from the whole table; they are computed anyway, as the " +
      "paper computes them on its comparators. The paper's AIDS avatars are not in the data folder.",
  ].join('\n');
}
