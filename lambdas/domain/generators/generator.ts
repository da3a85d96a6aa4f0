import type { ParameterSpec, ParamValues, ParamViolation } from '../../../contracts/generators.ts';

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
 * Two numeric parameters where `lower` must not exceed `upper` (min_objects and max_objects).
 * Declared rather than coded so that validation reports the conflict and random sampling never
 * produces one.
 */
export interface OrderedPair {
  lower: string;
  upper: string;
}

/** The part of a generator that describes and checks its parameters (all that params.ts needs). */
export interface GeneratorSchema {
  name: string;
  parameters: readonly ParameterSpec[];
  orderedPairs?: readonly OrderedPair[];
  /**
   * Cross-field rules that `orderedPairs` cannot express. Called only with complete values whose
   * parameters are each valid on their own; random sampling draws again until they hold.
   */
  validate?(params: ParamValues): ParamViolation[];
}

/**
 * A generator: a parameter schema in Infinity's format and a renderer. Parameters passed to
 * `render` and `estimateFrames` are complete (defaults applied) and already validated.
 */
export interface Generator extends GeneratorSchema {
  description: string;
  /** What a standard job produces, in one sentence. */
  output: string;
  runsOn: 'lambda' | 'endpoint';
  allowsPreview: boolean;
  estimateFrames(params: ParamValues, preview: boolean): number;
  render(params: ParamValues, options: RenderOptions): Promise<RenderResult>;
}
