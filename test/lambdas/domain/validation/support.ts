/**
 * Images the validation tests build: grey images drawn from a function of the position, a seeded
 * normal draw for their noise, and fast-check's images of any channel count for the properties.
 */
import fc from 'fast-check';
import type { Pixels } from '../../../../lambdas/domain/validation/quality.ts';

/** A grey image from a function of the pixel's position. */
export function greyImage(width: number, height: number, value: (x: number, y: number) => number): Pixels {
  const data = new Uint8ClampedArray(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = value(x, y);
  return { width, height, channels: 1, data };
}

/** A deterministic standard normal draw (Box–Muller over a Park–Miller sequence). */
export function normals(seed: number): () => number {
  let state = seed;
  const uniform = () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Any image of 1, 3 or 4 channels whose width and height are each from `minSide` to `maxSide` pixels. */
export function anyImageOfSide(minSide: number, maxSide: number): fc.Arbitrary<Pixels> {
  return fc
    .record({
      width: fc.integer({ min: minSide, max: maxSide }),
      height: fc.integer({ min: minSide, max: maxSide }),
      channels: fc.constantFrom(1 as const, 3 as const, 4 as const),
    })
    .chain(({ width, height, channels }) =>
      fc
        .uint8Array({ minLength: width * height * channels, maxLength: width * height * channels })
        .map((data): Pixels => ({ width, height, channels, data })),
    );
}
