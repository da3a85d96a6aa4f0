/**
 * The structural similarity index (Wang, Bovik, Sheikh and Simoncelli, "Image quality assessment:
 * from error visibility to structural similarity", IEEE Transactions on Image Processing 13(4),
 * 2004) on the Rec. 601 luma, and a batch's diversity as one minus its mean pairwise SSIM.
 *
 * As in the paper: an 11 × 11 circular-symmetric Gaussian window of σ = 1.5, normalised to a sum of
 * one; C1 = (0.01 · 255)² and C2 = (0.03 · 255)²; the SSIM map over every position where the window
 * fits in the image ("valid"), and its mean. The paper chose the Gaussian over an 8 × 8 block
 * window because the block window shows blocking artefacts in the map; the Gaussian is separable,
 * so it costs 22 multiplications a pixel rather than 121.
 *
 * Images are compared on a common grid of at most MAX_SIDE × MAX_SIDE, both resampled to it by area
 * averaging (each new pixel the mean of the old pixels it covers, in proportion to the area). The
 * paper's own code likewise shrinks large images first, since SSIM measures structure at the scale
 * its window sees. On one core a pair of 512 px images takes a few milliseconds (most of it their
 * luma), and a batch's 2016 pairs of 64 px thumbnails about half a second.
 */
import { Rng } from '../generators/rng.ts';
import { luminance, type Pixels } from './quality.ts';

/** The largest side of the grid two images are compared on. */
export const MAX_SIDE = 128;
/** A batch's thumbnails: small enough that a batch of thousands keeps a few KB per image. */
export const THUMBNAIL_SIDE = 64;
/** A batch larger than this is measured on this many of its images, drawn with a fixed seed. */
export const MAX_COMPARED_IMAGES = 64;

const WINDOW = 11;
const SIGMA = 1.5;
const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;
const KERNEL = gaussianKernel(WINDOW, SIGMA);
/** Any fixed value: the images a large batch is measured on depend only on its size. */
const SAMPLING_SEED = 0x5515;

/** SSIM of two images in [−1, 1]: 1 for identical luma, near 0 for unrelated content. */
export function ssim(a: Pixels, b: Pixels): number {
  const width = Math.max(WINDOW, Math.min(a.width, b.width, MAX_SIDE));
  const height = Math.max(WINDOW, Math.min(a.height, b.height, MAX_SIDE));
  return compare(
    localStatistics(resampledLuma(a, width, height), width, height),
    localStatistics(resampledLuma(b, width, height), width, height),
  );
}

/**
 * A grey `side` × `side` image of the luma, by area averaging: a batch keeps these rather than its
 * images. The aspect ratio is not kept, so that every image of a batch lands on the same grid.
 */
export function thumbnail(image: Pixels, side = THUMBNAIL_SIDE): Pixels {
  if (!Number.isInteger(side) || side < WINDOW) {
    throw new RangeError(`a thumbnail's side must be a whole number of at least ${WINDOW}, got ${side}`);
  }
  if (image.channels === 1 && image.width === side && image.height === side) return image;
  const luma = resampledLuma(image, side, side);
  return { width: side, height: side, channels: 1, data: Uint8ClampedArray.from(luma) };
}

/**
 * The mean SSIM over pairs of a batch's images (or their thumbnails), compared as `side` × `side`
 * thumbnails; a batch's diversity is one minus it. Up to MAX_COMPARED_IMAGES images, every pair;
 * beyond, every pair of MAX_COMPARED_IMAGES images drawn with a fixed seed (2016 pairs), so that
 * the cost stays bounded and the same batch always gets the same answer.
 */
export function meanPairwiseSsim(images: readonly Pixels[], side = THUMBNAIL_SIDE): number {
  if (images.length < 2) throw new RangeError(`a mean pairwise SSIM needs two images, got ${images.length}`);
  const chosen = comparedIndices(images.length).map((index) => {
    const small = thumbnail(images[index] as Pixels, side);
    return localStatistics(Float64Array.from(small.data), side, side);
  });
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < chosen.length; i++) {
    for (let j = i + 1; j < chosen.length; j++, pairs++) {
      sum += compare(chosen[i] as LocalStatistics, chosen[j] as LocalStatistics);
    }
  }
  return sum / pairs;
}

/** 1 − mean pairwise SSIM: 0 for a batch of copies, near 1 for unrelated images. */
export function diversity(images: readonly Pixels[], side = THUMBNAIL_SIDE): number {
  return 1 - meanPairwiseSsim(images, side);
}

/** Every index, or MAX_COMPARED_IMAGES of them drawn without replacement (partial Fisher–Yates). */
function comparedIndices(count: number): number[] {
  const indices = Array.from({ length: count }, (_, index) => index);
  if (count <= MAX_COMPARED_IMAGES) return indices;
  const rng = new Rng(SAMPLING_SEED);
  for (let k = 0; k < MAX_COMPARED_IMAGES; k++) {
    const pick = rng.int(k, count - 1);
    [indices[k], indices[pick]] = [indices[pick] as number, indices[k] as number];
  }
  return indices.slice(0, MAX_COMPARED_IMAGES).sort((a, b) => a - b);
}

/** An image's luma and its windowed means and second moments, over the valid positions. */
interface LocalStatistics {
  luma: Float64Array;
  width: number;
  height: number;
  mean: Float64Array;
  /** The windowed mean of the squared luma, E[x²]. */
  square: Float64Array;
}

function localStatistics(luma: Float64Array, width: number, height: number): LocalStatistics {
  return {
    luma,
    width,
    height,
    mean: filterValid(luma, width, height),
    square: filterValid(
      luma.map((value) => value * value),
      width,
      height,
    ),
  };
}

/** The mean of the SSIM map. Every term is symmetric in x and y, so ssim(a, b) = ssim(b, a) exactly. */
function compare(x: LocalStatistics, y: LocalStatistics): number {
  const products = new Float64Array(x.luma.length);
  for (let i = 0; i < products.length; i++) products[i] = (x.luma[i] as number) * (y.luma[i] as number);
  const cross = filterValid(products, x.width, x.height);
  let sum = 0;
  for (let i = 0; i < cross.length; i++) {
    const mx = x.mean[i] as number;
    const my = y.mean[i] as number;
    const mxx = mx * mx;
    const myy = my * my;
    const mxy = mx * my;
    const covariance = (cross[i] as number) - mxy;
    const varianceX = Math.max(0, (x.square[i] as number) - mxx);
    const varianceY = Math.max(0, (y.square[i] as number) - myy);
    sum += ((2 * mxy + C1) * (2 * covariance + C2)) / ((mxx + myy + C1) * (varianceX + varianceY + C2));
  }
  // Rounding in the windowed moments could step a hair outside the bound the formula keeps.
  return Math.min(1, Math.max(-1, sum / cross.length));
}

function gaussianKernel(size: number, sigma: number): Float64Array {
  const centre = (size - 1) / 2;
  const kernel = Float64Array.from({ length: size }, (_, i) =>
    Math.exp(-((i - centre) ** 2) / (2 * sigma ** 2)),
  );
  const total = kernel.reduce((sum, weight) => sum + weight, 0);
  return kernel.map((weight) => weight / total);
}

/** The Gaussian-weighted mean around every position where the window fits, rows then columns. */
function filterValid(values: Float64Array, width: number, height: number): Float64Array {
  const outWidth = width - WINDOW + 1;
  const outHeight = height - WINDOW + 1;
  const rows = new Float64Array(outWidth * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outWidth; x++) {
      let sum = 0;
      for (let k = 0; k < WINDOW; k++) sum += (KERNEL[k] as number) * (values[y * width + x + k] as number);
      rows[y * outWidth + x] = sum;
    }
  }
  const out = new Float64Array(outWidth * outHeight);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      let sum = 0;
      for (let k = 0; k < WINDOW; k++)
        sum += (KERNEL[k] as number) * (rows[(y + k) * outWidth + x] as number);
      out[y * outWidth + x] = sum;
    }
  }
  return out;
}

/** The luma on a `width` × `height` grid: as it is when the sizes match, else area-averaged. */
function resampledLuma(image: Pixels, width: number, height: number): Float64Array {
  const { width: sourceWidth, height: sourceHeight, channels, data } = image;
  if (sourceWidth * sourceHeight === 0)
    throw new RangeError(`an image of ${sourceWidth} × ${sourceHeight} has no pixels`);
  if (data.length !== sourceWidth * sourceHeight * channels) {
    throw new RangeError(
      `${data.length} bytes are not ${sourceWidth} × ${sourceHeight} pixels of ${channels} channels`,
    );
  }
  const luma = luminance(image);
  if (sourceWidth === width && sourceHeight === height) return luma;
  const across = areaWeights(sourceWidth, width);
  const down = areaWeights(sourceHeight, height);
  const rows = new Float64Array(width * sourceHeight);
  for (let y = 0; y < sourceHeight; y++) {
    for (let x = 0; x < width; x++) rows[y * width + x] = across.apply(luma, y * sourceWidth, x, 1);
  }
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) out[y * width + x] = down.apply(rows, x, y, width);
  }
  return out;
}

/**
 * Each new pixel's share of the old pixels along one axis: new pixel d covers the old interval
 * [d · from / to, (d + 1) · from / to), and each old pixel weighs the part of it that lies inside.
 * Growing (to > from) gives each new pixel the one or two old pixels under it.
 */
function areaWeights(from: number, to: number) {
  const firsts = new Int32Array(to);
  const weights: Float64Array[] = [];
  for (let d = 0; d < to; d++) {
    const start = (d * from) / to;
    const end = ((d + 1) * from) / to;
    const first = Math.floor(start);
    const last = Math.min(from, Math.ceil(end));
    firsts[d] = first;
    weights.push(
      Float64Array.from({ length: last - first }, (_, k) => {
        const overlap = Math.min(first + k + 1, end) - Math.max(first + k, start);
        return (overlap * to) / from;
      }),
    );
  }
  return {
    /** Σ weight · values[offset + (first + k) · stride], for new pixel `d`. */
    apply(values: Float64Array, offset: number, d: number, stride: number): number {
      const first = firsts[d] as number;
      const shares = weights[d] as Float64Array;
      let sum = 0;
      for (let k = 0; k < shares.length; k++) {
        sum += (shares[k] as number) * (values[offset + (first + k) * stride] as number);
      }
      return sum;
    },
  };
}
