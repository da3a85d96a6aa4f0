import { prepareTraining } from '../../domain/training/workflow-tasks.ts';
import type { Runtime } from '../../runtime.ts';
import { taskEntry } from '../../shared/task-entry.ts';

/** The training workflow's PrepareTraining step: marks the task running and answers the job's request. */
export const prepareTrainingTask = (runtime: Runtime, event: Parameters<typeof prepareTraining>[1]) =>
  prepareTraining(runtime.trainingTasks, event);

export const handler = taskEntry(prepareTrainingTask);
