import { runDatasetJob } from '../../domain/datasets/run-job.ts';
import { type DatasetsRuntime, withDatasets } from '../../families/datasets/runtime.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { taskEntry } from '../../shared/task-entry.ts';

/** The datasets machine's RunDatasetJob step: a dataset's validation, a profile or an export. */
export const runDatasetJobTask = (
  runtime: CoreRuntime & DatasetsRuntime,
  event: Parameters<typeof runDatasetJob>[1],
) => runDatasetJob(runtime.datasetTasks, event);

export const handler = taskEntry(runDatasetJobTask, withDatasets);
