/**
 * What the inference gateway needs of the outside world, free of AWS types: a chat model to call
 * (Bedrock's Converse or a SageMaker inference component, behind adapters) and the state of a
 * deployed component. The adapters turn every service error into a `ModelCallError` with one of a
 * few reasons, so that the domain decides retries and statuses in one place.
 */
import type { RuntimeModel } from '../../../contracts/inference-models.ts';
import { withoutAwsIdentifiers } from '../errors.ts';

/** A frame checked by the domain (lambdas/domain/inference/frames.ts): its bytes or where they are. */
export type Frame =
  | {
      kind: 'image';
      format: 'png' | 'jpeg' | 'gif' | 'webp';
      bytes: Uint8Array;
      width: number;
      height: number;
    }
  | { kind: 'video'; format: 'mp4'; bytes: Uint8Array }
  /**
   * A video too large to send inline (25 MB and more), left in the tenant's uploads for the model to
   * read (Bedrock's `s3Location`, up to 1 GB). Only Bedrock models take it.
   */
  | { kind: 'video'; format: 'mp4'; s3Uri: string; bytes?: undefined };

/** One user turn: the prompt and its frames, with the sampling settings. */
export interface ChatTurn {
  text: string;
  frames: readonly Frame[];
  maxTokens: number;
  temperature: number;
}

/** A model's whole answer. `answeredBy`: set when another model stood in (the local platform). */
export interface ChatReply {
  id: string;
  text: string;
  inputTokens: number;
  outputTokens: number;
  stopReason?: string;
  answeredBy?: string;
}

/** A streamed answer: text as it is produced, then one `end` with the usage. */
export type ChatStreamEvent =
  | { type: 'delta'; text: string }
  | {
      type: 'end';
      id: string;
      inputTokens: number;
      outputTokens: number;
      stopReason?: string;
      answeredBy?: string;
    };

/**
 * Why a model call failed:
 * - `throttled`: the service or model is rate limiting (Bedrock ThrottlingException, SageMaker
 *   ThrottlingException / ModelNotReadyException); retried, then 429.
 * - `unavailable`: the service is briefly down (ServiceUnavailable, InternalServerException); retried,
 *   then 503.
 * - `no_capacity`: the inference component has no copies (scaled to zero); its scaling wakes it: 503
 *   with when it should be ready.
 * - `model_error`: the model failed on this request (ModelError, ModelStreamError); not retried.
 * - `rejected`: the service refused the input (ValidationException): 400.
 * - `denied`: the stage may not call the model (AccessDeniedException, no model access): 503.
 * - `not_found`: the model, profile, endpoint or component does not exist: 503 "not deployed".
 * - `timeout`: the call outlasted its deadline (aborted): 504-like, answered 503 with Retry-After.
 */
export type ModelCallReason =
  | 'throttled'
  | 'unavailable'
  | 'no_capacity'
  | 'model_error'
  | 'rejected'
  | 'denied'
  | 'not_found'
  | 'timeout';

export class ModelCallError extends Error {
  constructor(
    readonly reason: ModelCallReason,
    message: string,
    /** The service's own error name (ThrottlingException…), for logs. */
    readonly serviceError?: string,
  ) {
    super(withoutAwsIdentifiers(message));
    this.name = 'ModelCallError';
  }
}

export type BedrockRuntimeModel = Extract<RuntimeModel, { provider: 'bedrock' }>;
export type SageMakerRuntimeModel = Extract<RuntimeModel, { provider: 'sagemaker' }>;
export type DeployedSageMakerModel = SageMakerRuntimeModel & {
  deployment: NonNullable<SageMakerRuntimeModel['deployment']>;
};
/** A model the gateway can call: a Bedrock model, or an EMD model deployed in the stage. */
export type CallableModel = BedrockRuntimeModel | DeployedSageMakerModel;

/** Calls one provider's models. Implementations throw `ModelCallError` for every service failure. */
export interface ChatModelPort<M extends CallableModel = CallableModel> {
  complete(model: M, turn: ChatTurn, signal: AbortSignal): Promise<ChatReply>;
  /** Fails before its first event when the call cannot start (no capacity, throttled...). */
  stream(model: M, turn: ChatTurn, signal: AbortSignal): AsyncIterable<ChatStreamEvent>;
}

/** A deployed component as SageMaker describes it now. */
export interface ComponentState {
  endpointStatus?: string;
  componentStatus?: string;
  desiredCopies: number;
  currentCopies: number;
  instances?: { current: number; min: number; max: number };
  /** When its desired copy count last changed: a wake started then. */
  lastModified?: Date;
  failureReason?: string;
}

export interface ComponentStatusPort {
  /** Undefined when the endpoint or the component does not exist. */
  describe(deployment: DeployedSageMakerModel['deployment']): Promise<ComponentState | undefined>;
}

/** One model call, as usage records it. */
export interface InferenceCall {
  modelKey: string;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  estimatedUsd: number;
  /** The call failed (its tokens are zero; it still counts as a call). */
  failed: boolean;
  at: Date;
}

export interface ModelUsage {
  calls: number;
  failed: number;
  inputTokens: number;
  outputTokens: number;
  estimatedUsd: number;
  latencyMsTotal: number;
}

/** Per tenant, per model and per UTC day: what `GET /api/v1/usage` reports for inference. */
export interface InferenceUsagePort {
  record(tenant: string, call: InferenceCall): Promise<void>;
  /** Sums the days from `start` to `end` (both UTC days included), by model key. */
  totals(tenant: string, start: Date, end: Date): Promise<Record<string, ModelUsage>>;
}
