import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  denseOperator,
  exactSvd,
  multiplyDense,
  orthonormalizeInPlace,
  randomizedSvd,
  transpose,
  truncatedSvd,
} from '../../../../../lambdas/domain/avatars/engine/linalg.ts';
import { createRandom } from '../../../../../lambdas/domain/avatars/engine/rng.ts';

/** An n × n orthogonal matrix: a product of plane rotations by pseudo-random angles. */
function rotations(n: number, seed: number): Float64Array {
  const random = createRandom(seed);
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (let sweep = 0; sweep < 3; sweep++) {
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++) {
        const angle = random.next() * 2 * Math.PI;
        const cos = Math.cos(angle);
        const sin = Math.sin(angle);
        for (let row = 0; row < n; row++) {
          const x = q[row * n + a]!;
          const y = q[row * n + b]!;
          q[row * n + a] = cos * x - sin * y;
          q[row * n + b] = sin * x + cos * y;
        }
      }
    }
  }
  return q;
}

/** A = U·diag(s)·Vᵀ from the first s.length columns of two rotation matrices. */
function knownSvd(rows: number, cols: number, s: number[], seed: number) {
  const fullU = rotations(rows, seed);
  const fullV = rotations(cols, seed + 1);
  const r = s.length;
  const u = new Float64Array(rows * r);
  const vt = new Float64Array(r * cols);
  for (let c = 0; c < r; c++) {
    for (let i = 0; i < rows; i++) u[i * r + c] = fullU[i * rows + c]!;
    for (let j = 0; j < cols; j++) vt[c * cols + j] = fullV[j * cols + c]!;
  }
  const scaled = Float64Array.from(u, (value, index) => value * s[index % r]!);
  return { a: multiplyDense(scaled, rows, r, vt, cols), u, vt };
}

function row(matrix: Float64Array, width: number, index: number): Float64Array {
  return matrix.subarray(index * width, (index + 1) * width);
}

function dot(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i]! * y[i]!;
  return sum;
}

/** Largest |QᵀQ − I| entry for a rows × cols matrix. */
function orthogonalityError(q: Float64Array, rows: number, cols: number): number {
  const gram = multiplyDense(transpose(q, rows, cols), cols, rows, q, cols);
  let error = 0;
  for (let p = 0; p < cols; p++)
    for (let r = 0; r < cols; r++) error = Math.max(error, Math.abs(gram[p * cols + r]! - (p === r ? 1 : 0)));
  return error;
}

describe('exactSvd', () => {
  it.each([
    ['a tall matrix, expanded densely', 40, 6, {}],
    ['a tall matrix, through its Gram matrix', 40, 6, { denseLimit: 0 }],
    ['a wide matrix, expanded densely', 6, 40, {}],
    ['a wide matrix, through its Gram matrix', 6, 40, { denseLimit: 0 }],
  ])('recovers the singular values and vectors of %s', (_, rows, cols, options) => {
    // Prepare
    const s = [9, 4, 2.5, 1, 0.5, 0.25];
    const known = knownSvd(rows, cols, s, 5);

    // Act
    const svd = exactSvd(denseOperator(known.a, rows, cols), undefined, options);

    // Assess: the values, then each right vector up to its sign.
    expect(svd.s.length).toBe(6);
    svd.s.forEach((value, index) => {
      expect(value).toBeCloseTo(s[index]!, 10);
    });
    for (let c = 0; c < 6; c++)
      expect(Math.abs(dot(row(svd.vt, cols, c), row(known.vt, cols, c)))).toBeCloseTo(1, 8);
  });

  it("signs each component so that its left vector's largest entry is positive (svd_flip)", () => {
    // Prepare
    const known = knownSvd(30, 5, [5, 4, 3, 2, 1], 8);
    const op = denseOperator(known.a, 30, 5);

    // Act
    const svd = exactSvd(op);

    // Assess: u = A·v/s.
    const left = op.multiply(transpose(svd.vt, 5, 5), 5);
    for (let c = 0; c < 5; c++) {
      const column = Array.from({ length: 30 }, (_, i) => left[i * 5 + c]!);
      const largest = column.reduce((best, value) => (Math.abs(value) > Math.abs(best) ? value : best), 0);
      expect(largest).toBeGreaterThan(0);
    }
  });

  it('keeps only the leading nf components', () => {
    // Prepare
    const known = knownSvd(20, 8, [8, 7, 6, 5, 4, 3, 2, 1], 2);

    // Act
    const svd = exactSvd(denseOperator(known.a, 20, 8), 3);

    // Assess
    expect(Array.from(svd.s)).toEqual([expect.closeTo(8, 10), expect.closeTo(7, 10), expect.closeTo(6, 10)]);
    expect(svd.vt.length).toBe(3 * 8);
  });
});

describe('randomizedSvd', () => {
  it('finds the exact singular values of a low-rank matrix', () => {
    // Prepare: rank 3, so a sketch of 3 columns spans its range exactly.
    const known = knownSvd(500, 30, [20, 5, 1], 3);
    const op = denseOperator(known.a, 500, 30);

    // Act
    const randomized = randomizedSvd(op, 3, createRandom(1));
    const exact = exactSvd(op, 3);

    // Assess
    for (let c = 0; c < 3; c++) {
      expect(randomized.s[c]).toBeCloseTo(exact.s[c]!, 10);
      expect(dot(row(randomized.vt, 30, c), row(exact.vt, 30, c))).toBeCloseTo(1, 8);
    }
  });

  it('approaches the leading components of a full-rank matrix with a decaying spectrum', () => {
    // Prepare
    const s = Array.from({ length: 20 }, (_, index) => 10 * 0.6 ** index);
    const known = knownSvd(300, 20, s, 4);
    const op = denseOperator(known.a, 300, 20);

    // Act
    const svd = randomizedSvd(op, 3, createRandom(2), { oversampling: 5 });

    // Assess
    for (let c = 0; c < 3; c++) {
      expect(svd.s[c]).toBeCloseTo(s[c]!, 4);
      expect(Math.abs(dot(row(svd.vt, 20, c), row(known.vt, 20, c)))).toBeCloseTo(1, 4);
    }
  });

  it('decomposes a wide matrix through its transpose', () => {
    // Prepare
    const known = knownSvd(12, 200, [6, 3, 2, 1], 6);

    // Act
    const svd = randomizedSvd(denseOperator(known.a, 12, 200), 2, createRandom(3), { oversampling: 2 });

    // Assess
    expect(svd.s[0]).toBeCloseTo(6, 10);
    expect(svd.s[1]).toBeCloseTo(3, 10);
    expect(Math.abs(dot(row(svd.vt, 200, 0), row(known.vt, 200, 0)))).toBeCloseTo(1, 8);
  });

  it('gives the same components for the same seed', () => {
    // Prepare
    const known = knownSvd(100, 10, [5, 4, 3, 2, 1, 0.5, 0.4, 0.3, 0.2, 0.1], 9);
    const op = denseOperator(known.a, 100, 10);

    // Act
    const first = randomizedSvd(op, 2, createRandom(42));
    const second = randomizedSvd(op, 2, createRandom(42));

    // Assess
    expect(Array.from(first.vt)).toEqual(Array.from(second.vt));
    expect(Array.from(first.s)).toEqual(Array.from(second.s));
  });
});

describe('truncatedSvd', () => {
  it("draws a sketch only when nf < 0.8·min(rows, cols), saiph's rule", () => {
    // Prepare
    const known = knownSvd(50, 10, [5, 4, 3, 2, 1, 0.5, 0.4, 0.3, 0.2, 0.1], 1);
    const op = denseOperator(known.a, 50, 10);
    const untouched = createRandom(7).next();

    // Act
    const exactRandom = createRandom(7);
    truncatedSvd(op, 8, exactRandom);
    const sketchRandom = createRandom(7);
    truncatedSvd(op, 7, sketchRandom);

    // Assess
    expect(exactRandom.next()).toBe(untouched);
    expect(sketchRandom.next()).not.toBe(untouched);
  });
});

describe('orthonormalizeInPlace', () => {
  it('gives orthonormal columns that span the input, whatever its rank', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }).chain((cols) =>
          fc.record({
            cols: fc.constant(cols),
            rows: fc.integer({ min: cols, max: 12 }),
            values: fc.array(
              fc.oneof(
                fc.constant(0),
                fc.integer({ min: -3, max: 3 }),
                fc.double({ min: -5, max: 5, noNaN: true }),
              ),
              {
                minLength: 72,
                maxLength: 72,
              },
            ),
            repeatFirstColumn: fc.boolean(),
          }),
        ),
        ({ rows, cols, values, repeatFirstColumn }) => {
          // Prepare
          const a = Float64Array.from({ length: rows * cols }, (_, index) => values[index]!);
          if (repeatFirstColumn) for (let i = 0; i < rows; i++) a[i * cols + cols - 1] = a[i * cols]!;

          // Act
          const q = orthonormalizeInPlace(a.slice(), rows, cols);

          // Assess: QᵀQ = I and Q·Qᵀ·A = A.
          expect(orthogonalityError(q, rows, cols)).toBeLessThan(1e-12);
          const projected = multiplyDense(
            q,
            rows,
            cols,
            multiplyDense(transpose(q, rows, cols), cols, rows, a, cols),
            cols,
          );
          projected.forEach((value, index) => {
            expect(value).toBeCloseTo(a[index]!, 10);
          });
        },
      ),
    );
  });
});
