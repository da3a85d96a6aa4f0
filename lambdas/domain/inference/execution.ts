/**
 * How an asynchronous inference job's execution is started (statemachines/inference.asl.json reads
 * this input), and where its request and answer are kept: in S3, under its tenant like every key,
 * because frames can be megabytes and a DynamoDB item holds 400 KB.
 */
import type { ExecutionInput, Workflow } from '../ports.ts';

export interface InferenceExecutionInput extends ExecutionInput {
  /** The job's id: it names the execution. */
  jobId: string;
}
/** The job an inference execution runs. */
export const inferenceJobId = (input: InferenceExecutionInput): string => input.jobId;

/** Runs an asynchronous inference job (the inference machine). */
export type InferenceWorkflow = Workflow<InferenceExecutionInput>;

export const inferenceKeys = (tenant: string, jobId: string) => ({
  /** The request as the route accepted it (defaults applied, `async` dropped). */
  request: `${tenant}/inference/${jobId}/request.json`,
  /** The InferenceResponse the route would have answered. */
  result: `${tenant}/inference/${jobId}/result.json`,
});
