/**
 * Where a training run's objects live, each under its tenant like every key. Checkpoints (and the
 * live progress in them) are kept per run name, so a later run of the same name resumes them; the
 * manifest and the model are the task's own.
 */
export const trainingKeys = (tenant: string, jobId: string, customName: string) => ({
  /** The `train` channel of a run on a batch: the batch's result archives. */
  manifest: `${tenant}/training/${jobId}/manifest.json`,
  /** SageMaker writes `<trainingJobName>/output/model.tar.gz` under it. */
  output: `${tenant}/training/${jobId}/output`,
  checkpoints: `${tenant}/training/runs/${customName}/checkpoints`,
  progress: `${tenant}/training/runs/${customName}/checkpoints/progress.json`,
});

/** What every training job of a task is named with: SageMaker's names are account-wide, so the task id. */
export const trainingJobPrefix = (jobId: string) => `sf-${jobId.toLowerCase()}-`;

/** A task's training job of one attempt (the first is 1). */
export const trainingJobName = (jobId: string, attempt: number) => `${trainingJobPrefix(jobId)}${attempt}`;
