import type { ParameterSpec, ParamValues } from '../../../contracts/generators.ts';

export interface RenderOptions {
  preview: boolean;
  /** Called as frames finish, with a fraction in [0, 1]. */
  onProgress?: (fraction: number, message: string) => void | Promise<void>;
}

export interface RenderResult {
  /** The job's result: a ZIP archive. */
  archive: Uint8Array;
  frames: number;
}

/**
 * A generator: a parameter schema in Infinity's format and a renderer. Parameters passed to
 * `render` and `estimateFrames` are complete (defaults applied) and already validated.
 */
export interface Generator {
  name: string;
  description: string;
  /** What a standard job produces, in one sentence. */
  output: string;
  runsOn: 'lambda' | 'endpoint';
  allowsPreview: boolean;
  parameters: readonly ParameterSpec[];
  estimateFrames(params: ParamValues, preview: boolean): number;
  render(params: ParamValues, options: RenderOptions): Promise<RenderResult>;
}
