/**
 * The datasets family's settings, read from a function's environment as the stack writes it
 * (lib/families/datasets.ts): the defaults when a variable is missing, a bad value failing the cold
 * start with the variable's name, and the export buckets' list read back as written.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SYNC_EXPORT_LIMIT,
  datasetsConfigFromEnv,
} from '../../../../lambdas/families/datasets/runtime.ts';

const SEED = Number(process.env.FC_SEED ?? 1_001);

/** A bucket name as S3 allows it: lower-case letters, digits, dots and hyphens, 3 to 63 characters. */
const bucketName = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/);

describe('datasetsConfigFromEnv', () => {
  it('reads an empty environment as the stage defaults: AWS detectors, nothing allowed, no bucket', () => {
    // Act
    const config = datasetsConfigFromEnv({});

    // Assess
    expect(config).toEqual({
      detectors: 'aws',
      allowPublicRead: false,
      exportBuckets: [],
      requirePrivacyValidation: false,
      syncExportLimit: DEFAULT_SYNC_EXPORT_LIMIT,
    });
    expect(DEFAULT_SYNC_EXPORT_LIMIT).toBe(200);
  });

  it('reads every variable the stack sets', () => {
    // Act
    const config = datasetsConfigFromEnv({
      DATASETS_DETECTORS: 'bundled',
      DATASETS_ALLOW_PUBLIC_READ: 'true',
      DATASETS_EXPORT_BUCKETS: 'team-exports,partner.datasets',
      DATASETS_REQUIRE_PRIVACY_VALIDATION: 'true',
      DATASETS_SYNC_EXPORT_LIMIT: '25',
      DATASETS_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:datasets',
    });

    // Assess
    expect(config).toEqual({
      detectors: 'bundled',
      allowPublicRead: true,
      exportBuckets: ['team-exports', 'partner.datasets'],
      requirePrivacyValidation: true,
      syncExportLimit: 25,
      stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:datasets',
    });
  });

  it('takes only `true` as true for the flags, as String(boolean) writes them', () => {
    // Act
    const off = datasetsConfigFromEnv({
      DATASETS_ALLOW_PUBLIC_READ: 'false',
      DATASETS_REQUIRE_PRIVACY_VALIDATION: 'false',
    });
    const on = datasetsConfigFromEnv({
      DATASETS_ALLOW_PUBLIC_READ: 'true',
      DATASETS_REQUIRE_PRIVACY_VALIDATION: 'true',
    });

    // Assess
    expect([off.allowPublicRead, off.requirePrivacyValidation]).toEqual([false, false]);
    expect([on.allowPublicRead, on.requirePrivacyValidation]).toEqual([true, true]);
  });

  it.each(['rekognition', 'AWS', ''])('fails on DATASETS_DETECTORS=%j, naming the variable', (value) => {
    expect(() => datasetsConfigFromEnv({ DATASETS_DETECTORS: value })).toThrow(
      `environment variable DATASETS_DETECTORS must be aws or bundled, got ${value}`,
    );
  });

  it('fails on a DATASETS_SYNC_EXPORT_LIMIT that is no number, naming the variable', () => {
    expect(() => datasetsConfigFromEnv({ DATASETS_SYNC_EXPORT_LIMIT: 'two hundred' })).toThrow(
      'environment variable DATASETS_SYNC_EXPORT_LIMIT must be a number',
    );
  });

  it.each([
    { name: 'missing', env: {} },
    { name: 'empty', env: { DATASETS_EXPORT_BUCKETS: '' } },
    { name: 'only commas', env: { DATASETS_EXPORT_BUCKETS: ',,' } },
  ])('reads a $name bucket list as no bucket', ({ env }) => {
    expect(datasetsConfigFromEnv(env).exportBuckets).toEqual([]);
  });

  it('reads the tenants of each bucket, and refuses a variable that is no such map', () => {
    // Act
    const config = datasetsConfigFromEnv({
      DATASETS_EXPORT_BUCKETS: 'acme-exports',
      DATASETS_EXPORT_BUCKET_TENANTS: '{"acme-exports":["acme"]}',
    });

    // Assess
    expect(config.exportBucketTenants).toEqual({ 'acme-exports': ['acme'] });
    expect(datasetsConfigFromEnv({}).exportBucketTenants).toBeUndefined();
    expect(() => datasetsConfigFromEnv({ DATASETS_EXPORT_BUCKET_TENANTS: '["acme"]' })).toThrow(
      'DATASETS_EXPORT_BUCKET_TENANTS',
    );
  });

  it('reads back any list of buckets the stack joins with commas', () => {
    fc.assert(
      fc.property(fc.array(bucketName, { maxLength: 8 }), (buckets) => {
        // Act
        const config = datasetsConfigFromEnv({ DATASETS_EXPORT_BUCKETS: buckets.join(',') });

        // Assess
        expect(config.exportBuckets).toEqual(buckets);
      }),
      { seed: SEED },
    );
  });
});
