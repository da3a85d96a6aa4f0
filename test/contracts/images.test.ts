/**
 * The `profile` of seed 001's image requests: a profile's name, exactly as the profile routes
 * accept one, or empty for none (the catalogue's default); anything else is a 400 that names it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProfileName } from '../../contracts/datasets.ts';
import { GenerateBatchRequest, GenerateRequest, ModelRunParams } from '../../contracts/images.ts';

/** Strings near the pattern's edges: its letters, a few it refuses, up to past 64 long. */
const candidate = fc.string({
  unit: fc.constantFrom(...'abz09_-A./ é'.split('')),
  minLength: 0,
  maxLength: 70,
});

describe('profile on the image requests', () => {
  it('accepts exactly the names ProfileName accepts, and empty', () => {
    fc.assert(
      fc.property(candidate, (profile) => {
        // Act
        const accepted = [
          GenerateRequest.safeParse({ prompt: 'x', profile }).success,
          GenerateBatchRequest.safeParse({ prompts: ['x'], profile }).success,
          ModelRunParams.safeParse({ prompt: 'x', profile }).success,
        ];

        // Assess
        const expected = profile === '' || ProfileName.safeParse(profile).success;
        expect(accepted).toEqual([expected, expected, expected]);
      }),
    );
  });

  it('refuses a name of no profile with a message that names the field', () => {
    // Act
    const parsed = GenerateRequest.safeParse({ prompt: 'x', profile: 'Dark Images' });
    const typed = GenerateRequest.safeParse({ prompt: 'x', profile: 3 });

    // Assess
    expect(parsed.error?.issues).toMatchObject([
      { path: ['profile'], message: expect.stringMatching(/^profile must be the name of a profile/) },
    ]);
    expect(typed.error?.issues).toMatchObject([{ path: ['profile'], message: 'profile must be a string' }]);
  });
});
