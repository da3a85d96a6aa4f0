/**
 * An image job read back from the state table: a job with a profile keeps the profile's name and
 * the statistics its image was steered toward, and a record whose profile could not be steered
 * toward is not taken for an image job.
 */
import { describe, expect, it } from 'vitest';
import type { ImageProfile } from '../../../../lambdas/domain/images/job-record.ts';
import { isJobRecord, jobRecordProblem } from '../../../../lambdas/domain/jobs/model.ts';
import { aJob, IMAGE_JOB_PARAMS } from '../../../support/jobs.ts';

const PROFILE: ImageProfile = {
  name: 'dark',
  statistics: {
    color_distribution: { red_mean: 0.1, green_mean: 0.12, blue_mean: 0.2 },
    brightness_mean: 0.12,
    contrast_mean: 0.1,
    brightness_std: 0.02,
    resolution: { width_mean: 512, height_mean: 512 },
  },
};

/** The job as the store reads it: what JSON keeps of it. */
const storedWith = (profile: unknown) => ({
  ...JSON.parse(JSON.stringify(aJob({ tenant: 'acme', kind: 'image' }))),
  params: { ...IMAGE_JOB_PARAMS, profile },
});

describe('an image job record', () => {
  it('is read back with its profile, and without one', () => {
    // Act
    const withProfile = storedWith(PROFILE);
    const { profile: _none, ...withoutProfile } = withProfile.params;

    // Assess
    expect(isJobRecord(withProfile)).toBe(true);
    expect(isJobRecord({ ...withProfile, params: withoutProfile })).toBe(true);
  });

  it.each([
    ['a bare name, not read into statistics', 'dark'],
    [
      'no brightness to steer toward',
      { ...PROFILE, statistics: { ...PROFILE.statistics, brightness_mean: 'low' } },
    ],
    ['no colour means', { ...PROFILE, statistics: { ...PROFILE.statistics, color_distribution: {} } }],
    ['no name', { statistics: PROFILE.statistics }],
  ])('is refused, naming params, when the profile has %s', (_case, profile) => {
    // Act
    const problem = jobRecordProblem(storedWith(profile));

    // Assess
    expect(problem).toBe('params');
  });
});
