import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  EventBridgeEventPublisher,
  EventPublishError,
} from '../../../../lambdas/adapters/eventbridge/event-publisher.ts';
import type { JobStateChange } from '../../../../lambdas/domain/ports.ts';

const eventsMock = mockClient(EventBridgeClient);

function publisher(): EventBridgeEventPublisher {
  return new EventBridgeEventPublisher(new EventBridgeClient({ region: 'eu-west-1' }), {
    busName: 'synthforge-dev',
    retryBaseDelayMs: 0,
  });
}

function aChange(index: number, overrides: Partial<JobStateChange> = {}): JobStateChange {
  return {
    tenant: 'acme',
    jobId: `01JD3X2K8Q7YV4N6B5M9T0R${String(index).padStart(3, '0')}`,
    kind: 'generation',
    previousStatus: 'running',
    status: 'completed',
    version: 3,
    at: '2031-05-06T07:08:09.000Z',
    ...overrides,
  };
}

function sentEntries(): PutEventsRequestEntry[][] {
  return eventsMock.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries ?? []);
}

describe('EventBridgeEventPublisher', () => {
  beforeEach(() => {
    eventsMock.reset();
  });

  it('publishes a Job State Change with a snake_case detail to the bus', async () => {
    // Prepare
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    const change = aChange(1, {
      batchId: '01JD3X2K8Q7YV4N6B5M9T0RWZC',
      status: 'failed',
      error: { code: 'RENDER_FAILED', message: 'out of memory' },
    });

    // Act
    await publisher().publishJobStateChanges([change]);

    // Assess
    const [[entry]] = sentEntries() as [[PutEventsRequestEntry]];
    expect(entry).toMatchObject({
      EventBusName: 'synthforge-dev',
      Source: 'synthforge.jobs',
      DetailType: 'Job State Change',
    });
    expect(JSON.parse(entry.Detail ?? '')).toStrictEqual({
      job_id: change.jobId,
      tenant: 'acme',
      kind: 'generation',
      batch_id: '01JD3X2K8Q7YV4N6B5M9T0RWZC',
      previous_status: 'running',
      status: 'failed',
      version: 3,
      at: '2031-05-06T07:08:09.000Z',
      error: { code: 'RENDER_FAILED', message: 'out of memory' },
    });
  });

  it('sends at most 10 entries per call, every event exactly once', async () => {
    // Prepare
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0 });
    const changes = Array.from({ length: 23 }, (_, index) => aChange(index));

    // Act
    await publisher().publishJobStateChanges(changes);

    // Assess
    const calls = sentEntries();
    expect(calls.map((entries) => entries.length)).toEqual([10, 10, 3]);
    expect(calls.flat().map((entry) => JSON.parse(entry.Detail ?? '').job_id)).toEqual(
      changes.map((change) => change.jobId),
    );
  });

  it('sends again only the entries EventBridge refused', async () => {
    // Prepare
    eventsMock
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: [
          { EventId: 'a' },
          { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' },
          { EventId: 'c' },
          { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' },
        ],
      })
      .resolves({ FailedEntryCount: 0 });
    const changes = [aChange(0), aChange(1), aChange(2), aChange(3)];

    // Act
    await publisher().publishJobStateChanges(changes);

    // Assess
    const [, retry] = sentEntries();
    expect(retry?.map((entry) => JSON.parse(entry.Detail ?? '').job_id)).toEqual([
      changes[1]?.jobId,
      changes[3]?.jobId,
    ]);
    expect(eventsMock).toHaveReceivedCommandTimes(PutEventsCommand, 2);
  });

  it('gives up after 3 retries and names the events that were not published', async () => {
    // Prepare
    eventsMock.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => ({
      FailedEntryCount: 1,
      Entries: input.Entries.map((_, index) =>
        index === 0 ? { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' } : { EventId: `${index}` },
      ),
    }));
    const changes = [aChange(7), aChange(8)];

    // Act
    const publishing = publisher().publishJobStateChanges(changes);

    // Assess
    await expect(publishing).rejects.toThrow(EventPublishError);
    await expect(publishing).rejects.toMatchObject({
      failures: [{ jobId: changes[0]?.jobId, errorCode: 'InternalFailure', errorMessage: 'oops' }],
    });
    expect(eventsMock).toHaveReceivedCommandTimes(PutEventsCommand, 4);
  });

  it('makes no call for no events', async () => {
    // Act
    await publisher().publishJobStateChanges([]);

    // Assess
    expect(eventsMock).toHaveReceivedCommandTimes(PutEventsCommand, 0);
  });
});
