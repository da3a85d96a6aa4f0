/**
 * B14's reference for the quality metrics: the five numbers of `qualityMetrics`
 * (lambdas/domain/validation/quality.ts) as a straightforward program would compute them from the
 * same decoded pixels: the luminance as rows of plain arrays, each metric in a loop of its own over
 * them, means and variances in two passes, the 3 × 3 kernels written as kernels. It is not tuned;
 * it is the floor the project's single-pass loops over typed arrays are measured against.
 */
import type { Pixels, QualityMetrics } from '../../lambdas/domain/validation/quality.ts';

const LAPLACIAN = [
  [0, 1, 0],
  [1, -4, 1],
  [0, 1, 0],
];
const IMMERKAER = [
  [1, -2, 1],
  [-2, 4, -2],
  [1, -2, 1],
];

export function plainQualityMetrics(image: Pixels): QualityMetrics {
  const { width, height, channels, data } = image;
  const grey: number[][] = [];
  for (let y = 0; y < height; y++) {
    const row: number[] = [];
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * channels;
      const r = data[p] ?? 0;
      const g = data[p + 1] ?? 0;
      const b = data[p + 2] ?? 0;
      row.push(channels === 1 ? r : 0.299 * r + 0.587 * g + 0.114 * b);
    }
    grey.push(row);
  }

  const all = grey.flat();
  const brightness = meanOf(all);
  const contrast = Math.sqrt(varianceOf(all)) / 127.5;
  const sharpness = varianceOf(convolveInterior(grey, LAPLACIAN));
  const immerkaer = convolveInterior(grey, IMMERKAER).map(Math.abs);
  const noiseSigma =
    (Math.sqrt(Math.PI / 2) * immerkaer.reduce((sum, v) => sum + v, 0)) / (6 * immerkaer.length);

  let colourfulness = 0;
  if (channels !== 1) {
    const rg: number[] = [];
    const yb: number[] = [];
    for (let i = 0; i < width * height; i++) {
      const r = data[i * channels] ?? 0;
      const g = data[i * channels + 1] ?? 0;
      const b = data[i * channels + 2] ?? 0;
      rg.push(r - g);
      yb.push((r + g) / 2 - b);
    }
    const rgMean = meanOf(rg);
    const ybMean = meanOf(yb);
    colourfulness =
      Math.sqrt(varianceOf(rg) + varianceOf(yb)) + 0.3 * Math.sqrt(rgMean * rgMean + ybMean * ybMean);
  }
  return {
    sharpness,
    contrast,
    noise_level: noiseSigma / 255,
    brightness: brightness / 255,
    colourfulness,
  };
}

/** The kernel's response at every pixel that has all eight neighbours. */
function convolveInterior(grey: number[][], kernel: number[][]): number[] {
  const responses: number[] = [];
  for (let y = 1; y < grey.length - 1; y++) {
    for (let x = 1; x < grey[y]!.length - 1; x++) {
      let sum = 0;
      for (let ky = -1; ky <= 1; ky++) {
        for (let kx = -1; kx <= 1; kx++) sum += kernel[ky + 1]![kx + 1]! * grey[y + ky]![x + kx]!;
      }
      responses.push(sum);
    }
  }
  return responses;
}

function meanOf(values: number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** Over n, as the project's: the image is the whole population. */
function varianceOf(values: number[]): number {
  const mean = meanOf(values);
  return values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / values.length;
}
