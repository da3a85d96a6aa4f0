/**
 * `npm start` killed (SIGKILL to its process group, the trainer with it) and stopped (Ctrl-C, the
 * trainer checkpoints) in the middle of a training run, then started again on the same data: the
 * run resumes from its checkpoint each time, completes with its model, and the restarts use up
 * none of its automatic resumes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { TrainingTask } from '../../contracts/training.ts';
import { useTempDirs } from '../support/fixture.ts';
import { LocalProcess } from '../support/local-process.ts';
import type { Api } from '../support/platform.ts';
import { ENDED, identityCropsBatch, TINY_TRAINING, until } from '../support/training.ts';

const EPOCHS = 4;
// Registered first, so that it runs last (vitest runs after-hooks as a stack): after the kill.
const aDataDir = useTempDirs();
let running: LocalProcess | undefined;

afterAll(async () => {
  await running?.kill();
});

const statusOf = (api: Api, taskId: string) => api.get<TrainingTask>(`/api/v1/train/${taskId}/status`);

/** Waits until the run's trainer has reported an epoch later than `epoch`, and returns it. */
async function pastEpoch(api: Api, taskId: string, epoch: number): Promise<number> {
  const answer = await until(
    () => statusOf(api, taskId),
    (status) => (status.body.progress?.current_epoch ?? 0) > epoch || ENDED.includes(status.body.status),
    300_000,
  );
  expect(answer.body.status, JSON.stringify(answer.body)).toBe('running');
  return answer.body.progress.current_epoch ?? 0;
}

describe('npm start, interrupted in the middle of a training run', () => {
  it('resumes the run from its checkpoint after a kill and after a stop, and completes it', async () => {
    // Prepare
    const dataDir = await aDataDir('crash-training');
    running = await LocalProcess.start(dataDir);
    const batchId = await identityCropsBatch(running.api);
    const started = await running.api.post<{ task_id: string }>('/api/v1/train', {
      custom_name: 'interrupted',
      dataset: { batch_id: batchId },
      ...TINY_TRAINING,
      training_kwargs: { ...TINY_TRAINING.training_kwargs, num_epochs: EPOCHS },
    });
    expect(started.status, started.text).toBe(202);
    const taskId = started.body.task_id;

    // Act: a kill once the first epoch is done, a Ctrl-C once the run has gone further.
    const killedAt = await pastEpoch(running.api, taskId, 0);
    await running.kill();
    running = await LocalProcess.start(dataDir);
    await pastEpoch(running.api, taskId, killedAt);
    expect(await running.stop()).toBe(0);
    running = await LocalProcess.start(dataDir);
    const ended = await until(
      () => statusOf(running?.api as Api, taskId),
      (status) => ENDED.includes(status.body.status),
      300_000,
    );
    const logs = await running.api.get<{ entries: { message: string }[] }>(`/api/v1/jobs/${taskId}/logs`, {
      tail: 100,
    });
    const model = await fetch(ended.body.model_url ?? '');

    // Assess
    expect(ended.body.status, JSON.stringify(ended.body)).toBe('completed');
    expect(ended.body.progress.current_epoch).toBe(EPOCHS);
    expect(model.status).toBe(200);
    const messages = logs.body.entries.map((entry) => entry.message);
    expect(messages.filter((message) => message.includes('after an interruption'))).toHaveLength(2);
    // Both restarts continued the first attempt: neither counted as a resume.
    expect(messages.join('\n')).not.toMatch(/attempt [2-9] of/);
  });
});
