/**
 * `npm run bench [-- --quick] [-- --only B1,B5] [-- --strict]`: the benchmark suite (README.md,
 * "Performance"), project next to reference in one run. Prints a Markdown table on
 * stdout (progress goes to stderr) and writes bench/results.json.
 *
 * Exit status: 1 when a benchmark could not run (an ERROR row); with --strict, also when a ratio
 * misses its target. Absolute numbers are informational: only ratios are held to targets.
 */
// First, before any benchmark module loads the platform.
import '../lambdas/local/process-defaults.ts';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { errorRow, markdownTable, type Row } from './lib/rows.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    strict: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('Usage: npm run bench -- [--quick] [--only B1,B2,B4,B5,B6,B8,B11,B12,B13,B14] [--strict]');
  process.exit(0);
}

/** Sizes of each run: --quick stays within about 90 s on 2 cores, the full run within about 5 min. */
const PROFILES = {
  quick: {
    // One entry of each kind: static API, AWS-backed API, authorizer, workflow task.
    b1: { rounds: 7, entries: ['api-public', 'api-jobs', 'authorizer', 'wf-run-job'] },
    b2: { submitRequests: 200, submitSeconds: 6, readSeconds: 2, rounds: 4, concurrency: 8 },
    b4: { rounds: 3 },
    b6: { jobs: { 512: 3, 1024: 2 }, framesPerJob: 4 },
    // About 35 MiB of archives: rendering them is most of this benchmark's time.
    b8: { jobs: 6, framesPerJob: 2, width: 1024, height: 1024, rounds: 3, concurrency: 4 },
    b12: { rounds: 12 },
    // 100k rows end to end; the million-row run and the metrics' 100k are the full profile's.
    b13: { rounds: 3, endToEndRows: [100_000], metricsRows: 20_000 },
    // The models' load and three privacy checks are most of it.
    b14: { rounds: 5, largeQuality: false, privacyRounds: 2, exportImages: 100, limiterRequests: 60 },
  },
  full: {
    b1: { rounds: 15, entries: undefined },
    b2: { submitRequests: 1000, submitSeconds: 30, readSeconds: 5, rounds: 6, concurrency: 8 },
    b4: { rounds: 5 },
    b6: { jobs: { 512: 8, 1024: 4 }, framesPerJob: 4 },
    // About 140 MiB: archives of 24 MiB each, several times what a download may hold in memory.
    b8: { jobs: 6, framesPerJob: 2, width: 2048, height: 2048, rounds: 5, concurrency: 4 },
    b12: { rounds: 40 },
    b13: { rounds: 5, endToEndRows: [100_000, 1_000_000], metricsRows: 100_000 },
    b14: { rounds: 8, largeQuality: true, privacyRounds: 4, exportImages: 300, limiterRequests: 120 },
  },
} as const;

const profileName = values.quick ? 'quick' : 'full';
const profile = PROFILES[profileName];
const selected = new Set(
  (values.only ?? 'B1,B2,B4,B5,B6,B8,B11,B12,B13,B14')
    .toUpperCase()
    .split(',')
    .map((name) => name.trim()),
);
const log = (line: string) => process.stderr.write(`[bench ${elapsed()}] ${line}\n`);
const warnings: string[] = [];
const warn = (line: string) => {
  warnings.push(line);
  log(`WARNING: ${line}`);
};
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;

interface Benchmark {
  id: string;
  /** Names the error row when the whole benchmark fails. */
  label: string;
  /** Rows, or rows with a Markdown section printed after the table and details for results.json. */
  run: () => Promise<Row[] | { rows: Row[]; markdown: string; details: unknown }>;
}

const benchmarks: Benchmark[] = [
  {
    id: 'B1',
    label: 'Lambda bundles and cold import',
    run: async () => (await import('./b1-bundles.ts')).benchBundles({ ...profile.b1, log }),
  },
  {
    id: 'B2',
    label: 'local API (B2 submit, B3 status read)',
    run: async () => (await import('./b2-api.ts')).benchApi({ ...profile.b2, log }),
  },
  {
    id: 'B4',
    label: 'npm start to the first answer',
    run: async () => (await import('./b4-start.ts')).benchStart({ ...profile.b4, log }),
  },
  {
    id: 'B5',
    label: 'Step Functions transitions and cost',
    run: async () => (await import('./b5-transitions.ts')).benchTransitions({ log, warn }),
  },
  {
    id: 'B6',
    label: 'shapes render throughput',
    run: async () => (await import('./b6-render.ts')).benchRender({ ...profile.b6, log }),
  },
  {
    id: 'B8',
    label: 'result download (Batch.download)',
    run: async () => (await import('./b8-download.ts')).benchDownload({ ...profile.b8, log }),
  },
  {
    id: 'B11',
    label: 'training: trainer throughput on CPU and workflow transitions',
    run: async () => (await import('./b11-training.ts')).benchTraining({ log }),
  },
  {
    id: 'B12',
    label: 'inference gateway: first token, overhead per request, multi-inference',
    run: async () => (await import('./b12-inference.ts')).benchInference({ ...profile.b12, log }),
  },
  {
    id: 'B13',
    label: 'avatar engine: kNN, end to end at 100k/1M rows, metric comparison',
    run: async () => (await import('./b13-avatars.ts')).benchAvatars({ ...profile.b13, log }),
  },
  {
    id: 'B14',
    label: 'datasets: quality, privacy, exports, rate limiter',
    run: async () => (await import('./b14-datasets.ts')).benchDatasets({ ...profile.b14, log }),
  },
];

const rows: Row[] = [];
const sections: string[] = [];
const details: Record<string, unknown> = {};
log(
  `profile ${profileName}: ${[...selected].join(', ')} on ${availableParallelism()} CPUs, Node ${process.version}`,
);
for (const benchmark of benchmarks) {
  if (!selected.has(benchmark.id)) continue;
  const benchStarted = performance.now();
  try {
    const output = await benchmark.run();
    if (Array.isArray(output)) rows.push(...output);
    else {
      rows.push(...output.rows);
      if (output.markdown) sections.push(output.markdown);
      details[benchmark.id] = output.details;
    }
  } catch (error) {
    rows.push(errorRow(benchmark.id, benchmark.label, error));
    log(`${benchmark.id} failed: ${(error as Error).stack ?? error}`);
  }
  log(`${benchmark.id} took ${((performance.now() - benchStarted) / 1000).toFixed(1)} s`);
}
const durationSeconds = (performance.now() - started) / 1000;

console.log(`\n## SynthForge benchmarks (${profileName}, ${durationSeconds.toFixed(0)} s)\n`);
console.log(markdownTable(rows));
console.log(
  '\nRatio = project / reference; a ratio with an interval in brackets is the median of per-round ratios (95 % bootstrap interval).',
);
for (const section of sections) console.log(`\n${section}`);
for (const warning of warnings) console.log(`\nWARNING: ${warning}`);

const results = {
  gitSha: gitSha(),
  dirty: gitDirty(),
  node: process.version,
  cpus: availableParallelism(),
  cpuModel: cpus()[0]?.model ?? 'unknown',
  timestamp: new Date().toISOString(),
  profile: profileName,
  durationSeconds: Math.round(durationSeconds * 10) / 10,
  warnings,
  rows,
  details,
};
await writeFile(new URL('./results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
log('wrote bench/results.json');

const failed =
  rows.some((r) => r.verdict === 'error') || (values.strict && rows.some((r) => r.verdict === 'fail'));
process.exit(failed ? 1 : 0);

function gitSha(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'uncommitted';
  }
}

function gitDirty(): boolean {
  try {
    return (
      execFileSync('git', ['status', '--porcelain'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() !== ''
    );
  } catch {
    return true;
  }
}
