import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { type RunJobInput, runGenerationJob } from '../../domain/generation/run-job.ts';
import { type GenerationRuntime, withGeneration } from '../../families/generation/runtime.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { metrics } from '../../shared/powertools.ts';
import { taskEntry } from '../../shared/task-entry.ts';

export const runJobTask = async (runtime: CoreRuntime & GenerationRuntime, event: RunJobInput) => {
  const started = performance.now();
  const outcome = await runGenerationJob(runtime, event);
  if (outcome.outcome === 'completed') {
    metrics.addMetric('JobsCompleted', MetricUnit.Count, 1);
    metrics.addMetric('FramesRendered', MetricUnit.Count, outcome.frames);
    metrics.addMetric('JobSeconds', MetricUnit.Seconds, (performance.now() - started) / 1000);
  }
  return outcome;
};

export const handler = taskEntry(runJobTask, withGeneration);
