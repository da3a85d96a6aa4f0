import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { failJob } from '../../domain/batches/workflow-tasks.ts';
import type { Runtime } from '../../runtime.ts';
import { metrics } from '../../shared/powertools.ts';
import { taskEntry } from '../../shared/task-entry.ts';

export const failJobTask = async (runtime: Runtime, event: Parameters<typeof failJob>[1]) => {
  const result = await failJob(runtime.engine, event);
  if (result.status === 'failed') metrics.addMetric('JobsFailed', MetricUnit.Count, 1);
  return result;
};

export const handler = taskEntry(failJobTask);
