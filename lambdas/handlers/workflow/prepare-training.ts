import { prepareTraining } from '../../domain/training/workflow-tasks.ts';
import { type TrainingRuntime, withTraining } from '../../families/training/runtime.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { taskEntry } from '../../shared/task-entry.ts';

/** The training workflow's PrepareTraining step: marks the task running and answers the job's request. */
export const prepareTrainingTask = (
  runtime: CoreRuntime & TrainingRuntime,
  event: Parameters<typeof prepareTraining>[1],
) => prepareTraining(runtime.trainingTasks, event);

export const handler = taskEntry(prepareTrainingTask, withTraining);
