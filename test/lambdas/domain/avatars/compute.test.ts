import { describe, expect, it } from 'vitest';
import { EngineInputError, inProcessEngine } from '../../../../lambdas/domain/avatars/compute.ts';
import type { JobPlan } from '../../../../lambdas/domain/avatars/inputs.ts';

/** 200 rows of two numbers and a category. */
function csv(): Uint8Array {
  const lines = ['x,y,kind'];
  for (let row = 0; row < 200; row++) lines.push(`${row % 17},${(row * 7) % 23},${'abc'[row % 3]}`);
  return new TextEncoder().encode(`${lines.join('\n')}\n`);
}

const plan = (k: number): JobPlan => ({
  kind: 'standard',
  seed: 1,
  tables: [{ table: { name: 't', key: 't.csv', types: {}, drop: [] }, parameters: { k, ncp: 2 } }],
});

describe('an avatar job’s memory', () => {
  it('refuses a k whose neighbours would take more than half the job’s memory, saying how much', async () => {
    // Prepare: 200 rows × k 100 × 20 bytes = 400,000 bytes of neighbours; 512 kB of memory.
    const request = {
      plan: plan(100),
      inputs: { 't.csv': csv() },
      jobId: 'j',
      resultPrefix: '',
      memoryBytes: 512_000,
    };

    // Act
    const run = inProcessEngine.run(request);

    // Assess
    await expect(run).rejects.toBeInstanceOf(EngineInputError);
    await expect(run).rejects.toThrow(/k 100 over 200 rows needs .* GB for the neighbours alone.*lower k/);
  });

  it('runs the same k when the memory holds it', async () => {
    // Prepare
    const request = {
      plan: plan(100),
      inputs: { 't.csv': csv() },
      jobId: 'j',
      resultPrefix: '',
      memoryBytes: 4_000_000,
    };

    // Act
    const output = await inProcessEngine.run(request);

    // Assess
    expect(output.files.map((file) => file.resultKey)).toContain('shuffled');
  });
});
