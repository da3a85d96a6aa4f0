import type { ParamValues } from '../../../contracts/generators.ts';
import { getGenerator } from '../generators/catalogue.ts';
import type { RenderOptions, RenderResult } from '../generators/generator.ts';

/**
 * Where a job's frames are rendered. In Lambda that is the invocation itself; the local platform
 * renders on worker threads so that its API stays responsive while batches run.
 */
export interface Renderer {
  render(generatorName: string, params: ParamValues, options: RenderOptions): Promise<RenderResult>;
}

export const inProcessRenderer: Renderer = {
  async render(generatorName, params, options) {
    const generator = getGenerator(generatorName);
    if (!generator) throw new Error(`unknown generator ${JSON.stringify(generatorName)}`);
    return generator.render(params, options);
  },
};
