/**
 * Seed 001's image quality metrics (`POST /validate/quality`), on decoded pixels: pure domain code,
 * the same in Lambda and locally. Every metric is computed on the luminance (Rec. 601 weights, as
 * OpenCV's grayscale conversion) except colourfulness, which needs the channels:
 *
 * - `sharpness`: the variance of the Laplacian (the 4-neighbour kernel, OpenCV's `Laplacian` with
 *   ksize 1) over the interior pixels, in grey levels squared: a blurred copy scores lower.
 * - `contrast`: the RMS contrast, the luminance's standard deviation over its largest possible value
 *   (127.5, half black and half white): 0 for a flat image, 1 at most.
 * - `noise_level`: Immerkær's estimate of the standard deviation of additive noise ("Fast noise
 *   variance estimation", Computer Vision and Image Understanding 64(2), 1996): the mean absolute
 *   response to the difference of two Laplacians, × √(π/2) / 6, over 255 (a share of the range).
 * - `brightness`: the mean luminance over 255.
 * - `colourfulness`: Hasler and Süsstrunk's M ("Measuring colourfulness in natural images", 2003),
 *   on the opponent channels rg = R − G and yb = (R + G)/2 − B: σ_rgyb + 0.3·μ_rgyb; 0 for grey.
 */

/** Decoded pixels, row-major, `channels` bytes per pixel (1 grey, 3 RGB, 4 RGBA; alpha is ignored). */
export interface Pixels {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
  readonly data: Uint8Array | Uint8ClampedArray;
}

export interface QualityMetrics {
  sharpness: number;
  contrast: number;
  noise_level: number;
  brightness: number;
  colourfulness: number;
}

/** Every metric of an image of at least 3 × 3 pixels. */
export function qualityMetrics(image: Pixels): QualityMetrics {
  const { width, height, channels, data } = image;
  if (width < 3 || height < 3)
    throw new Error(`an image of ${width} × ${height} is too small to measure (3 × 3 at least)`);
  if (data.length !== width * height * channels) {
    throw new Error(`${data.length} bytes are not ${width} × ${height} pixels of ${channels} channels`);
  }
  const grey = luminance(image);
  return {
    sharpness: laplacianVariance(grey, width, height),
    contrast: standardDeviation(grey) / 127.5,
    noise_level: immerkaerSigma(grey, width, height) / 255,
    brightness: mean(grey) / 255,
    colourfulness: colourfulness(image),
  };
}

/** Rec. 601 luma per pixel, in grey levels (0–255); a grey image is its own luma. */
export function luminance({ width, height, channels, data }: Pixels): Float64Array {
  const grey = new Float64Array(width * height);
  if (channels === 1) {
    for (let i = 0; i < grey.length; i++) grey[i] = data[i]!;
    return grey;
  }
  for (let i = 0, p = 0; i < grey.length; i++, p += channels) {
    grey[i] = 0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]!;
  }
  return grey;
}

export function mean(values: Float64Array): number {
  let sum = 0;
  // Indexed: iterating a typed array with for…of is several times slower here (B14).
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return sum / values.length;
}

/** The population standard deviation (over n, not n − 1): the image is the whole population. */
export function standardDeviation(values: Float64Array): number {
  const average = mean(values);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += ((values[i] as number) - average) ** 2;
  return Math.sqrt(sum / values.length);
}

/** The variance of the 4-neighbour Laplacian over the pixels that have all four neighbours. */
function laplacianVariance(grey: Float64Array, width: number, height: number): number {
  let sum = 0;
  let squares = 0;
  const count = (width - 2) * (height - 2);
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const response = grey[i - 1]! + grey[i + 1]! + grey[i - width]! + grey[i + width]! - 4 * grey[i]!;
      sum += response;
      squares += response * response;
    }
  }
  const average = sum / count;
  return Math.max(0, squares / count - average * average);
}

/** Immerkær's σ: the kernel [1 −2 1; −2 4 −2; 1 −2 1] is blind to edges up to second order. */
function immerkaerSigma(grey: Float64Array, width: number, height: number): number {
  let sum = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const above = i - width;
      const below = i + width;
      const response =
        grey[above - 1]! -
        2 * grey[above]! +
        grey[above + 1]! +
        -2 * grey[i - 1]! +
        4 * grey[i]! -
        2 * grey[i + 1]! +
        grey[below - 1]! -
        2 * grey[below]! +
        grey[below + 1]!;
      sum += Math.abs(response);
    }
  }
  return (Math.sqrt(Math.PI / 2) * sum) / (6 * (width - 2) * (height - 2));
}

function colourfulness({ width, height, channels, data }: Pixels): number {
  if (channels === 1) return 0;
  const count = width * height;
  let rgSum = 0;
  let ybSum = 0;
  let rgSquares = 0;
  let ybSquares = 0;
  for (let p = 0; p < count * channels; p += channels) {
    const rg = data[p]! - data[p + 1]!;
    const yb = 0.5 * (data[p]! + data[p + 1]!) - data[p + 2]!;
    rgSum += rg;
    ybSum += yb;
    rgSquares += rg * rg;
    ybSquares += yb * yb;
  }
  const rgMean = rgSum / count;
  const ybMean = ybSum / count;
  const rgVariance = Math.max(0, rgSquares / count - rgMean * rgMean);
  const ybVariance = Math.max(0, ybSquares / count - ybMean * ybMean);
  return Math.sqrt(rgVariance + ybVariance) + 0.3 * Math.sqrt(rgMean * rgMean + ybMean * ybMean);
}
