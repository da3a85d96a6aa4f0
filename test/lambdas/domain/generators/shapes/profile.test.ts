import { describe, expect, it } from 'vitest';
import type { ParamValues } from '../../../../../contracts/generators.ts';
import { describeGenerator } from '../../../../../lambdas/domain/generators/catalogue.ts';
import {
  applyDefaults,
  drawParamSets,
  randomParams,
  validateParams,
} from '../../../../../lambdas/domain/generators/params.ts';
import { Rng } from '../../../../../lambdas/domain/generators/rng.ts';
import type { CocoDataset } from '../../../../../lambdas/domain/generators/shapes/coco.ts';
import { readShapesParams } from '../../../../../lambdas/domain/generators/shapes/parameters.ts';
import { readProfile } from '../../../../../lambdas/domain/generators/shapes/profile.ts';
import { shapesGenerator } from '../../../../../lambdas/domain/generators/shapes/shapes-generator.ts';
import {
  type ImageStatistics,
  imageStatistics,
  ProfileAccumulator,
} from '../../../../../lambdas/domain/validation/statistics.ts';
import { profileDistance, steeringTarget } from '../../../../../lambdas/domain/validation/steer.ts';
import { readZipFiles } from '../../archive/read-zip.ts';
import { decodePng } from './decode-png.ts';

/** A dark, red-dominant profile, as the platform resolves a profile name into the job's value. */
const DARK_RED = {
  name: 'dark_red',
  statistics: {
    color_distribution: { red_mean: 0.4, green_mean: 0.12, blue_mean: 0.1 },
    brightness_mean: 0.2,
    contrast_mean: 0.2,
    resolution: { width_mean: 640, height_mean: 480 },
  },
};

const SMALL = { image_width: 96, image_height: 72 };

interface RenderedJob {
  files: Map<string, Uint8Array>;
  /** Absent for identity crops. */
  coco: CocoDataset | undefined;
  params: ParamValues;
  /** The frames' statistics folded as a profile's. */
  statistics: ImageStatistics;
}

async function renderJob(values: ParamValues, preview = false): Promise<RenderedJob> {
  const { archive } = await shapesGenerator.render(applyDefaults(shapesGenerator, values), { preview });
  const files = readZipFiles(archive);
  const json = (name: string) => JSON.parse(Buffer.from(files.get(name) ?? []).toString('utf8'));
  const accumulator = new ProfileAccumulator();
  for (const [name, bytes] of files) {
    if (!name.endsWith('.png')) continue;
    const png = decodePng(bytes);
    accumulator.add(imageStatistics({ width: png.width, height: png.height, channels: 3, data: png.rgb }));
  }
  const profile = accumulator.statistics();
  const { color_distribution: colours } = profile;
  return {
    files,
    coco: files.has('annotations.json') ? json('annotations.json') : undefined,
    params: json('params.json'),
    statistics: {
      ...colours,
      red_std: 0,
      green_std: 0,
      blue_std: 0,
      width: profile.resolution.width_mean,
      height: profile.resolution.height_mean,
      brightness: profile.brightness_mean,
      contrast: profile.contrast_mean,
    },
  };
}

describe('shapes profile parameter', () => {
  it('is listed as a string parameter whose default is no profile', () => {
    // Act
    const params = describeGenerator(shapesGenerator).params;

    // Assess
    expect(params.find((spec) => spec.name === 'profile')).toMatchObject({
      type: 'str',
      default_value: '',
      description: expect.stringMatching(/profile/),
    });
    expect(params.at(-1)?.name).toBe('profile');
  });

  it.each([
    ['no profile', ''],
    ['a profile name, before the platform resolves it', 'unsplash_nature'],
    ['a resolved profile', DARK_RED],
    [
      'a resolved profile with more statistics than steering reads',
      { ...DARK_RED, sample_count: 3, extra: true },
    ],
  ])('accepts %s', (_, profile) => {
    // Act
    const violations = validateParams(shapesGenerator, { profile });

    // Assess
    expect(violations).toBeNull();
  });

  it.each([
    ['a number', 3, 'type', /got 3/],
    ['null', null, 'type', /got null/],
    ['an array', [DARK_RED], 'type', /got an array/],
    ['an object without a name', { statistics: DARK_RED.statistics }, 'type', /profile\.name/],
    ['an object without statistics', { name: 'dark_red' }, 'type', /profile\.statistics/],
    [
      'a colour mean that is not a number',
      { ...DARK_RED, statistics: { ...DARK_RED.statistics, color_distribution: { red_mean: '0.4' } } },
      'type',
      /color_distribution\.red_mean must be a number/,
    ],
    [
      'a brightness above 1',
      { ...DARK_RED, statistics: { ...DARK_RED.statistics, brightness_mean: 2 } },
      'range',
      /brightness_mean must be in \[0, 1\], got 2/,
    ],
  ])('refuses %s, naming the field', (_, profile, kind, message) => {
    // Act
    const violations = validateParams(shapesGenerator, { profile });

    // Assess
    expect(violations).toEqual([
      expect.objectContaining({ parameter: 'profile', kind, message: expect.stringMatching(message) }),
    ]);
  });

  it('is never drawn by random parameters, and kept when given', () => {
    // Prepare
    const rng = new Rng(15);

    // Act
    const random = Array.from({ length: 20 }, () => randomParams(shapesGenerator, rng));
    const kept = drawParamSets(shapesGenerator, { profile: DARK_RED }, 5, rng);

    // Assess
    expect(random.map((values) => values.profile)).toEqual(random.map(() => ''));
    expect(kept).toEqual({ sets: expect.any(Array) });
    if ('sets' in kept) for (const set of kept.sets) expect(set.profile).toEqual(DARK_RED);
  });

  it('reads as no profile when empty or absent (a job stored before it existed)', () => {
    // Act
    const read = [
      readProfile(''),
      readProfile(undefined),
      readShapesParams(applyDefaults(shapesGenerator, {})).profile,
    ];

    // Assess
    expect(read).toEqual([undefined, undefined, undefined]);
  });

  it("steers a job's frames toward the profile: closer to it than the same seed without one", async () => {
    // Prepare
    const values = { ...SMALL, frames: 6, seed: 21, palette: 'pastel' };
    const target = steeringTarget(DARK_RED.statistics);

    // Act
    const plain = await renderJob(values);
    const steered = await renderJob({ ...values, profile: DARK_RED });

    // Assess
    expect(profileDistance(steered.statistics, target)).toBeLessThan(
      profileDistance(plain.statistics, target) / 4,
    );
    expect(steered.statistics.brightness).toBeCloseTo(0.2, 1);
    expect(Math.abs(steered.statistics.brightness - 0.2)).toBeLessThan(
      Math.abs(plain.statistics.brightness - 0.2),
    );
    expect(steered.statistics.red_mean).toBeGreaterThan(2 * steered.statistics.green_mean);
    expect(steered.statistics.red_mean).toBeGreaterThan(2 * steered.statistics.blue_mean);
  });

  it('leaves the annotations as they are, and records the profile in params.json', async () => {
    // Prepare
    const values = { ...SMALL, frames: 2, seed: 4, noise: 0.05 };

    // Act
    const plain = await renderJob(values);
    const steered = await renderJob({ ...values, profile: DARK_RED });

    // Assess
    expect(steered.coco).toEqual(plain.coco);
    expect(steered.files.get('frames/frame_0000.png')).not.toEqual(plain.files.get('frames/frame_0000.png'));
    expect(steered.params.profile).toEqual(DARK_RED);
    expect(plain.params.profile).toBe('');
  });

  it("reruns from params.json to the same archive: the profile's statistics travel with the job", async () => {
    // Prepare
    const first = await renderJob({ ...SMALL, frames: 1, seed: 8, profile: DARK_RED });

    // Act
    const rerun = await renderJob(first.params);

    // Assess
    expect(validateParams(shapesGenerator, first.params)).toBeNull();
    expect(rerun.files).toEqual(first.files);
  });

  it('steers a preview as it steers frame 0', async () => {
    // Act
    const preview = await renderJob({ image_width: 512, image_height: 256, profile: DARK_RED }, true);

    // Assess
    expect(preview.statistics.brightness).toBeCloseTo(0.2, 1);
  });

  it('fails a job whose profile name was never resolved, rather than ignore it', async () => {
    // Act
    const render = renderJob({ ...SMALL, frames: 1, profile: 'unsplash_nature' });

    // Assess
    await expect(render).rejects.toThrow(/profile "unsplash_nature" was not resolved/);
  });

  it('leaves identity crops as they are: their lighting varies on purpose', async () => {
    // Prepare
    const values = { output: 'identity_crops', identities: 2, crops_per_identity: 2, crop_size: 32, seed: 3 };

    // Act
    const plain = await renderJob(values);
    const withProfile = await renderJob({ ...values, profile: DARK_RED });

    // Assess
    const crops = (job: RenderedJob) => [...job.files].filter(([name]) => name.endsWith('.png'));
    expect(crops(withProfile)).toEqual(crops(plain));
  });
});
