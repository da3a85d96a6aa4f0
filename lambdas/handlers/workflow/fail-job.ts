import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { failJob } from '../../domain/batches/workflow-tasks.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { metrics } from '../../shared/powertools.ts';
import { taskEntry } from '../../shared/task-entry.ts';

export const failJobTask = async (runtime: CoreRuntime, event: Parameters<typeof failJob>[1]) => {
  const result = await failJob(runtime.engine, event);
  if (result.status === 'failed') metrics.addMetric('JobsFailed', MetricUnit.Count, 1);
  return result;
};

export const handler = taskEntry(failJobTask);
