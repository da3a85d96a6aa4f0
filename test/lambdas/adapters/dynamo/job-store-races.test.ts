import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../../../contracts/jobs.ts';
import { DynamoJobStore } from '../../../../lambdas/adapters/dynamo/job-store.ts';
import type { JobRecord } from '../../../../lambdas/domain/jobs/model.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aJob, aTenant } from '../../../support/jobs.ts';

const fixture = useEmulators();
const WRITERS = 8;
const UPDATES_PER_WRITER = 250;

function store(): DynamoJobStore {
  return new DynamoJobStore(fixture.clients.dynamo, {
    tableName: fixture.emulators.tableNames.state,
    cursorSecret: 'race-cursor-secret-0123456789',
  });
}

describe('DynamoJobStore under racing workers', () => {
  it(`loses no update when ${WRITERS} writers each land ${UPDATES_PER_WRITER} optimistic increments`, async () => {
    // Prepare
    const jobs = store();
    const job = aJob({ tenant: aTenant(), status: 'running', message: '0' });
    await jobs.create([job]);
    let conflicts = 0;
    const acceptedCounters: number[] = [];

    // Act: each writer increments the counter it last saw, writing only if nobody wrote since; after a
    // conflict it re-reads the job, as a worker holding a stale copy must.
    const writer = async () => {
      let known: JobRecord = job;
      let conflictsInARow = 0;
      for (let landed = 0; landed < UPDATES_PER_WRITER; ) {
        const next = Number(known.message) + 1;
        const written = await jobs.update(
          job.tenant,
          job.id,
          { message: String(next) },
          { expectedVersion: known.version },
        );
        if (written === undefined) {
          conflicts++;
          conflictsInARow++;
          // A jittered, growing pause: writers that retried in lockstep would keep colliding.
          await new Promise((resolve) =>
            setTimeout(resolve, Math.random() * Math.min(2 ** conflictsInARow, 32)),
          );
          const current = await jobs.get(job.tenant, job.id);
          if (current === undefined) throw new Error('the job vanished');
          known = current;
          continue;
        }
        conflictsInARow = 0;
        acceptedCounters.push(Number(written.message));
        known = written;
        landed++;
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, writer));

    // Assess
    const total = WRITERS * UPDATES_PER_WRITER;
    const final = await jobs.get(job.tenant, job.id);
    // Writers did collide, so the race was real; the checks after this show no collision lost a write.
    expect(conflicts).toBeGreaterThan(WRITERS);
    expect(final?.version).toBe(job.version + total);
    expect(final?.message).toBe(String(total));
    // Every accepted write produced its own counter value: none was overwritten by a concurrent one.
    expect(new Set(acceptedCounters).size).toBe(total);
    expect(Math.max(...acceptedCounters)).toBe(total);
  });

  it('lets exactly one of 8 racing terminal transitions win, 10 times over', async () => {
    // Prepare
    const jobs = store();
    const terminal: JobStatus[] = ['completed', 'failed', 'cancelled'];
    const tenant = aTenant();
    const racedJobs = Array.from({ length: 10 }, () => aJob({ tenant, status: 'running' }));
    await jobs.create(racedJobs);

    // Act
    const rounds = await Promise.all(
      racedJobs.map((job) =>
        Promise.all(
          Array.from({ length: WRITERS }, (_, writer) =>
            jobs.transition(tenant, job.id, terminal[writer % terminal.length] as JobStatus, {
              message: `writer ${writer}`,
            }),
          ),
        ),
      ),
    );

    // Assess
    for (const [index, outcomes] of rounds.entries()) {
      const winners = outcomes.filter((outcome) => outcome.applied);
      expect(winners).toHaveLength(1);
      const winner = winners[0];
      const stored = await jobs.get(tenant, racedJobs[index]?.id ?? '');
      expect(stored).toStrictEqual(winner?.applied && winner.job);
      expect(stored?.version).toBe(2);
      for (const loser of outcomes.filter((outcome) => !outcome.applied)) {
        expect(loser).toMatchObject({ applied: false, reason: 'illegal' });
      }
    }
  });
});
