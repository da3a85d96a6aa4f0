import type { ParameterSpec, ParamValues } from '../../../../contracts/generators.ts';
import type { Rng } from '../../../../lambdas/domain/generators/rng.ts';

/**
 * A job as Infinity's client (seed 000) draws one in `Session.random_job()`: `choices` picked
 * uniformly, int and float parameters drawn in [min, max] each on its own, anything else (bools,
 * free text, `output`) left at its default.
 */
export function infinityRandomJob(parameters: readonly ParameterSpec[], rng: Rng): ParamValues {
  return Object.fromEntries(
    parameters.map((spec) => {
      const { min, max, choices } = spec.options ?? {};
      if (choices) return [spec.name, rng.pick(choices)];
      if (min === undefined || max === undefined) return [spec.name, spec.default_value];
      return [spec.name, spec.type === 'int' ? rng.int(min, max) : rng.between(min, max)];
    }),
  );
}
