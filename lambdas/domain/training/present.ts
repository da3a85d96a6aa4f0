/**
 * Seed 002's answers on the training routes, made from the training service: a task with its live
 * progress, the list of them, and what cancelling one answers.
 */
import type { z } from 'zod';
import type { TrainCancelled, TrainingList, TrainingTask } from '../../../contracts/training.ts';
import type { TrainingService } from './service.ts';

/** `GET /train/{task_id}/status`: the task in seed 002's shape, with its live progress. */
export async function trainingTask(
  training: TrainingService,
  tenant: string,
  taskId: string,
): Promise<TrainingTask> {
  return training.present(await training.task(tenant, taskId));
}

/** `GET /train/jobs`: one page of the tenant's tasks, each as its status shows it. */
export async function trainingTasks(
  training: TrainingService,
  tenant: string,
  query: Parameters<TrainingService['list']>[1],
): Promise<z.infer<typeof TrainingList>> {
  const page = await training.list(tenant, query);
  const jobs = await Promise.all(page.items.map((job) => training.present(job)));
  return { jobs, total: jobs.length, ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}) };
}

/** `DELETE /train/{task_id}`: the task is cancelled and its training job being stopped. */
export async function cancelledTraining(
  training: TrainingService,
  tenant: string,
  taskId: string,
): Promise<z.infer<typeof TrainCancelled>> {
  const job = await training.cancel(tenant, taskId);
  return {
    task_id: job.id,
    status: job.status,
    message: 'Training job cancelled: its training job is being stopped',
  };
}
