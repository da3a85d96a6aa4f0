import * as z from './zod.ts';

/** A generator parameter in Infinity's format (seed 000). */
export const ParameterSpec = z
  .object({
    name: z.string(),
    type: z.enum(['int', 'float', 'str', 'bool']),
    default_value: z.union([z.number(), z.string(), z.boolean()]),
    options: z
      .object({
        min: z.number().optional(),
        max: z.number().optional(),
        choices: z.array(z.union([z.number(), z.string(), z.boolean()])).optional(),
      })
      .optional(),
    description: z.string().optional(),
  })
  .openapi('ParameterSpec');
export type ParameterSpec = z.infer<typeof ParameterSpec>;

export const ParamValues = z.record(z.string(), z.unknown()).openapi('ParamValues', {
  description: 'parameter name to value; unspecified parameters take their default',
});
export type ParamValues = z.infer<typeof ParamValues>;

/** One problem with one parameter of one job. */
export const ParamViolation = z
  .object({
    parameter: z.string(),
    kind: z.enum(['unsupported', 'type', 'range', 'choice']),
    value: z.unknown(),
    constraint: z.string(),
    message: z.string(),
  })
  .openapi('ParamViolation');
export type ParamViolation = z.infer<typeof ParamViolation>;

export const GeneratorSummary = z
  .object({
    name: z.string(),
    description: z.string(),
    runs_on: z.enum(['lambda', 'endpoint']),
    options: z.object({ preview: z.boolean() }),
  })
  .openapi('GeneratorSummary');

export const GeneratorInfo = GeneratorSummary.extend({
  params: z.array(ParameterSpec),
  output: z.string().describe('what a standard job produces'),
}).openapi('GeneratorInfo');
export type GeneratorInfo = z.infer<typeof GeneratorInfo>;
