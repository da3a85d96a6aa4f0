/**
 * A set's YAML read strictly: every document checked against its kind and against the others, each
 * error naming the document and the field, and nothing accepted that a job could not run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseResources } from '../../../../lambdas/domain/avatars/parse-resources.ts';
import { DomainError } from '../../../../lambdas/domain/errors.ts';

const SCHEMA = `kind: AvatarSchema
metadata: {name: schema}
spec:
  tables:
    - name: wbcd
      data: {file: wbcd.csv}
`;

/** The 400 a set answers, with its message and per-document errors. */
function refusal(yaml: string): {
  message: string;
  errors: { document: number; field: string; message: string }[];
} {
  try {
    parseResources(yaml);
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    const domain = error as DomainError;
    expect(domain.code).toBe('INVALID_PARAMETERS');
    return { message: domain.message, errors: (domain.details?.errors ?? []) as never };
  }
  throw new Error('the set was accepted');
}

describe('parseResources', () => {
  it('reads the Runner’s set: every document, in order', () => {
    // Act
    const set = parseResources(
      `${SCHEMA}---\nkind: AvatarParameters\nmetadata: {name: standard}\nspec:\n  schema: schema\n  avatarization:\n    wbcd: {k: 20, ncp: 2}\n  seed: 1\n`,
    );

    // Assess
    expect(set.documents.map((document) => `${document.kind}/${document.metadata.name}`)).toEqual([
      'AvatarSchema/schema',
      'AvatarParameters/standard',
    ]);
  });

  it('names the document, its kind and name, and the field of each error', () => {
    // Act
    const { message, errors } = refusal(
      `${SCHEMA}---\nkind: AvatarParameters\nmetadata: {name: standard}\nspec:\n  schema: schema\n  avatarization:\n    wbcd: {k: 0, ncpp: 2}\n`,
    );

    // Assess
    expect(message).toMatch(
      /^invalid resources: document 2 \(AvatarParameters standard\): spec\.avatarization\.wbcd/,
    );
    expect(errors.map((error) => error.field).sort()).toEqual([
      'spec.avatarization.wbcd',
      'spec.avatarization.wbcd.k',
    ]);
  });

  it('refuses two tables whose result files would have the same name', () => {
    // Act
    const { errors } = refusal(
      'kind: AvatarSchema\nmetadata: {name: schema}\nspec:\n  tables:\n    - {name: a.b, data: {file: one.csv}}\n    - {name: a_dot_b, data: {file: two.csv}}\n',
    );

    // Assess
    expect(errors).toEqual([
      expect.objectContaining({
        document: 1,
        field: 'spec.tables.1.name',
        message: expect.stringMatching(/a\.b and a_dot_b/),
      }),
    ]);
  });

  it('refuses a document of no known kind, features it does not run, and a parameters document without its schema', () => {
    expect(refusal('kind: AvatarSomething\nmetadata: {name: x}\nspec: {}\n').errors[0]).toMatchObject({
      document: 1,
      field: 'kind',
    });
    expect(
      refusal(
        `${SCHEMA}---\nkind: AvatarParameters\nmetadata: {name: dp}\nspec: {schema: schema, avatarization_dp: {wbcd: {epsilon: 1}}}\n`,
      ).message,
    ).toMatch(/differential privacy/);
    expect(refusal('kind: AvatarParameters\nmetadata: {name: p}\nspec: {schema: missing}\n').message).toMatch(
      /no AvatarSchema named missing/,
    );
  });

  it('refuses a set whose aliases expand without bound, rather than expanding them', () => {
    // Prepare: each line doubles the one before (a "billion laughs").
    const lines = ['a: &a ["x", "x"]'];
    for (let i = 1; i < 30; i++) lines.push(`a${i}: &a${i} [*a${i - 1}, *a${i - 1}]`);

    // Act + Assess
    expect(refusal(`${lines.join('\n')}\nkind: AvatarSchema\n`).message).toMatch(/not valid YAML/);
    expect(refusal('kind: *nowhere\n').message).toMatch(/not valid YAML/);
  });

  it('never accepts text that is not a set, and answers every such text with a 400 (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          const set = parseResources(text);
          // Anything accepted is made of known documents.
          expect(set.documents.length).toBeGreaterThan(0);
        } catch (error) {
          expect(error).toBeInstanceOf(DomainError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
