/**
 * The matrix saiph decomposes, as a linear operator over the table (never materialised): the
 * products the SVD needs, and the Gram matrix for the exact path.
 */
import type { LinearOperator } from './linalg.ts';
import type { ProjectionModel } from './projection.ts';
import {
  type CategoricalCodes,
  encode,
  expandedWeights,
  ROW_BLOCK,
  readColumns,
  sized,
} from './projection-layout.ts';
import type { Table } from './table.ts';

/**
 * The matrix saiph decomposes, as an operator over the table: S = [Zc | Zd] for PCA and FAMD,
 * T for MCA, or, `weighted`, the W = S·cw/n whose SVD gives the axes. Column p of it is
 * (value − centre_p)·scale_p, a dummy's value being 1 on the rows of its level, 0 elsewhere.
 */
export function createOperator(
  model: Pick<ProjectionModel, 'type' | 'rowCount' | 'continuous' | 'categorical'>,
  table: Table,
  weighted = false,
): LinearOperator {
  const n = table.rowCount;
  const { continuousValues, categoricalCodes } = readColumns(model, table);
  const { centre, scale } = encode(model);
  const width = centre.length;
  if (weighted) {
    const columnWeights = expandedWeights(model);
    for (let p = 0; p < width; p++) scale[p]! *= columnWeights[p]! / n;
  }
  const continuousCount = continuousValues.length;
  const variables = categoricalCodes.length;

  return {
    rows: n,
    cols: width,
    multiply(x, m, out) {
      const result = sized(out, n * m);
      const scaled = new Float64Array(width * m);
      const base = new Float64Array(m);
      for (let p = 0; p < width; p++) {
        for (let c = 0; c < m; c++) scaled[p * m + c] = x[p * m + c]! * scale[p]!;
        if (p >= continuousCount) for (let c = 0; c < m; c++) base[c]! -= centre[p]! * scaled[p * m + c]!;
      }
      // Row blocks, a column at a time: each inner loop reads one column and a block of the
      // result that stays in cache.
      for (let start = 0; start < n; start += ROW_BLOCK) {
        const end = Math.min(n, start + ROW_BLOCK);
        for (let i = start; i < end; i++) result.set(base, i * m);
        for (let j = 0; j < continuousCount; j++) {
          const values = continuousValues[j]!;
          const mean = centre[j]!;
          const source = j * m;
          for (let i = start; i < end; i++) {
            const centred = values[i]! - mean;
            const row = i * m;
            for (let c = 0; c < m; c++) result[row + c]! += centred * scaled[source + c]!;
          }
        }
        for (let v = 0; v < variables; v++) {
          const { codes, dummyOf } = categoricalCodes[v]!;
          for (let i = start; i < end; i++) {
            const dummy = dummyOf[codes[i]!]!;
            if (dummy < 0) continue;
            const source = dummy * m;
            const row = i * m;
            for (let c = 0; c < m; c++) result[row + c]! += scaled[source + c]!;
          }
        }
      }
      return result;
    },
    multiplyTranspose(y, m, out) {
      const result = sized(out, width * m).fill(0);
      const total = new Float64Array(m);
      for (let start = 0; start < n; start += ROW_BLOCK) {
        const end = Math.min(n, start + ROW_BLOCK);
        for (let i = start; i < end; i++) for (let c = 0; c < m; c++) total[c]! += y[i * m + c]!;
        for (let j = 0; j < continuousCount; j++) {
          const values = continuousValues[j]!;
          const mean = centre[j]!;
          const target = j * m;
          for (let i = start; i < end; i++) {
            const centred = values[i]! - mean;
            const row = i * m;
            for (let c = 0; c < m; c++) result[target + c]! += centred * y[row + c]!;
          }
        }
        for (let v = 0; v < variables; v++) {
          const { codes, dummyOf } = categoricalCodes[v]!;
          for (let i = start; i < end; i++) {
            const dummy = dummyOf[codes[i]!]!;
            if (dummy < 0) continue;
            const target = dummy * m;
            const row = i * m;
            for (let c = 0; c < m; c++) result[target + c]! += y[row + c]!;
          }
        }
      }
      for (let p = 0; p < width; p++) {
        const dummy = p >= continuousCount;
        for (let c = 0; c < m; c++) {
          const sum = dummy ? result[p * m + c]! - centre[p]! * total[c]! : result[p * m + c]!;
          result[p * m + c] = sum * scale[p]!;
        }
      }
      return result;
    },
    gram:
      width <= MAX_GRAM_WIDTH
        ? () => gramOf(continuousValues, categoricalCodes, centre, scale, n)
        : undefined,
  };
}

/** Widest P whose P × P Gram matrix the operator computes (32 MiB). */
const MAX_GRAM_WIDTH = 2048;

/**
 * AᵀA in one pass over the table, from sums rather than products with A: for continuous
 * columns Σ(x − μ)(y − ν); for a continuous column and a dummy Σ_{level}(x − μ) − p·Σ(x − μ);
 * for two dummies the co-occurrence count N_ab − p_b·N_a − p_a·N_b + n·p_a·p_b. Each then
 * times both columns' scales.
 */
function gramOf(
  continuousValues: readonly Float64Array[],
  categoricalCodes: readonly CategoricalCodes[],
  centre: Float64Array,
  scale: Float64Array,
  n: number,
): Float64Array {
  const width = centre.length;
  const continuousCount = continuousValues.length;
  const variables = categoricalCodes.length;
  const sums = new Float64Array(width * width); // centred continuous sums; raw dummy counts
  const totals = new Float64Array(continuousCount); // Σ(x − μ), 0 on the fitted table
  const counts = new Float64Array(width); // N_a
  const dummies = categoricalCodes.map(() => new Int32Array(ROW_BLOCK));
  const centred = continuousValues.map(() => new Float64Array(ROW_BLOCK));
  for (let start = 0; start < n; start += ROW_BLOCK) {
    const size = Math.min(n, start + ROW_BLOCK) - start;
    for (let j = 0; j < continuousCount; j++) {
      const values = continuousValues[j]!;
      const target = centred[j]!;
      const mean = centre[j]!;
      let total = 0;
      for (let i = 0; i < size; i++) {
        target[i] = values[start + i]! - mean;
        total += target[i]!;
      }
      totals[j]! += total;
    }
    for (let v = 0; v < variables; v++) {
      const { codes, dummyOf } = categoricalCodes[v]!;
      const target = dummies[v]!;
      for (let i = 0; i < size; i++) {
        const dummy = dummyOf[codes[start + i]!]!;
        target[i] = dummy;
        if (dummy >= 0) counts[dummy]!++;
      }
    }
    for (let j = 0; j < continuousCount; j++) {
      const x = centred[j]!;
      for (let k = j; k < continuousCount; k++) {
        const y = centred[k]!;
        let sum = 0;
        for (let i = 0; i < size; i++) sum += x[i]! * y[i]!;
        sums[j * width + k]! += sum;
      }
      for (let v = 0; v < variables; v++) {
        const levels = dummies[v]!;
        for (let i = 0; i < size; i++) if (levels[i]! >= 0) sums[j * width + levels[i]!]! += x[i]!;
      }
    }
    for (let v = 0; v < variables; v++) {
      const first = dummies[v]!;
      for (let w = v + 1; w < variables; w++) {
        const second = dummies[w]!;
        for (let i = 0; i < size; i++) {
          if (first[i]! >= 0 && second[i]! >= 0) sums[first[i]! * width + second[i]!]!++;
        }
      }
    }
  }
  const gram = new Float64Array(width * width);
  for (let a = 0; a < width; a++) {
    for (let b = a; b < width; b++) {
      let sum: number;
      if (b < continuousCount) {
        sum = sums[a * width + b]!;
      } else if (a < continuousCount) {
        sum = sums[a * width + b]! - centre[b]! * totals[a]!;
      } else {
        // Two dummies of one variable never co-occur; a dummy with itself co-occurs N_a times.
        const together = a === b ? counts[a]! : sums[a * width + b]! + sums[b * width + a]!;
        sum = together - centre[b]! * counts[a]! - centre[a]! * counts[b]! + n * centre[a]! * centre[b]!;
      }
      gram[a * width + b] = sum * scale[a]! * scale[b]!;
      gram[b * width + a] = gram[a * width + b]!;
    }
  }
  return gram;
}
