/**
 * Identities for the identity-crops output: one object each (shape class and proportions, aspect,
 * body colour, surface pattern), fixed by the job's seed and the identity's index. Every crop of an
 * identity draws this same object; only pose, lighting, occlusion, background and noise change.
 */
import { deriveSeed, Rng } from '../rng.ts';
import { contrastingColour, paletteColour, type Rgb } from './colour.ts';
import { drawShapeForm, type ShapeForm } from './geometry.ts';
import { type ClassChoice, type Palette, SHAPE_CLASSES, type ShapeClass } from './parameters.ts';

export const PATTERN_KINDS = ['plain', 'stripes', 'halves', 'core', 'spots'] as const;
export type PatternKind = (typeof PATTERN_KINDS)[number];

/** A disc in the object's unit frame (see `Identity`). */
export interface Spot {
  x: number;
  y: number;
  radius: number;
}

/**
 * Markings in the object's own unit frame, so that they turn, scale and squash with it: the
 * markings of an identity look the same in every crop.
 */
export type Pattern =
  | { kind: 'plain' }
  | { kind: 'stripes'; colour: Rgb; angle: number; period: number; phase: number }
  | { kind: 'halves'; colour: Rgb; angle: number }
  | { kind: 'core'; colour: Rgb; radius: number }
  | { kind: 'spots'; colour: Rgb; spots: readonly Spot[] };

/**
 * One object. Its unit frame has the origin at the centre of the circumscribed circle, radius 1,
 * y pointing down as in the image; `aspect` squashes the object along that frame's y axis.
 */
export interface Identity {
  index: number;
  /** The identity's folder name in the archive, e.g. `id_0003`. */
  name: string;
  shape: ShapeClass;
  form: ShapeForm;
  /** Height over width in the unit frame, in (0, 1]: a fixed proportion of this object. */
  aspect: number;
  colour: Rgb;
  pattern: Pattern;
}

/**
 * Candidates drawn per identity; the one least like every earlier identity is kept. Independent
 * draws of 500 identities from a narrow palette would often repeat an object closely enough to
 * confuse a re-identification model; keeping the most distinct of a few candidates spreads them
 * out while each identity still depends only on the seed and the identities before it.
 */
const CANDIDATES_PER_IDENTITY = 8;
const MIN_ASPECT = 0.65;
const MAX_RGB_DISTANCE = Math.hypot(255, 255, 255);

/**
 * The first `count` identities of a job. Identity i depends on the seed and on identities 0..i-1
 * only, so a job with more identities starts with exactly the identities of a smaller one.
 */
export function drawIdentities(
  seed: number,
  count: number,
  classes: ClassChoice,
  palette: Palette,
): Identity[] {
  const identities: Identity[] = [];
  for (let index = 0; index < count; index++) {
    const rng = new Rng(identityAttributesSeed(seed, index));
    let best: Identity | undefined;
    let bestDistance = Number.NEGATIVE_INFINITY;
    for (let candidate = 0; candidate < CANDIDATES_PER_IDENTITY; candidate++) {
      const drawn = drawIdentity(index, classes, palette, rng);
      const distance = nearestIdentityDistance(drawn, identities);
      if (distance > bestDistance) {
        best = drawn;
        bestDistance = distance;
      }
    }
    identities.push(best as Identity);
  }
  return identities;
}

/** The seed of crop `crop` of identity `index`; stream 0 of an identity draws its attributes. */
export function cropSeed(seed: number, index: number, crop: number): number {
  return deriveSeed(deriveSeed(seed, index), crop + 1);
}

function identityAttributesSeed(seed: number, index: number): number {
  return deriveSeed(deriveSeed(seed, index), 0);
}

export function identityName(index: number): string {
  return `id_${String(index).padStart(4, '0')}`;
}

function drawIdentity(index: number, classes: ClassChoice, palette: Palette, rng: Rng): Identity {
  const shape = classes === 'all' ? rng.pick(SHAPE_CLASSES) : classes;
  const form = drawShapeForm(shape, rng);
  const aspect = rng.between(MIN_ASPECT, 1);
  const colour = paletteColour(palette, rng);
  return {
    index,
    name: identityName(index),
    shape,
    form,
    aspect,
    colour,
    pattern: drawPattern(colour, palette, rng),
  };
}

function drawPattern(body: Rgb, palette: Palette, rng: Rng): Pattern {
  const kind = rng.pick(PATTERN_KINDS);
  if (kind === 'plain') return { kind };
  // A marking the colour of the body would be invisible.
  const colour = contrastingColour(palette, [body], rng);
  switch (kind) {
    case 'stripes':
      // Periods of a third to a half of the radius: four to six stripes across the object.
      return {
        kind,
        colour,
        angle: rng.between(0, Math.PI),
        period: rng.between(0.3, 0.5),
        phase: rng.float(),
      };
    case 'halves':
      return { kind, colour, angle: rng.between(0, 2 * Math.PI) };
    case 'core':
      return { kind, colour, radius: rng.between(0.3, 0.5) };
    case 'spots': {
      const spots = Array.from({ length: rng.int(1, 3) }, () => {
        const distance = rng.between(0, 0.45);
        const angle = rng.between(0, 2 * Math.PI);
        return {
          x: distance * Math.cos(angle),
          y: distance * Math.sin(angle),
          radius: rng.between(0.12, 0.2),
        };
      });
      return { kind, colour, spots };
    }
  }
}

/** The identity's colour at (u, v) in its unit frame (a point inside the object). */
export function surfaceColour(identity: Identity, u: number, v: number): Rgb {
  const { pattern } = identity;
  switch (pattern.kind) {
    case 'plain':
      return identity.colour;
    case 'stripes': {
      const along =
        (u * Math.cos(pattern.angle) + v * Math.sin(pattern.angle)) / pattern.period + pattern.phase;
      return along - Math.floor(along) < 0.5 ? pattern.colour : identity.colour;
    }
    case 'halves':
      return u * Math.cos(pattern.angle) + v * Math.sin(pattern.angle) > 0 ? pattern.colour : identity.colour;
    case 'core':
      return u * u + v * v < pattern.radius * pattern.radius ? pattern.colour : identity.colour;
    case 'spots':
      return pattern.spots.some((spot) => Math.hypot(u - spot.x, v - spot.y) < spot.radius)
        ? pattern.colour
        : identity.colour;
  }
}

/**
 * How unlike two identities look, roughly in "visible differences": another class counts 1,
 * another pattern 0.5, and colours up to 2 (body) and 0.5 (marking) over the whole RGB range.
 */
function identityDistance(a: Identity, b: Identity): number {
  const shape = a.shape === b.shape ? 0 : 1;
  const pattern = a.pattern.kind === b.pattern.kind ? 0 : 0.5;
  const body = rgbDistance(a.colour, b.colour) / MAX_RGB_DISTANCE;
  const marking = rgbDistance(markingColour(a), markingColour(b)) / MAX_RGB_DISTANCE;
  return shape + pattern + 2 * body + 0.5 * marking;
}

function nearestIdentityDistance(identity: Identity, others: readonly Identity[]): number {
  let nearest = Number.POSITIVE_INFINITY;
  for (const other of others) nearest = Math.min(nearest, identityDistance(identity, other));
  return nearest;
}

function markingColour(identity: Identity): Rgb {
  return identity.pattern.kind === 'plain' ? identity.colour : identity.pattern.colour;
}

function rgbDistance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}
