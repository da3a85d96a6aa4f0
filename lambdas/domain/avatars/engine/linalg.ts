/**
 * The projection's linear algebra: a truncated SVD of a matrix given only as an operator (its
 * products with thin dense matrices), so that a million-row table is never expanded into its
 * n × P standardised form.
 *
 * It follows saiph's `reduction/utils/svd.py`: Halko, Martinsson and Tropp's randomized SVD
 * ("Finding structure with randomness", algorithms 4.4 and 5.1, with q = 2 power iterations and
 * a Gaussian sketch) when `nf < 0.8·min(rows, cols)`, else an exact SVD; then scikit-learn's
 * `svd_flip` (the sign that makes each left singular vector's largest entry positive).
 *
 * Every dense matrix here is a row-major `Float64Array`.
 */
import { EigenvalueDecomposition, Matrix, SingularValueDecomposition } from 'ml-matrix';
import type { Random } from './rng.ts';

/** A rows × cols matrix known through its products with thin dense matrices. */
export interface LinearOperator {
  readonly rows: number;
  readonly cols: number;
  /** A·X, for X of cols × m; writes into `out` (rows × m) when given. */
  multiply(x: Float64Array, m: number, out?: Float64Array): Float64Array;
  /** Aᵀ·Y, for Y of rows × m; writes into `out` (cols × m) when given. */
  multiplyTranspose(y: Float64Array, m: number, out?: Float64Array): Float64Array;
  /**
   * AᵀA (cols × cols), where the operator can build it more cheaply than from products (the
   * exact SVD of a tall operator uses it).
   */
  readonly gram?: (() => Float64Array) | undefined;
}

/** The leading singular triplets that matter to a projection: values and right vectors. */
export interface SvdResult {
  /** Singular values, largest first. */
  readonly s: Float64Array;
  /** Right singular vectors as rows: `s.length × cols`. */
  readonly vt: Float64Array;
  readonly method: 'randomized' | 'exact';
}

export interface SvdOptions {
  /** Power iterations of the randomized SVD (saiph: 2). */
  readonly powerIterations?: number;
  /**
   * Extra sketch columns of the randomized SVD. saiph uses none (its sketch has exactly nf
   * columns), the default; more make the trailing kept vectors more accurate, at a cost that
   * grows with the square of the sketch's width.
   */
  readonly oversampling?: number;
  /** Use the exact SVD whatever nf is. */
  readonly exact?: boolean;
  /**
   * Largest rows × cols the exact SVD expands into a dense matrix (ml-matrix's SVD); above it,
   * the exact SVD eigen-decomposes the smaller Gram matrix (AᵀA or AAᵀ) instead.
   */
  readonly denseLimit?: number;
}

export const DEFAULT_POWER_ITERATIONS = 2;
export const DEFAULT_OVERSAMPLING = 0;
const DEFAULT_DENSE_LIMIT = 1 << 20;

/** A dense rows × cols matrix as an operator. */
export function denseOperator(data: Float64Array, rows: number, cols: number): LinearOperator {
  if (data.length !== rows * cols) throw new Error(`expected ${rows * cols} values, got ${data.length}`);
  return {
    rows,
    cols,
    multiply: (x, m, out) => multiplyDense(data, rows, cols, x, m, out),
    multiplyTranspose: (y, m, out) => {
      const result = zeroed(out, cols * m);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          const a = data[i * cols + j]!;
          if (a === 0) continue;
          for (let c = 0; c < m; c++) result[j * m + c]! += a * y[i * m + c]!;
        }
      }
      return result;
    },
  };
}

/** Aᵀ as an operator. */
export function transposeOperator(op: LinearOperator): LinearOperator {
  return {
    rows: op.cols,
    cols: op.rows,
    multiply: (x, m, out) => op.multiplyTranspose(x, m, out),
    multiplyTranspose: (y, m, out) => op.multiply(y, m, out),
  };
}

/** A (rows × inner) · B (inner × m), dense. */
export function multiplyDense(
  a: Float64Array,
  rows: number,
  inner: number,
  b: Float64Array,
  m: number,
  out?: Float64Array,
): Float64Array {
  const result = zeroed(out, rows * m);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < inner; j++) {
      const value = a[i * inner + j]!;
      if (value === 0) continue;
      for (let c = 0; c < m; c++) result[i * m + c]! += value * b[j * m + c]!;
    }
  }
  return result;
}

/** The transpose of a rows × cols matrix. */
export function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const result = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) result[j * rows + i] = a[i * cols + j]!;
  return result;
}

function zeroed(out: Float64Array | undefined, length: number): Float64Array {
  if (out === undefined) return new Float64Array(length);
  if (out.length !== length) throw new Error(`output buffer holds ${out.length} values, not ${length}`);
  return out.fill(0);
}

/**
 * Overwrites a tall rows × cols matrix (rows ≥ cols) with the Q of its thin QR decomposition,
 * by Householder reflections (LAPACK's dgeqr2 then dorg2r). Q has orthonormal columns even
 * when the input is rank-deficient, which the randomized SVD meets whenever its sketch is
 * wider than the matrix's rank (a FAMD's dummies of one variable are linearly dependent).
 * (CholeskyQR2 was tried: it saves only a fifth of the time here and needs this as a fallback.)
 */
export function orthonormalizeInPlace(a: Float64Array, rows: number, cols: number): Float64Array {
  if (rows < cols) throw new Error(`cannot orthonormalize ${cols} columns of length ${rows}`);
  const tau = new Float64Array(cols);
  const w = new Float64Array(cols);
  for (let k = 0; k < cols; k++) {
    let tail = 0;
    for (let i = k + 1; i < rows; i++) {
      const x = a[i * cols + k]!;
      tail += x * x;
    }
    if (tail === 0) continue; // Already triangular in this column: H = I.
    const alpha = a[k * cols + k]!;
    let norm = Math.sqrt(alpha * alpha + tail);
    if (!(tail > 1e-280 && norm < 1e280)) norm = scaledNorm(a, rows, cols, k);
    const beta = (alpha >= 0 ? -1 : 1) * norm;
    tau[k] = (beta - alpha) / beta;
    const scale = 1 / (alpha - beta);
    for (let i = k + 1; i < rows; i++) a[i * cols + k]! *= scale;
    a[k * cols + k] = beta;
    applyReflector(a, rows, cols, k, tau[k]!, w);
  }
  for (let k = cols - 1; k >= 0; k--) {
    const t = tau[k]!;
    if (k < cols - 1) {
      a[k * cols + k] = 1;
      applyReflector(a, rows, cols, k, t, w);
    }
    for (let i = k + 1; i < rows; i++) a[i * cols + k]! *= -t;
    a[k * cols + k] = 1 - t;
    for (let i = 0; i < k; i++) a[i * cols + k] = 0;
  }
  return a;
}

/** ‖a[k.., k]‖ scaled by its largest entry, so that squares neither underflow nor overflow. */
function scaledNorm(a: Float64Array, rows: number, cols: number, k: number): number {
  let largest = 0;
  for (let i = k; i < rows; i++) largest = Math.max(largest, Math.abs(a[i * cols + k]!));
  let sum = 0;
  for (let i = k; i < rows; i++) {
    const x = a[i * cols + k]! / largest;
    sum += x * x;
  }
  return largest * Math.sqrt(sum);
}

/** Applies I − τ·v·vᵀ, v = (1, a[k+1.., k]), to the columns right of k, rows k and below. */
function applyReflector(a: Float64Array, rows: number, cols: number, k: number, t: number, w: Float64Array) {
  if (t === 0 || k + 1 >= cols) return;
  for (let j = k + 1; j < cols; j++) w[j] = a[k * cols + j]!;
  for (let i = k + 1; i < rows; i++) {
    const base = i * cols;
    const v = a[base + k]!;
    if (v === 0) continue;
    for (let j = k + 1; j < cols; j++) w[j]! += v * a[base + j]!;
  }
  for (let j = k + 1; j < cols; j++) {
    w[j]! *= t;
    a[k * cols + j]! -= w[j]!;
  }
  for (let i = k + 1; i < rows; i++) {
    const base = i * cols;
    const v = a[base + k]!;
    if (v === 0) continue;
    for (let j = k + 1; j < cols; j++) a[base + j]! -= v * w[j]!;
  }
}

/**
 * The leading `nf` singular values and right vectors, as saiph's `get_svd`: randomized when
 * `nf < 0.8·min(rows, cols)`, exact otherwise; signs normalised as `svd_flip`. `nf` above
 * min(rows, cols) gives min(rows, cols) components.
 */
export function truncatedSvd(
  op: LinearOperator,
  nf: number,
  random: Random,
  options: SvdOptions = {},
): SvdResult {
  const smaller = Math.min(op.rows, op.cols);
  if (!options.exact && nf < 0.8 * smaller) return randomizedSvd(op, nf, random, options);
  return exactSvd(op, nf, options);
}

/**
 * Halko et al.'s randomized SVD, as saiph's `get_direct_randomized_svd`: a Gaussian sketch of
 * the row space, power iterations re-orthonormalised at each step, then the small SVD of QᵀA.
 * A wide matrix is decomposed through its transpose, as saiph does.
 */
export function randomizedSvd(
  op: LinearOperator,
  nf: number,
  random: Random,
  options: SvdOptions = {},
): SvdResult {
  checkRank(op, nf);
  const smaller = Math.min(op.rows, op.cols);
  const k = Math.min(nf, smaller);
  const sketch = Math.min(k + (options.oversampling ?? DEFAULT_OVERSAMPLING), smaller);
  const powerIterations = options.powerIterations ?? DEFAULT_POWER_ITERATIONS;
  const wide = op.rows < op.cols;
  const a = wide ? transposeOperator(op) : op;

  const omega = new Float64Array(a.cols * sketch);
  for (let i = 0; i < omega.length; i++) omega[i] = random.normal();
  const y = a.multiply(omega, sketch);
  orthonormalizeInPlace(y, a.rows, sketch);
  const yt = new Float64Array(a.cols * sketch);
  for (let iteration = 0; iteration < powerIterations; iteration++) {
    a.multiplyTranspose(y, sketch, yt);
    orthonormalizeInPlace(yt, a.cols, sketch);
    a.multiply(yt, sketch, y);
    orthonormalizeInPlace(y, a.rows, sketch);
  }
  // Bᵀ = AᵀQ (a.cols × sketch); B = Ũ·S·Ṽᵀ, so Bᵀ's left vectors are Ṽ and its right ones Ũ.
  const bt = a.multiplyTranspose(y, sketch);
  const small = new SingularValueDecomposition(new Matrix(rowsOf(bt, a.cols, sketch)), {
    autoTranspose: true,
  });
  const s = Float64Array.from(small.diagonal.slice(0, k));
  const uTilde = columnsAsRows(small.rightSingularVectors, k); // k × sketch
  // a's left vectors QŨ (a.rows × k).
  const left = multiplyDense(y, a.rows, sketch, transpose(uTilde, k, sketch), k);
  if (!wide) {
    const vt = columnsAsRows(small.leftSingularVectors, k);
    return applySigns({ s, vt, method: 'randomized' }, signsFromLeft(left, a.rows, s, vt, op));
  }
  // A = aᵀ ≈ Ṽ·S·(QŨ)ᵀ: A's right vectors are the columns of QŨ, its left ones those of Ṽ.
  const vt = transpose(left, a.rows, k);
  return applySigns(
    { s, vt, method: 'randomized' },
    signsFromLeft(transpose(columnsAsRows(small.leftSingularVectors, k), k, a.cols), a.cols, s, vt, op),
  );
}

/**
 * The exact SVD's leading `nf` components (all of min(rows, cols) by default): ml-matrix's SVD
 * of the expanded matrix when it is small, else the eigen-decomposition of the Gram matrix of
 * the smaller side, built from blocks of operator products so that A is never expanded.
 * The Gram route squares the condition number, so singular values below ~1e-8·s₁ lose their
 * relative accuracy; the projection only needs the leading ones.
 */
export function exactSvd(op: LinearOperator, nf?: number, options: SvdOptions = {}): SvdResult {
  const smaller = Math.min(op.rows, op.cols);
  const k = Math.min(nf ?? smaller, smaller);
  checkRank(op, k);
  if (op.rows * op.cols <= (options.denseLimit ?? DEFAULT_DENSE_LIMIT)) {
    const dense = op.multiply(identity(op.cols), op.cols);
    const svd = new SingularValueDecomposition(new Matrix(rowsOf(dense, op.rows, op.cols)), {
      computeLeftSingularVectors: false,
      autoTranspose: true,
    });
    return flipSigns(op, {
      s: Float64Array.from(svd.diagonal.slice(0, k)),
      vt: columnsAsRows(svd.rightSingularVectors, k),
      method: 'exact',
    });
  }
  const tall = op.rows >= op.cols;
  const side = tall ? op : transposeOperator(op);
  const gram = tall && op.gram ? op.gram() : gramMatrix(side);
  const eigen = new EigenvalueDecomposition(new Matrix(rowsOf(gram, side.cols, side.cols)), {
    assumeSymmetric: true,
  });
  const values = eigen.realEigenvalues;
  const order = values.map((_, index) => index).sort((p, q) => values[q]! - values[p]! || p - q);
  const s = new Float64Array(k);
  const vectors = new Float64Array(k * side.cols); // eigenvectors as rows
  for (let c = 0; c < k; c++) {
    s[c] = Math.sqrt(Math.max(values[order[c]!]!, 0));
    for (let j = 0; j < side.cols; j++)
      vectors[c * side.cols + j] = eigen.eigenvectorMatrix.get(j, order[c]!);
  }
  if (tall) return flipSigns(op, { s, vt: vectors, method: 'exact' });
  // The Gram matrix was AAᵀ: its eigenvectors are A's left vectors; A's right ones are Aᵀu/s.
  const right = op.multiplyTranspose(transpose(vectors, k, op.rows), k); // cols × k
  const vt = new Float64Array(k * op.cols);
  // Through the Gram matrix a null singular value comes out near √ε·s₁, not 0.
  const tolerance = (s[0] ?? 0) * 1e-7;
  for (let c = 0; c < k; c++) {
    // A null direction has no defined right vector; a zero row projects every point onto 0.
    if (s[c]! <= tolerance) continue;
    for (let j = 0; j < op.cols; j++) vt[c * op.cols + j] = right[j * k + c]! / s[c]!;
  }
  return flipSigns(op, { s, vt, method: 'exact' });
}

function checkRank(op: LinearOperator, nf: number) {
  if (!Number.isInteger(nf) || nf < 1)
    throw new Error(`the number of components must be a positive integer, not ${nf}`);
  if (op.rows < 1 || op.cols < 1) throw new Error(`cannot decompose a ${op.rows} × ${op.cols} matrix`);
}

/** AᵀA for a tall operator, a block of unit columns at a time so that A·E stays small. */
function gramMatrix(op: LinearOperator): Float64Array {
  const n = op.cols;
  const block = Math.max(1, Math.min(n, Math.floor(4_000_000 / Math.max(op.rows, 1))));
  const gram = new Float64Array(n * n);
  const columns = new Float64Array(op.rows * block);
  for (let start = 0; start < n; start += block) {
    const width = Math.min(block, n - start);
    const unit = new Float64Array(n * width);
    for (let c = 0; c < width; c++) unit[(start + c) * width + c] = 1;
    const image = op.multiply(unit, width, width === block ? columns : undefined);
    const product = op.multiplyTranspose(image, width); // n × width
    for (let j = 0; j < n; j++)
      for (let c = 0; c < width; c++) gram[j * n + start + c] = product[j * width + c]!;
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const mean = (gram[i * n + j]! + gram[j * n + i]!) / 2;
      gram[i * n + j] = mean;
      gram[j * n + i] = mean;
    }
  }
  return gram;
}

/** Below this, a singular value is taken for zero. */
function nullTolerance(s: Float64Array, op: LinearOperator): number {
  return (s[0] ?? 0) * Math.max(op.rows, op.cols) * Number.EPSILON * 16;
}

/**
 * scikit-learn's `svd_flip` (u-based): each component's sign makes the largest-magnitude entry
 * of its left vector u = A·v/s positive (the first such entry on ties).
 */
function flipSigns(op: LinearOperator, result: SvdResult): SvdResult {
  const k = result.s.length;
  const images = op.multiply(transpose(result.vt, k, op.cols), k); // rows × k: A·vᵀ = s·u
  return applySigns(result, signsFromLeft(images, op.rows, result.s, result.vt, op));
}

/**
 * The sign of each column's largest-magnitude entry in `left` (rows × k, any positive multiple
 * of the left vectors). A null component, whose left vector is undefined, takes the sign of its
 * right vector's largest entry instead.
 */
function signsFromLeft(
  left: Float64Array,
  rows: number,
  s: Float64Array,
  vt: Float64Array,
  op: LinearOperator,
): Int8Array {
  const k = s.length;
  const cols = vt.length / k;
  const tolerance = nullTolerance(s, op);
  const signs = new Int8Array(k);
  const best = new Float64Array(k);
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < k; c++) {
      const value = left[i * k + c]!;
      if (Math.abs(value) > best[c]!) {
        best[c] = Math.abs(value);
        signs[c] = Math.sign(value);
      }
    }
  }
  for (let c = 0; c < k; c++) {
    if (s[c]! > tolerance && signs[c] !== 0) continue;
    let largest = 0;
    signs[c] = 1;
    for (let j = 0; j < cols; j++) {
      const value = vt[c * cols + j]!;
      if (Math.abs(value) > largest) {
        largest = Math.abs(value);
        signs[c] = Math.sign(value);
      }
    }
  }
  return signs;
}

function applySigns(result: SvdResult, signs: Int8Array): SvdResult {
  const cols = result.vt.length / result.s.length;
  signs.forEach((sign, c) => {
    if (sign < 0) for (let j = 0; j < cols; j++) result.vt[c * cols + j] = -result.vt[c * cols + j]!;
  });
  return result;
}

function identity(n: number): Float64Array {
  const result = new Float64Array(n * n);
  for (let i = 0; i < n; i++) result[i * n + i] = 1;
  return result;
}

function rowsOf(data: Float64Array, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, i) => Array.from(data.subarray(i * cols, (i + 1) * cols)));
}

/** The first k columns of a matrix, as the rows of a row-major k × matrix.rows array. */
function columnsAsRows(matrix: Matrix, k: number): Float64Array {
  const result = new Float64Array(k * matrix.rows);
  for (let c = 0; c < k; c++)
    for (let i = 0; i < matrix.rows; i++) result[c * matrix.rows + i] = matrix.get(i, c);
  return result;
}
