/**
 * Seed 001's generation routes: `POST /generate` (200 with the image when it is ready within the
 * wait, else 202 with the job), `POST /generate/batch` (202), and the two reads to poll them. The
 * answers are made in the domain (lambdas/domain/images/present.ts).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { routes } from '../../../contracts/routes.ts';
import {
  awaitedImage,
  type ImageAnswer,
  imageOfJob,
  imagesOfBatch,
  startedBatch,
} from '../../domain/images/present.ts';
import { type ImagesRuntime, withImages } from '../../families/images/runtime.ts';
import { bind, type RouteBinding } from '../../http/api-handler.ts';
import { accepted } from '../../http/responses.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { metrics } from '../../shared/powertools.ts';
import { apiEntry } from '../../shared/runtime-entry.ts';

/** 200 with an image that is ready; 202 with where its job stands otherwise. */
const answered = <Ready, Pending>(answer: ImageAnswer<Ready, Pending>) =>
  answer.ready ? answer.body : accepted(answer.body);

export function imageRoutes(runtime: CoreRuntime & ImagesRuntime): RouteBinding[] {
  const images = () => runtime.images;
  const { syncWaitSeconds } = runtime.imagesConfig;
  return [
    bind(routes.generateImage, async ({ tenant, body }) => {
      const { job } = await images().generate(tenant, body);
      metrics.addMetric('ImagesRequested', MetricUnit.Count, 1);
      return answered(await awaitedImage(images(), tenant, job.id, syncWaitSeconds * 1000));
    }),
    bind(routes.getGeneratedImage, async ({ tenant, params }) =>
      answered(await imageOfJob(images(), tenant, params.job_id)),
    ),
    bind(routes.generateImageBatch, async ({ tenant, body }) => {
      const started = await images().generateBatch(tenant, body);
      metrics.addMetric('ImagesRequested', MetricUnit.Count, started.items.length);
      return startedBatch(started);
    }),
    bind(routes.getGeneratedBatch, async ({ tenant, params }) =>
      imagesOfBatch(images(), tenant, params.batch_id),
    ),
  ];
}

export const handler = apiEntry(imageRoutes, withImages);
