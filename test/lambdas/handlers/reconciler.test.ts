/**
 * Reading a closed execution out of Step Functions' event, whichever family's machine ran it: the
 * job is the execution's name (the last part of its ARN), the tenant comes from its input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closedExecutionOf } from '../../../lambdas/handlers/reconciler.ts';

const jobId = fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/);
const machine = fc.constantFrom(
  'synthforge-dev-generation-batch',
  'synthforge-dev-image-generation',
  'synthforge-dev-training',
);

describe('closedExecutionOf', () => {
  it('names the job the execution ran and its tenant, for every machine and input shape', () => {
    fc.assert(
      fc.property(jobId, machine, fc.constantFrom('FAILED', 'TIMED_OUT', 'ABORTED'), (id, name, status) => {
        // Prepare: a training run's input names it `taskId`, a batch's `batchId`; the ARN names it too.
        const executionArn = `arn:aws:states:eu-west-1:123456789012:execution:${name}:${id}`;
        const input = name.endsWith('training')
          ? { tenant: 'acme', taskId: id }
          : { tenant: 'acme', batchId: id, items: [] };

        // Act
        const closed = closedExecutionOf({ executionArn, status, input: JSON.stringify(input) });

        // Assess
        expect(closed).toEqual({ tenant: 'acme', jobId: id, status });
      }),
    );
  });

  it('reads nothing out of an execution whose input is not JSON or names no tenant', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.constant('{}'), fc.constant('{"tenant":7}'), fc.constant(null)),
        (input) => {
          // Prepare: a string that happens to be JSON naming a tenant is a valid input, not this case.
          fc.pre(!(typeof input === 'string' && /"tenant"\s*:\s*"/.test(input)));

          // Act
          const closed = closedExecutionOf({
            executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:synthforge-dev-training:01J',
            status: 'FAILED',
            input,
          });

          // Assess
          expect(closed).toBeUndefined();
        },
      ),
    );
  });
});
