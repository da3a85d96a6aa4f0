/**
 * A session for one generator, as in seed 000 (Infinity's `Session`): its parameters and defaults,
 * random and validated job parameters, estimates, and batch submission.
 */
import { RandomRequest } from '../../contracts/api.ts';
import { validateParams } from '../../lambdas/domain/generators/params.ts';
import type { ApiClient } from './api-client.ts';
import { Batch } from './batch.ts';
import type {
  BatchEstimate,
  BatchRequest,
  GeneratorInfo,
  ParameterSpec,
  ParamValues,
  ParamViolation,
} from './resources.ts';
import type { CallOptions } from './route-types.ts';

/** The most parameter sets one `/random` request returns (the contract's bound on `n`). */
const MAX_RANDOM_PER_REQUEST = RandomRequest.shape.n.unwrap().maxValue ?? 100;
const MAX_SEED = 2 ** 31 - 1;

/** How a list of jobs is run: all standard, all previews, or one flag per job. */
export interface JobKindOptions {
  /** `true`: every job is a preview (one small frame). An array: one flag per job. Default false. */
  preview?: boolean | readonly boolean[];
}

/** Options of `Session.randomJobParams`. */
export interface RandomParamsOptions extends Pick<CallOptions, 'signal' | 'timeoutMs'> {
  /** Values every drawn set keeps; the other parameters are drawn. */
  keep?: ParamValues;
}

/** Options of `Session.submit`. */
export interface SubmitOptions
  extends JobKindOptions,
    Pick<CallOptions, 'idempotencyKey' | 'signal' | 'timeoutMs'> {
  /** The batch's name, shown in listings. */
  name?: string;
}

/** Works with one generator. Create it with `Session.create(client, 'shapes')` or `manager.session('shapes')`. */
export class Session {
  /** The generator's name. */
  readonly name: string;
  /** Each parameter by name, in the generator's order: type, default_value, options, description. */
  readonly parameterInfo: Readonly<Record<string, ParameterSpec>>;
  /** Every parameter's default value. */
  readonly defaults: Readonly<ParamValues>;

  private constructor(
    readonly client: ApiClient,
    /** The generator as the API describes it. */
    readonly generator: GeneratorInfo,
  ) {
    this.name = generator.name;
    this.parameterInfo = Object.fromEntries(generator.params.map((spec) => [spec.name, spec]));
    this.defaults = Object.fromEntries(generator.params.map((spec) => [spec.name, spec.default_value]));
  }

  /** Reads the generator's description; a generator this deployment does not offer is a 404 `SynthForgeError`. */
  static async create(client: ApiClient, generator: string, options?: CallOptions): Promise<Session> {
    return new Session(client, await client.getGenerator(generator, options));
  }

  /** Whether the generator renders previews. */
  get allowsPreview(): boolean {
    return this.generator.options.preview;
  }

  /**
   * Checks each job's parameters here, before anything is sent: one entry per job, `null` when valid,
   * otherwise every violation (unsupported name, wrong type, out of range, not a choice), with the
   * server's own rules and messages. Rules that span parameters (the crop budgets of an identity-crops
   * job) are not published in the generator's description; the server reports those when the batch is
   * submitted. A scene job has none: its options are its whole rule.
   */
  validateJobParams(jobParams: readonly unknown[]): (ParamViolation[] | null)[] {
    if (!Array.isArray(jobParams)) throw new TypeError('jobParams must be an array, one entry per job');
    const schema = { name: this.name, parameters: this.generator.params };
    return jobParams.map((values) => validateParams(schema, values));
  }

  /**
   * `n` complete, valid parameter sets drawn by the server, which knows the generator's rules across
   * parameters. With a `seed` the same call gives the same sets; `options.keep` fixes some values
   * in every set (`{ frames: 1 }`) and draws only the rest.
   */
  async randomJobParams(n: number, seed?: number, options: RandomParamsOptions = {}): Promise<ParamValues[]> {
    const { keep, ...callOptions } = options;
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a whole number, got ${n}`);
    const drawn: ParamValues[] = [];
    for (let chunk = 0; drawn.length < n; chunk++) {
      const count = Math.min(MAX_RANDOM_PER_REQUEST, n - drawn.length);
      // Each further chunk of a seeded draw takes the next seed, so the whole list is reproducible.
      const chunkSeed = seed === undefined ? undefined : (seed + chunk) % (MAX_SEED + 1);
      const answer = await this.client.randomParams(
        this.name,
        {
          n: count,
          ...(chunkSeed === undefined ? {} : { seed: chunkSeed }),
          ...(keep === undefined ? {} : { param_values: keep }),
        },
        callOptions,
      );
      drawn.push(...answer.job_params);
    }
    return drawn;
  }

  /** `params` completed with random values for every parameter it leaves out; its own values are kept. */
  async randomizeUnspecified(
    params: ParamValues,
    seed?: number,
    options?: CallOptions,
  ): Promise<ParamValues> {
    const answer = await this.client.randomParams(
      this.name,
      { n: 1, param_values: params, ...(seed === undefined ? {} : { seed }) },
      options,
    );
    const [completed] = answer.job_params;
    if (!completed) throw new Error('the server drew no parameter set');
    return completed;
  }

  /** Items, frames per job and estimated cost of running these jobs, without starting them. */
  async estimate(
    jobParams: readonly ParamValues[],
    options: JobKindOptions & Pick<CallOptions, 'signal' | 'timeoutMs'> = {},
  ): Promise<BatchEstimate> {
    const { preview, ...callOptions } = options;
    return this.client.estimateBatch(this.#batchRequest(jobParams, { preview }), callOptions);
  }

  /**
   * Starts one batch of these jobs and returns it. Safe to retry: the submission carries an
   * `Idempotency-Key` (pass your own to make a rerun of your program replay it too).
   */
  async submit(jobParams: readonly ParamValues[], options: SubmitOptions = {}): Promise<Batch> {
    const { name, preview, ...callOptions } = options;
    const created = await this.client.submitBatch(
      this.#batchRequest(jobParams, { name, preview }),
      callOptions,
    );
    return new Batch(this.client, created.id, created);
  }

  #batchRequest(
    jobParams: readonly ParamValues[],
    { name, preview = false }: { name?: string | undefined; preview?: JobKindOptions['preview'] },
  ): BatchRequest {
    if (Array.isArray(preview) && preview.length !== jobParams.length) {
      throw new RangeError(`preview has ${preview.length} flags for ${jobParams.length} jobs`);
    }
    const isPreview = (index: number) => (typeof preview === 'boolean' ? preview : preview[index] === true);
    return {
      ...(name === undefined ? {} : { name }),
      job_runs: jobParams.map((param_values, index) => ({
        name: this.name,
        is_preview: isPreview(index),
        param_values,
      })),
    };
  }
}
