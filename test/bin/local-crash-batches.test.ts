/**
 * `npm start` stopped (Ctrl-C) and killed (SIGKILL to its process group) at many points of a
 * generation batch, of a cancel, and of an image batch, then started again on the same data each
 * time: every job still reaches a terminal state, none moves after it has ended, none of a
 * cancelled batch starts after the cancel, and every finished result stays readable.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Batch, BatchSummary } from '../../contracts/batches.ts';
import type { Job } from '../../contracts/jobs.ts';
import type { JobStateChange } from '../../lambdas/domain/ports.ts';
import { useTempDirs } from '../support/fixture.ts';
import { eventSeen, eventsOf, LocalProcess } from '../support/local-process.ts';
import type { Api } from '../support/platform.ts';

const ENDED = ['completed', 'failed', 'cancelled'];

/** How each interruption ends the platform: Ctrl-C, or a kill of everything it runs. */
type Interruption = { afterEvents: number; how: 'stop' | 'kill' };

const aDataDir = useTempDirs();
let running: LocalProcess | undefined;
afterEach(async () => {
  await running?.kill();
  running = undefined;
});

/**
 * Interrupts the platform on `dataDir` once `afterEvents` more job events have been published, for
 * each step of `plan`, starting it again after each; stops early once the batch has ended. Whether it
 * has is asked of the API, not read from the events: a kill between a transition and its event
 * loses the event (the bus has no outbox), and the batch's last one may be the one lost.
 * Resolves with the platform left running.
 */
async function interrupt(
  dataDir: string,
  plan: readonly Interruption[],
  batchId: string,
  /** `npm start`'s arguments for each restart: the same as the first start's. */
  args: readonly string[],
): Promise<{ platform: LocalProcess; interruptions: number }> {
  const ended = async () => {
    const batch = await (running as LocalProcess).api.get<Batch>(`/api/v1/batches/${batchId}`);
    return ENDED.includes(batch.body.status);
  };
  let interruptions = 0;
  for (const step of plan) {
    const before = (await eventsOf(dataDir)).length;
    for (;;) {
      if (await ended()) return { platform: running as LocalProcess, interruptions };
      if ((await eventsOf(dataDir)).length >= before + step.afterEvents) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const platform = running as LocalProcess;
    if (step.how === 'kill') await platform.kill();
    else expect(await platform.stop()).toBe(0);
    interruptions++;
    running = await LocalProcess.start(dataDir, [...args]);
  }
  return { platform: running as LocalProcess, interruptions };
}

/** Polls until the batch and every job of it have ended. */
async function settled(api: Api, batchId: string): Promise<BatchSummary> {
  for (;;) {
    const summary = await api.get<BatchSummary>(`/api/v1/batches/${batchId}/summary`);
    if (
      summary.status === 200 &&
      ENDED.includes(summary.body.status) &&
      summary.body.job_runs.every((job) => !job.in_progress)
    )
      return summary.body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The rules every run of events must keep, whatever interrupted it. */
function expectLawfulEvents(events: JobStateChange[]): void {
  // A terminal status never changes: no event starts from one.
  expect(events.filter((event) => ENDED.includes(event.previousStatus))).toEqual([]);
  // Versions only grow for each job (a replayed or lost event may skip one, never go back).
  const last = new Map<string, number>();
  for (const event of events) {
    expect(event.version, `job ${event.jobId}`).toBeGreaterThan(last.get(event.jobId) ?? 0);
    last.set(event.jobId, event.version);
  }
}

async function expectReadable(summary: BatchSummary, signature: number[]): Promise<void> {
  for (const job of summary.job_runs.filter((run) => run.status === 'completed')) {
    const response = await fetch(job.result_url ?? '');
    expect(response.status, job.id).toBe(200);
    expect([...new Uint8Array(await response.arrayBuffer()).slice(0, signature.length)]).toEqual(signature);
  }
}

/**
 * Interrupts the platform running `batchId` as `plan` says, then asserts what every interruption
 * must leave: the batch and each of its jobs completed, every result readable as `signature`, and
 * the events lawful. Resolves with how many interruptions there were.
 */
async function expectCompletedAcross(
  dataDir: string,
  batchId: string,
  plan: readonly Interruption[],
  signature: number[],
  args: readonly string[] = [],
): Promise<number> {
  const { platform, interruptions } = await interrupt(dataDir, plan, batchId, args);
  const summary = await settled(platform.api, batchId);
  expect(summary.status).toBe('completed');
  expect(summary.job_runs.map((job) => job.status)).toEqual(summary.job_runs.map(() => 'completed'));
  await expectReadable(summary, signature);
  expectLawfulEvents(await eventsOf(dataDir));
  return interruptions;
}

const ZIP = [0x50, 0x4b, 0x03, 0x04];
const PNG = [0x89, 0x50, 0x4e, 0x47];

describe('npm start, interrupted at many points of a batch', () => {
  it('finishes every job of a generation batch across kills and stops', async () => {
    // Prepare: one job at a time, in every run, so that the batch outlasts the interruptions.
    const dataDir = await aDataDir('crash-batch');
    const args = ['--concurrency', '1'];
    running = await LocalProcess.start(dataDir, args);
    const submitted = await running.api.post<Batch>('/api/v1/batches', {
      job_runs: [1, 2, 3, 4, 5, 6].map((seed) => ({
        name: 'shapes',
        param_values: { seed, frames: 12, image_width: 512, image_height: 512 },
      })),
    });
    expect(submitted.status, submitted.text).toBe(202);
    const batchId = submitted.body.id;

    // Act: kill on the batch's start, stop mid-job, kill between jobs, and so on; then Assess.
    const interruptions = await expectCompletedAcross(
      dataDir,
      batchId,
      [
        { afterEvents: 1, how: 'kill' },
        { afterEvents: 1, how: 'stop' },
        { afterEvents: 1, how: 'kill' },
        { afterEvents: 2, how: 'kill' },
        { afterEvents: 1, how: 'stop' },
        { afterEvents: 1, how: 'kill' },
      ],
      ZIP,
      args,
    );
    expect(interruptions).toBeGreaterThanOrEqual(3);
  });

  it('leaves every job of a batch killed in the middle of its cancel ended, and starts none after it', async () => {
    // Prepare: 8 jobs of 40 frames, two at a time: most are pending when the cancel comes.
    const dataDir = await aDataDir('crash-cancel');
    running = await LocalProcess.start(dataDir, ['--concurrency', '2']);
    const submitted = await running.api.post<Batch>('/api/v1/batches', {
      job_runs: [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => ({
        name: 'shapes',
        param_values: { seed, frames: 40, image_width: 96, image_height: 96 },
      })),
    });
    const batchId = submitted.body.id;
    await eventSeen(dataDir, (event) => event.batchId === batchId && event.status === 'running');

    // Act: the cancel, and a kill as soon as the batch is cancelled, while its jobs are being closed.
    const cancelling = running.api.delete(`/api/v1/jobs/${batchId}`).catch(() => undefined);
    const cancelledAt = await eventSeen(
      dataDir,
      (event) => event.jobId === batchId && event.status === 'cancelled',
    );
    await running.kill();
    await cancelling;
    const eventCountAtRestart = (await eventsOf(dataDir)).length;
    running = await LocalProcess.start(dataDir);
    const summary = await settled(running.api, batchId);
    const events = await eventsOf(dataDir);

    // Assess
    expect(summary.status).toBe('cancelled');
    expect(summary.job_runs.every((job) => job.status === 'cancelled' || job.status === 'completed')).toBe(
      true,
    );
    expect(summary.job_runs.filter((job) => job.status === 'cancelled').length).toBeGreaterThan(0);
    // Nothing of the batch completes once it is cancelled, and nothing starts once the platform is back.
    const cancelIndex = events.findIndex(
      (event) => event.jobId === batchId && event.version === cancelledAt.version,
    );
    expect(
      events
        .slice(cancelIndex + 1)
        .filter((event) => event.batchId === batchId && event.status === 'completed'),
    ).toEqual([]);
    expect(
      events
        .slice(eventCountAtRestart)
        .filter((event) => event.batchId === batchId && event.status === 'running'),
    ).toEqual([]);
    const jobs = await running.api.get<{ jobs: Job[] }>('/api/v1/jobs', { batch: batchId, limit: 100 });
    expect(jobs.body.jobs.filter((job) => !ENDED.includes(job.status))).toEqual([]);
    await expectReadable(summary, ZIP);
    expectLawfulEvents(events);
  });

  it('makes every image of an image batch across kills and stops', async () => {
    // Prepare
    const dataDir = await aDataDir('crash-images');
    running = await LocalProcess.start(dataDir);
    const accepted = await running.api.post<{ batch_id: string }>('/api/v1/generate/batch', {
      prompts: ['red circles', 'blue stars', 'green squares', 'pale rings', 'dark dots', 'bright lines'],
      width: 64,
      height: 64,
    });
    expect(accepted.status, accepted.text).toBe(202);
    const batchId = accepted.body.batch_id;

    // Act: kill while the endpoint starts, stop while it draws, kill again between images; then Assess.
    const interruptions = await expectCompletedAcross(
      dataDir,
      batchId,
      [
        { afterEvents: 2, how: 'kill' },
        { afterEvents: 2, how: 'stop' },
        { afterEvents: 3, how: 'kill' },
      ],
      PNG,
    );
    expect(interruptions).toBeGreaterThanOrEqual(2);
  });
});
