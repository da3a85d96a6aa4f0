/** How a training run's execution is started (statemachines/training.asl.json reads this input). */
import type { ExecutionInput, Workflow } from '../ports.ts';

export interface TrainingExecutionInput extends ExecutionInput {
  /** The run's id (seed 002's `task_id`): it names the execution. */
  taskId: string;
}
/** The job a training run's execution runs: the run. */
export const trainingJobId = (input: TrainingExecutionInput): string => input.taskId;

/** Runs a training run (the training machine). */
export type TrainingWorkflow = Workflow<TrainingExecutionInput>;
