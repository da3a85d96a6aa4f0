import { newJobId } from '../../lambdas/adapters/ids.ts';
import type { JobRecord } from '../../lambdas/domain/jobs/model.ts';

/** A pending generation job created at `createdAt` (its id is minted at the same instant). */
export function aJob(overrides: Partial<JobRecord> & { tenant: string }, createdAt = new Date()): JobRecord {
  const at = createdAt.toISOString();
  return {
    id: newJobId(createdAt),
    kind: 'generation',
    status: 'pending',
    version: 1,
    progress: 0,
    generator: 'shapes',
    params: { shape: 'circle', count: 3, nested: { colours: ['red', 'blue'] } },
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

/** A tenant name no other test in the file uses, so tests never see each other's jobs. */
export function aTenant(label = 'tenant'): string {
  return `${label}-${crypto.randomUUID()}`;
}
