/**
 * Seed 003's resources as the SDK hands them out, named once from the route table (as resources.ts
 * names the others), so that they cannot drift from what the client parses.
 */
import type { StreamEvent as StreamEventSchema } from '../../contracts/inference.ts';
import type { Routes } from '../../contracts/routes.ts';
import type { BodyOf, ResponseOf } from './route-types.ts';

/** What `claude4`, `nova`, `emd` and `stream` take: `text`, and optionally frames, mediaType, max_tokens, temperature. */
export type InferenceRequest = BodyOf<Routes['invokeClaude4']>;
type ModelRouteAnswer = ResponseOf<Routes['invokeClaude4']>;
/** A model's answer in seed 003's wrapper: `{time, request, response}`, the model that answered, the latency. */
export type InferenceResponse = Exclude<ModelRouteAnswer, { status: 'submitted' }>;
/** The 202 of `"async": true`: `{time, request, status: 'submitted', job}`; poll `getJob(job.id)`. */
export type InferenceAccepted = Extract<ModelRouteAnswer, { status: 'submitted' }>;
/**
 * What a model route answers a body: the job when it asks for `async: true`, the answer when it
 * does not (`async` absent or false), and either when `async` is a `boolean` not known until run time.
 */
export type ModelAnswerOf<B> = B extends { async: true }
  ? InferenceAccepted
  : true extends AsyncOf<B>
    ? InferenceResponse | InferenceAccepted
    : InferenceResponse;
/** A body's `async`: undefined when it has none. (`B extends { async?: false }` would not do: TS takes no type for one with no property in common.) */
type AsyncOf<B> = 'async' extends keyof B ? B['async' & keyof B] : undefined;
/** What `multiInference` takes: a model request and the `models` to ask. */
export type MultiInferenceRequest = BodyOf<Routes['multiInference']>;
/** Per model asked, in order: its answer or its error, and its latency. */
export type MultiInferenceResponse = ResponseOf<Routes['multiInference']>;
/** The EMD models' deployments now. */
export type EmdStatus = ResponseOf<Routes['getEmdStatus']>;
/** One EMD model's deployment: state, copies, instances, warming with its ETA. */
export type EmdModelStatus = EmdStatus['models'][number];
/** The gateway's catalogue of models. */
export type EmdModelList = ResponseOf<Routes['listEmdModels']>;
/** A presigned PUT and the `s3://` URI that names the file once uploaded. */
export type UploadUrl = ResponseOf<Routes['createUploadUrl']>;
/** One event of `stream`: `start`, `delta` (text), `done` (usage); `error` is thrown, not yielded. */
export type StreamEvent = StreamEventSchema;
