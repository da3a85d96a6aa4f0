/**
 * B13's reference: the avatar method as a straightforward TypeScript program would write it (the
 * "naive" pipeline the benchmark suite was planned with): csv-parse's records as objects, one
 * object per row, a dense n × P matrix of the FAMD's standardised columns and dummies factored by
 * ml-matrix's SVD, brute-force kNN over arrays of coordinates, the same weights, the barycentres
 * taken in the full space (the weighted mean of the neighbours' values, the level with the most
 * weight), a shuffle and a CSV string. It does the project's work step for step (same k, ncp,
 * weights and draws); it is not tuned, and it is not meant to match the project's avatars value for
 * value (no randomized SVD).
 */
import { parse } from 'csv-parse/sync';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { createRandom } from '../../lambdas/domain/avatars/engine/rng.ts';

type Value = number | string | null;
type RowObject = Record<string, Value>;

/** The engine's missing-value markers, so that both pipelines see the same missing cells. */
const MISSING = new Set(['', 'NA', 'NaN', 'nan', 'null', 'NULL', 'None', 'N/A']);
/** As the engine: a zero distance (a duplicate row) cannot be a weight's denominator. */
const ZERO_DISTANCE = 1e-8;

export interface ReferenceRun {
  csv: string;
  /** Seconds of the brute-force kNN alone, the part that grows with n². */
  knnSeconds: number;
  totalSeconds: number;
}

interface Neighbour {
  index: number;
  distance: number;
}

export function straightforwardAvatars(
  text: string,
  options: { k: number; ncp: number; seed: number },
): ReferenceRun {
  const started = performance.now();
  const { k, ncp } = options;
  const random = createRandom(options.seed);
  const records = parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  const names = Object.keys(records[0] ?? {});
  const isNumber = (name: string) =>
    records.every((r) => MISSING.has(r[name]!) || Number.isFinite(Number(r[name])));
  const continuous = names.filter(isNumber);
  const integers = new Set(
    continuous.filter((name) =>
      records.every((r) => MISSING.has(r[name]!) || Number.isInteger(Number(r[name]))),
    ),
  );
  const categorical = names.filter((name) => !continuous.includes(name));
  const rows: RowObject[] = records.map((record) => {
    const row: RowObject = {};
    for (const name of names) {
      const cell = record[name]!;
      row[name] = MISSING.has(cell) ? null : continuous.includes(name) ? Number(cell) : cell;
    }
    return row;
  });

  // Mean imputation (the mode for categories).
  for (const name of continuous) {
    const present = rows.map((row) => row[name]).filter((value) => value !== null) as number[];
    const mean = present.reduce((sum, value) => sum + value, 0) / present.length;
    for (const row of rows) if (row[name] === null) row[name] = integers.has(name) ? Math.round(mean) : mean;
  }
  for (const name of categorical) {
    const counts = new Map<string, number>();
    for (const row of rows)
      if (row[name] !== null) counts.set(row[name] as string, (counts.get(row[name] as string) ?? 0) + 1);
    const mode = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    for (const row of rows) if (row[name] === null) row[name] = mode;
  }

  // FAMD: standardised continuous columns, dummies centred and divided by √(level share).
  const n = rows.length;
  const moments = continuous.map((name) => {
    const values = rows.map((row) => row[name] as number);
    const mean = values.reduce((sum, value) => sum + value, 0) / n;
    const std = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / n) || 1;
    return { mean, std };
  });
  const levels = categorical.map((name) => [...new Set(rows.map((row) => row[name] as string))].sort());
  const shares = categorical.map((name, c) =>
    levels[c]!.map((level) => rows.filter((row) => row[name] === level).length / n),
  );
  const matrix = new Matrix(
    rows.map((row) => [
      ...continuous.map((name, j) => ((row[name] as number) - moments[j]!.mean) / moments[j]!.std),
      ...categorical.flatMap((name, c) =>
        levels[c]!.map(
          (level, l) => ((row[name] === level ? 1 : 0) - shares[c]![l]!) / Math.sqrt(shares[c]![l]!),
        ),
      ),
    ]),
  );
  const svd = new SingularValueDecomposition(matrix, {
    computeLeftSingularVectors: false,
    autoTranspose: true,
  });
  const components = svd.rightSingularVectors.subMatrix(0, matrix.columns - 1, 0, ncp - 1);
  const coords = matrix.mmul(components).to2DArray();

  // Brute-force kNN: every other row, the k nearest kept sorted by insertion.
  const knnStarted = performance.now();
  const neighbours: Neighbour[][] = coords.map((point, i) => {
    const nearest: Neighbour[] = [];
    coords.forEach((other, j) => {
      if (j === i) return;
      let sum = 0;
      for (let d = 0; d < ncp; d++) sum += (point[d]! - other[d]!) ** 2;
      const distance = Math.sqrt(sum);
      if (nearest.length === k && distance >= nearest[k - 1]!.distance) return;
      let at = nearest.findIndex((candidate) => candidate.distance > distance);
      if (at < 0) at = nearest.length;
      nearest.splice(at, 0, { index: j, distance });
      if (nearest.length > k) nearest.pop();
    });
    return nearest;
  });
  const knnSeconds = (performance.now() - knnStarted) / 1000;

  // Barycentres in the full space: w ∝ Exp(1) · 2^(−rank) / distance, ranks a random permutation
  // of 1..k; each number the weighted mean of the neighbours', each category the heaviest level.
  const avatars: RowObject[] = neighbours.map((nearest) => {
    const ranks = Array.from({ length: k }, (_, r) => r + 1);
    for (let r = k - 1; r > 0; r--) {
      const j = random.int(r + 1);
      [ranks[r], ranks[j]] = [ranks[j]!, ranks[r]!];
    }
    const weights = nearest.map(
      (neighbour, r) =>
        (random.exponential() * 2 ** -ranks[r]!) / Math.max(neighbour.distance, ZERO_DISTANCE),
    );
    const total = weights.reduce((sum, weight) => sum + weight, 0);
    const avatar: RowObject = {};
    for (const name of continuous) {
      let value = 0;
      nearest.forEach((neighbour, r) => {
        value += (weights[r]! / total) * (rows[neighbour.index]![name] as number);
      });
      avatar[name] = integers.has(name) ? Math.round(value) : value;
    }
    for (const name of categorical) {
      const score = new Map<string, number>();
      nearest.forEach((neighbour, r) => {
        const level = String(rows[neighbour.index]![name]);
        score.set(level, (score.get(level) ?? 0) + weights[r]! / total);
      });
      avatar[name] = [...score.entries()].reduce((best, entry) => (entry[1] > best[1] ? entry : best))[0];
    }
    return avatar;
  });

  for (let i = avatars.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [avatars[i], avatars[j]] = [avatars[j]!, avatars[i]!];
  }
  const lines = avatars.map((avatar) => names.map((name) => String(avatar[name])).join(','));
  const csv = `${[names.join(','), ...lines].join('\n')}\n`;
  return { csv, knnSeconds, totalSeconds: (performance.now() - started) / 1000 };
}
