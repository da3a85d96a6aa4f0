/**
 * The gateway's catalogue: "no such model" (400, with the keys there are) is told apart from "not
 * deployed in this stage" and "cannot be called here" (503, saying why).
 */
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../../lambdas/domain/errors.ts';
import { callableOrThrow, ModelCatalogue } from '../../../../lambdas/domain/inference/catalogue.ts';
import { CLAUDE, GEMMA, NOVA, QWEN, UI_TARS } from './fakes.ts';

const catalogue = () => new ModelCatalogue([CLAUDE, NOVA, QWEN, UI_TARS, GEMMA]);

const thrown = (act: () => unknown): DomainError => {
  try {
    act();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
};

describe('ModelCatalogue', () => {
  it('finds a model by key, of any provider or of the one asked', () => {
    // Act
    const claude = catalogue().require('claude4');
    const qwen = catalogue().require('qwen2-vl-7b', 'sagemaker');

    // Assess
    expect([claude, qwen]).toEqual([CLAUDE, QWEN]);
  });

  it('answers an unknown key with 400 and the supported keys', () => {
    // Act
    const error = thrown(() => catalogue().require('qwen3'));

    // Assess
    expect(error).toMatchObject({
      code: 'INVALID_PARAMETERS',
      status: 400,
      message: 'unknown model key qwen3; supported: claude4, nova, qwen2-vl-7b, ui-tars-1.5-7b, gemma-3-4b',
      details: { parameter: 'model_key', value: 'qwen3' },
    });
  });

  it('gives a callable model, or the 503 of one not deployed or unavailable here', () => {
    // Prepare
    const models = new ModelCatalogue([{ ...CLAUDE, unavailable: 'no AWS credentials' }, QWEN, GEMMA]);
    const callable = (key: string) => callableOrThrow(models.require(key));

    // Act
    const qwen = callable('qwen2-vl-7b');
    const gemma = thrown(() => callable('gemma-3-4b'));
    const claude = thrown(() => callable('claude4'));

    // Assess
    expect(qwen).toBe(QWEN);
    expect(gemma).toMatchObject({ status: 503, details: { reason: 'not_deployed' } });
    expect(gemma.message).toContain('is not deployed in this stage');
    expect(claude).toMatchObject({
      status: 503,
      message: 'model claude4 cannot be called here: no AWS credentials',
    });
  });

  it('lists the EMD models, deployed or not, in the configured order', () => {
    // Act
    const keys = catalogue()
      .emdModels()
      .map((model) => model.key);

    // Assess
    expect(keys).toEqual(['qwen2-vl-7b', 'ui-tars-1.5-7b', 'gemma-3-4b']);
  });

  it('refuses a configuration that names a key twice', () => {
    // Act
    const build = () => new ModelCatalogue([CLAUDE, { ...NOVA, key: 'claude4' }]);

    // Assess
    expect(build).toThrowError('inference model key claude4 is configured twice');
  });
});
