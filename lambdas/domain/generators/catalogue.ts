/**
 * The generators this deployment offers. CPU generators run in Lambda; GPU generators (added later)
 * run on SageMaker endpoints and say so with runsOn 'endpoint'.
 */
import type { GeneratorInfo, GeneratorSummary } from '../../../contracts/generators.ts';
import type { z } from '../../../contracts/zod.ts';
import type { Generator } from './generator.ts';
import { shapesGenerator } from './shapes/shapes-generator.ts';

const GENERATORS: readonly Generator[] = [shapesGenerator];
const BY_NAME = new Map(GENERATORS.map((generator) => [generator.name, generator]));

export function listGenerators(): Generator[] {
  return [...GENERATORS];
}

export function getGenerator(name: string): Generator | undefined {
  return BY_NAME.get(name);
}

/** The list route's entry for a generator. */
export function summarizeGenerator(generator: Generator): z.infer<typeof GeneratorSummary> {
  return {
    name: generator.name,
    description: generator.description,
    runs_on: generator.runsOn,
    options: { preview: generator.allowsPreview },
  };
}

/** The detail route's shape (Infinity's generator info). */
export function describeGenerator(generator: Generator): GeneratorInfo {
  return {
    ...summarizeGenerator(generator),
    params: generator.parameters.map((spec) => structuredClone(spec)),
    output: generator.output,
  };
}
