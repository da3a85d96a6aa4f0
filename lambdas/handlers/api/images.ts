/**
 * Seed 001's generation routes: `POST /generate` (200 with the image when it is ready within the
 * wait, else 202 with the job), `POST /generate/batch` (202), and the two reads to poll them.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { routes } from '../../../contracts/routes.ts';
import { estimateCost, type ImageJobParams } from '../../domain/images/service.ts';
import { isTerminal } from '../../domain/jobs/lifecycle.ts';
import type { JobRecord } from '../../domain/jobs/model.ts';
import { bind, type RouteBinding } from '../../http/api-handler.ts';
import { accepted } from '../../http/responses.ts';
import type { Runtime } from '../../runtime.ts';
import { metrics } from '../../shared/powertools.ts';
import { apiEntry } from '../../shared/runtime-entry.ts';

/** The parameters an image job was made with, as seed 001 answers them. */
function parametersOf(job: JobRecord) {
  const { prompt: _prompt, ...parameters } = job.params as unknown as ImageJobParams;
  return parameters;
}

export function imageRoutes(runtime: Runtime): RouteBinding[] {
  const images = () => runtime.images;
  const { syncWaitSeconds } = runtime.config.images;

  /** 200 with the image of a completed job; 202 with where it stands otherwise. */
  const answerFor = async (job: JobRecord) => {
    const model = images().deps.models.byName(job.generator ?? '');
    const params = job.params as unknown as ImageJobParams;
    const cost = model ? estimateCost(model, [params]) : { gpu_seconds: 0, usd: 0, instance_type: 'unknown' };
    if (isTerminal(job.status)) {
      return {
        ...(await images().image(job)),
        prompt: params.prompt,
        parameters: parametersOf(job),
        job_id: job.id,
        batch_id: job.batchId ?? job.id,
        cost,
      };
    }
    return accepted({ ...(await images().state(job)), parameters: parametersOf(job), cost });
  };

  return [
    bind(routes.generateImage, async ({ tenant, body }) => {
      const { job } = await images().generate(tenant, body);
      metrics.addMetric('ImagesRequested', MetricUnit.Count, 1);
      return answerFor(await images().waitForEnd(tenant, job.id, syncWaitSeconds * 1000));
    }),
    bind(routes.getGeneratedImage, async ({ tenant, params }) => {
      const job = await images().imageJob(tenant, params.job_id);
      if (!isTerminal(job.status)) return accepted(await images().state(job));
      return answerFor(job);
    }),
    bind(routes.generateImageBatch, async ({ tenant, body }) => {
      const { batch, items, perPrompt, cost } = await images().generateBatch(tenant, body);
      metrics.addMetric('ImagesRequested', MetricUnit.Count, items.length);
      const { seed: _seed, prompt: _prompt, ...shared } = perPrompt[0] as ImageJobParams;
      return {
        batch_id: batch.id,
        status: batch.status,
        jobs: items.map((item, index) => ({ job_id: item.id, prompt: perPrompt[index]?.prompt ?? '' })),
        parameters: { ...shared, seeds: perPrompt.map((params) => params.seed) },
        cost,
      };
    }),
    bind(routes.getGeneratedBatch, async ({ tenant, params }) => {
      const { batch, items } = await images().imageBatch(tenant, params.batch_id);
      const first = items[0] as JobRecord;
      const { seed: _seed, ...shared } = parametersOf(first);
      return {
        batch_id: batch.id,
        status: batch.status,
        images: await Promise.all(
          items.map(async (item) => {
            const itemParams = item.params as unknown as ImageJobParams;
            return {
              job_id: item.id,
              status: item.status,
              prompt: itemParams.prompt,
              seed: itemParams.seed,
              ...(item.status === 'completed' ? await images().image(item) : {}),
              ...(item.error ? { error: item.error } : {}),
            };
          }),
        ),
        parameters: shared,
      };
    }),
  ];
}

export const handler = apiEntry(imageRoutes);
