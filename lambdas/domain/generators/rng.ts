/**
 * A small seedable PRNG (sfc32, seeded through splitmix32) so that every random choice a generator
 * makes is reproducible from the job's seed. Math.random cannot be seeded, so it is never used.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareGaussian: number | undefined;

  constructor(seed: number) {
    const expand = splitmix32(seed >>> 0);
    this.a = expand();
    this.b = expand();
    this.c = expand();
    this.d = expand();
    // sfc32's first outputs still correlate with the seed; discarding a few is the usual remedy.
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.uint32() / 4_294_967_296;
  }

  /** Uniform in [min, max]; max itself is reached only through rounding. */
  between(min: number, max: number): number {
    return Math.min(max, min + this.float() * (max - min));
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }

  /** Standard normal (Box-Muller; the second value of each pair is kept for the next call). */
  gaussian(): number {
    const spare = this.spareGaussian;
    if (spare !== undefined) {
      this.spareGaussian = undefined;
      return spare;
    }
    const u = 1 - this.float(); // (0, 1]: log(0) would be -Infinity
    const v = this.float();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareGaussian = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }
}

/**
 * A seed for the `index`-th independent stream of a job seeded with `seed` (frame i of a job).
 * Mixing, rather than seed + i, keeps neighbouring jobs' frames from sharing streams.
 */
export function deriveSeed(seed: number, index: number): number {
  const seedHash = splitmix32(seed >>> 0)();
  // splitmix32's output is a bijection of its input, so distinct indices give distinct seeds.
  return splitmix32((seedHash ^ index) >>> 0)();
}

function splitmix32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
}
