import { runInference } from '../../domain/inference/workflow-tasks.ts';
import { type InferenceRuntime, withInference } from '../../families/inference/runtime.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { taskEntry } from '../../shared/task-entry.ts';

/** The inference workflow's RunInference step: an asynchronous job's model call, and its answer. */
export const runInferenceTask = (
  runtime: CoreRuntime & InferenceRuntime,
  event: Parameters<typeof runInference>[1],
) => runInference(runtime.inferenceTasks, event);

export const handler = taskEntry(runInferenceTask, withInference);
