/** The field checks every reader of stored records and stage settings shares (lambdas/domain/field-checks.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  arrayOf,
  type FieldChecks,
  invalidField,
  isNumber,
  isString,
  NOT_AN_OBJECT,
  objectProblem,
  objectWith,
  optional,
} from '../../../lambdas/domain/field-checks.ts';

interface Sample {
  name: string;
  sizes: number[];
  note?: string;
}

const CHECKS: FieldChecks<Sample> = { name: isString, sizes: arrayOf(isNumber), note: optional(isString) };
const isSample = objectWith<Sample>(CHECKS);

const aSample = fc.record(
  { name: fc.string(), sizes: fc.array(fc.double({ noNaN: true })), note: fc.string() },
  { requiredKeys: ['name', 'sizes'] },
);

describe('field checks', () => {
  it('accept every value of the type, with or without its optional fields', () => {
    fc.assert(
      fc.property(aSample, (sample) => {
        // Act and Assess
        expect(isSample(sample)).toBe(true);
        expect(invalidField(sample, CHECKS)).toBeUndefined();
      }),
    );
  });

  it('name the first field that is missing or of another type', () => {
    fc.assert(
      fc.property(
        aSample,
        fc.constantFrom<keyof Sample>('name', 'sizes', 'note'),
        fc.constantFrom(42, 'text', [true], null, { nested: 1 }),
        (sample, field, wrong) => {
          // Prepare: a value the field's check refuses (an optional field may be absent, not null).
          const broken: Record<string, unknown> = { ...sample, [field]: wrong };
          fc.pre(!(field === 'name' && typeof wrong === 'string'));
          fc.pre(!(field === 'note' && typeof wrong === 'string'));

          // Act
          const invalid = invalidField(broken, CHECKS);

          // Assess
          expect(invalid).toBe(field);
          expect(isSample(broken)).toBe(false);
        },
      ),
    );
  });

  it('refuse a missing required field, and anything that is not an object', () => {
    // Assess
    expect(invalidField({ sizes: [] }, CHECKS)).toBe('name');
    expect(objectProblem({ sizes: [] }, CHECKS)).toBe('name');
    expect(objectProblem({ name: 'n', sizes: [] }, CHECKS)).toBeUndefined();
    for (const value of [null, undefined, 'sample', [1, 2], 7]) {
      expect(isSample(value)).toBe(false);
      expect(objectProblem(value, CHECKS)).toBe(NOT_AN_OBJECT);
    }
  });
});
