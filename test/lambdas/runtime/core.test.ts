import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { describe, expect, it } from 'vitest';
import { awsClientsFor } from '../../../lambdas/adapters/clients.ts';
import { compose, coreConfigFromEnv, createCoreRuntime } from '../../../lambdas/runtime/core.ts';
import { useEmulators } from '../../support/emulators.ts';
import { aJob, aTenant } from '../../support/jobs.ts';

const fixture = useEmulators();
const sfn = mockClient(SFNClient);

describe('createCoreRuntime', () => {
  it('cancels a job that owns an execution without knowing any state machine ARN', async () => {
    // Prepare: the environment of the jobs function: a table, no BATCH_STATE_MACHINE_ARN.
    sfn.reset();
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    const config = await coreConfigFromEnv({
      STATE_TABLE: fixture.emulators.tableNames.state,
      EVENT_BUS_NAME: 'bus',
    });
    const runtime = createCoreRuntime(config, {
      clients: { ...awsClientsFor(fixture.emulators), sfn: new SFNClient({ region: 'us-east-1' }) },
      events: { publishJobStateChanges: async () => undefined },
    });
    const executionArn = 'arn:aws:states:us-east-1:123456789012:execution:synthforge-dev-training:01J';
    const job = aJob({ tenant: aTenant(), kind: 'training', status: 'running', executionId: executionArn });
    await runtime.store.create([job]);

    // Act
    const cancelled = await runtime.engine.cancel(job.tenant, job.id);

    // Assess
    expect(cancelled.status).toBe('cancelled');
    expect(sfn).toHaveReceivedCommandWith(StopExecutionCommand, { executionArn });
  });

  it('composes family parts without building any adapter until it is used', async () => {
    // Prepare: a function's environment without a table or a bucket.
    const config = await coreConfigFromEnv({});
    const core = createCoreRuntime(config, { events: { publishJobStateChanges: async () => undefined } });
    let built = 0;
    const part = {
      get expensive() {
        built++;
        return 'built';
      },
    };

    // Act
    const runtime = compose(core, part);
    const before = built;
    const value = runtime.expensive;

    // Assess
    expect(before).toBe(0);
    expect(value).toBe('built');
    expect(() => runtime.store).toThrow('environment variable STATE_TABLE is not set for this function');
  });
});
