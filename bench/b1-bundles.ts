/**
 * B1, Lambda bundle and init: for each Lambda entry, the esbuild
 * bundle the stack deploys against the same handler unbundled (each project file compiled on its
 * own, packages imported from node_modules). Each measurement is a fresh Node process timing its
 * own `import()` with performance.now(), so process start-up is left out; reference and project
 * alternate (ABBA...) round by round and the ratio is the median of the per-round ratios.
 *
 * The children get a bare environment (no AWS_REGION, no table names): importing a handler must
 * not need its configuration, because the handlers build their runtime on the first invocation.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuiltBundle, bundleEntries, compileUnbundled, WORK_DIR } from './bundle.ts';
import { LAMBDA_ENTRIES } from './entries.ts';
import { bareEnv, runNode } from './lib/child.ts';
import { errorRow, fmt, type Row, row } from './lib/rows.ts';
import { bootstrapMedianCi, median, pairedRatios, summarize } from './lib/stats.ts';

export interface B1Options {
  /** Paired rounds per entry (fresh processes: 2 per round). */
  rounds: number;
  /** The entries to bundle, size and time (by name); absent: all of them. */
  entries?: readonly string[] | undefined;
  log: (line: string) => void;
}

/** B1's targets: import ratio ≤ 0.40 vs unbundled; gzip ≤ 250 KB for a "full" handler. */
const IMPORT_RATIO_TARGET = 0.4;
const FULL_HANDLER_GZIP_BUDGET_KB = 250;

/** Runs in the child: times the import of BENCH_IMPORT_URL and checks that it exports `handler`. */
const IMPORT_PROBE = `
const url = process.env.BENCH_IMPORT_URL;
const started = performance.now();
const module = await import(url);
const importMs = performance.now() - started;
if (typeof module.handler !== 'function') throw new Error('the module exports no handler function');
process.stdout.write(JSON.stringify({ importMs }));
`;

/** The same child with nothing to import: the process floor. */
const EMPTY_PROBE = `process.stdout.write(JSON.stringify({ importMs: 0 }));`;

interface Sample {
  importMs: number;
  wallMs: number;
}

async function probe(file: string | undefined, extraArgs: readonly string[] = []): Promise<Sample> {
  const env = bareEnv(file ? { BENCH_IMPORT_URL: pathToFileURL(file).href } : {});
  const args = [...extraArgs, '--input-type=module', '-e', file ? IMPORT_PROBE : EMPTY_PROBE];
  const result = await runNode(args, { env });
  if (result.code !== 0) {
    const reason =
      result.stderr
        .trim()
        .split('\n')
        .find((line) => /Error/.test(line)) ?? result.stderr.trim();
    throw new Error(`importing ${file} failed (exit ${result.code}): ${reason.slice(0, 300)}`);
  }
  const { importMs } = JSON.parse(result.stdout) as { importMs: number };
  return { importMs, wallMs: result.wallMs };
}

/** Lambda runs every function with NODE_OPTIONS=--enable-source-maps (the construct sets it). */
const PROJECT_NODE_ARGS = ['--enable-source-maps'];

export async function benchBundles(options: B1Options): Promise<Row[]> {
  const started = performance.now();
  const entries = LAMBDA_ENTRIES.filter((entry) => !options.entries || options.entries.includes(entry.name));
  const built = await bundleEntries(entries, join(WORK_DIR, 'bundles'));
  const buildSeconds = (performance.now() - started) / 1000;
  const unbundled = await compileUnbundled(built, join(WORK_DIR, 'unbundled'));
  options.log(`B1: bundled ${built.bundles.length} entries in ${buildSeconds.toFixed(1)} s`);

  const samples = new Map(
    built.bundles.map((bundle) => [
      bundle.entry.name,
      { reference: [] as Sample[], project: [] as Sample[] },
    ]),
  );
  const floor: number[] = [];
  const failures = new Map<string, unknown>();

  // Warm-up: one discarded import of each side, so that no round pays for a cold page cache of the
  // node_modules files every entry shares.
  const first = built.bundles[0];
  if (first) {
    await probe(unbundled.get(first.entry.name)).catch(() => undefined);
    await probe(first.file, PROJECT_NODE_ARGS).catch(() => undefined);
  }
  for (let round = 0; round < options.rounds; round++) {
    floor.push((await probe(undefined)).wallMs);
    for (const bundle of built.bundles) {
      const name = bundle.entry.name;
      if (failures.has(name)) continue;
      const into = samples.get(name);
      if (!into) continue;
      const reference = () => probe(unbundled.get(name));
      const project = () => probe(bundle.file, PROJECT_NODE_ARGS);
      try {
        // ABBA: the order flips every round, so neither side always runs second.
        const [first, second] = round % 2 === 0 ? [reference, project] : [project, reference];
        const a = await first();
        const b = await second();
        into.reference.push(round % 2 === 0 ? a : b);
        into.project.push(round % 2 === 0 ? b : a);
      } catch (error) {
        failures.set(name, error);
      }
    }
    options.log(`B1: round ${round + 1}/${options.rounds}`);
  }

  const floorP50 = median(floor);
  const rows: Row[] = [];
  const allRatios: number[] = [];
  for (const bundle of built.bundles) {
    const name = bundle.entry.name;
    const failure = failures.get(name);
    const s = samples.get(name);
    if (failure) rows.push(errorRow('B1', `${name}: cold import() p50`, failure));
    else if (s) {
      rows.push(importRow(bundle, s.reference, s.project, floorP50));
      allRatios.push(...pairedRatios(s.project.map(importMs), s.reference.map(importMs)));
    }
    rows.push(sizeRow(bundle));
  }
  if (allRatios.length > 0) {
    rows.push(
      row({
        bench: 'B1',
        metric: 'all entries: import ratio (median of every round)',
        unit: '',
        reference: 1,
        project: median(allRatios),
        ratio: median(allRatios),
        ratioCi: bootstrapMedianCi(allRatios),
        target: { kind: 'max', value: IMPORT_RATIO_TARGET },
        note: `${allRatios.length} paired rounds over ${samples.size - failures.size} entries; bundling all took ${buildSeconds.toFixed(1)} s; process floor p50 ${fmt(floorP50)} ms; children ran with an empty environment`,
      }),
    );
  }
  return rows;
}

const importMs = (sample: Sample) => sample.importMs;

function importRow(bundle: BuiltBundle, reference: Sample[], project: Sample[], floorP50: number): Row {
  const ratios = pairedRatios(project.map(importMs), reference.map(importMs));
  const ref = summarize(reference.map(importMs));
  const proj = summarize(project.map(importMs));
  const wallRef = median(reference.map((s) => s.wallMs)) - floorP50;
  const wallProj = median(project.map((s) => s.wallMs)) - floorP50;
  return row({
    bench: 'B1',
    metric: `${bundle.entry.name}: cold import() p50`,
    unit: 'ms',
    reference: ref.p50,
    project: proj.p50,
    ratio: median(ratios),
    ratioCi: bootstrapMedianCi(ratios),
    target: { kind: 'max', value: IMPORT_RATIO_TARGET },
    note:
      `n=${ratios.length}; p90 ${fmt(ref.p90)} → ${fmt(proj.p90)} ms; ` +
      `whole process − floor ${fmt(wallRef)} → ${fmt(wallProj)} ms`,
  });
}

function sizeRow(bundle: BuiltBundle): Row {
  const gzipKb = bundle.gzipBytes / 1024;
  return row({
    bench: 'B1',
    metric: `${bundle.entry.name}: bundle gzip size`,
    unit: 'KB',
    reference: FULL_HANDLER_GZIP_BUDGET_KB,
    project: gzipKb,
    target: { kind: 'max', value: 1 },
    note: `reference = the 250 KB budget for a full handler; raw ${fmt(bundle.bytes / 1024)} KB, ${bundle.modules} modules`,
  });
}
