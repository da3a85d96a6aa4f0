/**
 * The engine's seeded random numbers. A fixed `seed` gives identical avatars, so every draw (the
 * SVD sketch, the exponential weights, the neighbour permutation, the modality draws, the shuffle)
 * comes from one generator created from it, in a fixed order.
 *
 * xoshiro128** (Blackman and Vigna) seeded through splitmix32: small, fast with 32-bit integer
 * arithmetic, and with a state that can be forked into independent streams for worker threads.
 */
export interface Random {
  /** A uniform double in [0, 1). */
  next(): number;
  /** A uniform integer in [0, n). */
  int(n: number): number;
  /** A standard normal draw (Box–Muller). */
  normal(): number;
  /** An Exp(1) draw. */
  exponential(): number;
  /** A new generator whose stream depends on this one's next draws, for a worker or a sub-task. */
  fork(): Random;
}

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A generator from a seed: any integer, or a number whose integer part is used. */
export function createRandom(seed: number): Random {
  const mix = splitmix32(Math.trunc(seed) ^ Math.trunc(seed / 0x1_0000_0000));
  const s = new Uint32Array([mix(), mix(), mix(), mix()]);
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;
  let spareNormal: number | undefined;

  const nextUint32 = (): number => {
    const s0 = s[0]!;
    const s1 = s[1]!;
    const s2 = s[2]!;
    const s3 = s[3]!;
    const product = Math.imul(s1, 5);
    const result = Math.imul((product << 7) | (product >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s[2] = s2 ^ s0;
    s[3] = s3 ^ s1;
    s[1] = s1 ^ s[2]!;
    s[0] = s0 ^ s[3]!;
    s[2] = s[2]! ^ t;
    s[3] = (s[3]! << 11) | (s[3]! >>> 21);
    return result;
  };

  const random: Random = {
    // 53 random bits: two draws, as a double in [0, 1).
    next: () => (nextUint32() * 0x20_0000 + (nextUint32() >>> 11)) / 2 ** 53,
    int: (n) => Math.floor(random.next() * n),
    normal: () => {
      if (spareNormal !== undefined) {
        const value = spareNormal;
        spareNormal = undefined;
        return value;
      }
      let u = 0;
      while (u === 0) u = random.next();
      const v = random.next();
      const radius = Math.sqrt(-2 * Math.log(u));
      spareNormal = radius * Math.sin(2 * Math.PI * v);
      return radius * Math.cos(2 * Math.PI * v);
    },
    exponential: () => -Math.log(1 - random.next()),
    fork: () => createRandom(nextUint32() * 0x1_0000 + (nextUint32() >>> 16)),
  };
  return random;
}

/** Fisher–Yates: a uniformly random permutation of 0..n-1. */
export function permutation(n: number, random: Random): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const swap = order[i]!;
    order[i] = order[j]!;
    order[j] = swap;
  }
  return order;
}
