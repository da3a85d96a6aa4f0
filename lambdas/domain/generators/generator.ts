import type { ParameterSpec, ParamValues, ParamViolation } from '../../../contracts/generators.ts';

export interface RenderOptions {
  preview: boolean;
  /**
   * The folder the archive's entries go under: the job id, for every stored result, so that jobs
   * extracted into one folder never overwrite each other (see archive/zip.ts). Absent: the root.
   */
  folder?: string | undefined;
  /** Called as frames finish, with a fraction in [0, 1]. */
  onProgress?: (fraction: number, message: string) => void | Promise<void>;
}

export interface RenderResult {
  /** The job's result: a ZIP archive. */
  archive: Uint8Array;
  frames: number;
}

/**
 * Two numeric parameters that bound one range (min_objects and max_objects). Random sampling draws
 * them in order; a job may give them either way round, and the generator reads the smaller as the
 * lower bound. They are not refused when swapped because Infinity's client (seed 000) draws and
 * checks every parameter on its own, within its published options: a rule across parameters would
 * refuse about half of its `random_job()` draws, which its own validation passes.
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
   * Parameters whose values the declared type does not describe in full, each with the check that
   * replaces the type, range and choice checks (a name the platform replaces by an object).
   */
  valueChecks?: ReadonlyMap<string, (value: unknown) => ParamViolation | undefined>;
  /**
   * Cross-field rules. Called only with complete values whose parameters are each valid on their
   * own; random sampling draws again until they hold. Infinity's client cannot know them: keep the
   * values its `random_job()` draws (every parameter within its options) clear of them.
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
