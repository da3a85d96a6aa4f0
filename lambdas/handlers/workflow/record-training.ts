import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { type RecordTrainingInput, recordTraining } from '../../domain/training/workflow-tasks.ts';
import { type TrainingRuntime, withTraining } from '../../families/training/runtime.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { metrics } from '../../shared/powertools.ts';
import { taskEntry } from '../../shared/task-entry.ts';

/** The training workflow's RecordTraining and RecordFailure steps. */
export const recordTrainingTask = async (
  runtime: CoreRuntime & TrainingRuntime,
  event: RecordTrainingInput,
) => {
  const outcome = await recordTraining(runtime.trainingTasks, event);
  if (outcome.status === 'completed') metrics.addMetric('TrainingRunsCompleted', MetricUnit.Count, 1);
  if (outcome.status === 'failed') metrics.addMetric('TrainingRunsFailed', MetricUnit.Count, 1);
  return outcome;
};

export const handler = taskEntry(recordTrainingTask, withTraining);
