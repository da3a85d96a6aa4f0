/**
 * Compile-time tests of the client's types, checked by `npm run typecheck` (never executed): each
 * `@ts-expect-error` fails the type check if the call it marks ever becomes accepted.
 */
import { routes } from '../../contracts/routes.ts';
import type { ApiClient } from '../src/api-client.ts';

export async function typeChecks(client: ApiClient): Promise<unknown[]> {
  // Outputs are the contract's z.output types.
  const job = await client.getJob('01JD3X2K8Q7YV4N6B5M9T0RWZC');
  const progress: number = job.progress;
  const batch = await client.call(routes.submitBatch, { body: { job_runs: [{ name: 'shapes' }] } });
  const firstJobId: string | undefined = batch.job_runs[0]?.id;

  // Inputs: required when the schema requires them, optional when it does not.
  await client.call(routes.health);
  await client.call(routes.listJobs, { query: { kind: 'batch', limit: 5 } });
  await client.randomParams('shapes');

  // @ts-expect-error a route with path parameters needs them
  await client.call(routes.getJob);
  // @ts-expect-error a job kind the contract does not list
  await client.call(routes.listJobs, { query: { kind: 'hyperpod' } });
  // @ts-expect-error a batch needs job_runs
  await client.call(routes.submitBatch, { body: {} });
  // @ts-expect-error a GET takes no body
  await client.call(routes.getJob, { params: { id: 'x' }, body: {} });
  // @ts-expect-error is_preview is a boolean
  await client.submitBatch({ job_runs: [{ name: 'shapes', is_preview: 'yes' }] });

  // Training (seed 002): every request field is optional; outputs carry the live progress.
  const accepted = await client.startTraining();
  const task = await client.getTrainingStatus(accepted.task_id);
  const epoch: number | null = task.progress.current_epoch;
  await client.listTrainingJobs({ status: 'running', limit: 5 });
  // @ts-expect-error attention_layers names ResNet stages
  await client.startTraining({ model_kwargs: { attention_layers: ['layer7'] } });
  // @ts-expect-error a training status the contract does not list
  await client.listTrainingJobs({ status: 'suspended' });

  // Seed 003's model routes: the job for `async: true`, the answer without it, either for a boolean.
  const answered = await client.claude4({ text: 'hi' });
  const answerText: string | undefined = answered.response.content[0]?.text;
  const submitted = await client.nova({ text: 'a clip', async: true });
  const submittedJob: string = submitted.job.id;
  const later = Math.random() > 0.5;
  const either = await client.emd('qwen2-vl-7b', { text: 'hi', async: later });
  const eitherJob: string | undefined = 'job' in either ? either.job.id : either.response.id;
  // @ts-expect-error with `async` a boolean the answer may be the job, which has no `response`
  await client.nova({ text: 'hi', async: later }).then((answer) => answer.response);
  // @ts-expect-error an `async: false` call answers the model's answer, not a job
  await client.claude4({ text: 'hi', async: false }).then((answer) => answer.job);

  return [progress, firstJobId, epoch, answerText, submittedJob, eitherJob];
}
