/**
 * Reading a job record back: every field of its kind's type is checked, a field of another kind is
 * refused, and the first field that does not fit is named.
 */
import { describe, expect, it } from 'vitest';
import { JOB_KINDS } from '../../../../contracts/jobs.ts';
import { isJobOfKind, isJobRecord, jobRecordProblem } from '../../../../lambdas/domain/jobs/model.ts';
import { aJob } from '../../../support/jobs.ts';

const tenant = 'model-tenant';

describe('jobRecordProblem', () => {
  it.each(JOB_KINDS)('finds nothing wrong with a record of kind %s', (kind) => {
    expect(jobRecordProblem(aJob({ tenant, kind }))).toBeUndefined();
  });

  it('accepts a record without its optional fields, and one with a field no record type names', () => {
    // Prepare
    const { name: _name, preview: _preview, ...bare } = aJob({ tenant, name: 'n', preview: true });
    const withLegacy = { ...bare, legacyAttribute: 'kept' };

    // Act and Assess
    for (const value of [bare, withLegacy]) {
      expect(jobRecordProblem(value)).toBeUndefined();
      expect(isJobRecord(value)).toBe(true);
    }
  });

  it.each([
    ['a record that is not an object', 'job', '(not an object)'],
    ['an unknown kind', { ...aJob({ tenant }), kind: 'avatar' }, 'kind'],
    ['a missing common field', { ...aJob({ tenant }), createdAt: undefined }, 'createdAt'],
    ['a result without its key', { ...aJob({ tenant }), result: { bytes: 1, contentType: 'x' } }, 'result'],
    ['a batch whose total is not a number', { ...aJob({ tenant, kind: 'batch' }), total: '3' }, 'total'],
    [
      'image parameters of the wrong type',
      { ...aJob({ tenant, kind: 'image' }), params: { prompt: 1 } },
      'params',
    ],
    ['an inference without its token', { ...aJob({ tenant, kind: 'image' }), inference: {} }, 'inference'],
    [
      "an image job with a generation job's field",
      { ...aJob({ tenant, kind: 'image' }), preview: true },
      'preview',
    ],
    [
      'training parameters without the run name',
      { ...aJob({ tenant, kind: 'training' }), params: {} },
      'params',
    ],
  ])('names the field of %s', (_case, value, field) => {
    expect(jobRecordProblem(value)).toBe(field);
    expect(isJobRecord(value)).toBe(false);
  });
});

describe('isJobOfKind', () => {
  it('tells the kind a record is', () => {
    const job = aJob({ tenant, kind: 'training' });
    expect(isJobOfKind(job, 'training')).toBe(true);
    expect(isJobOfKind(job, 'image')).toBe(false);
  });
});
