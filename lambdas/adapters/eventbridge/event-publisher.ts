import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import type { EventPublisher, JobStateChange } from '../../domain/ports.ts';

export interface EventBridgeEventPublisherOptions {
  busName: string;
  /** First pause before resending entries EventBridge refused; doubles each time. Default 100 ms. */
  retryBaseDelayMs?: number;
}

export const JOB_EVENT_SOURCE = 'synthforge.jobs';
export const JOB_STATE_CHANGE = 'Job State Change';

/** The `detail` of a `Job State Change` event, as subscribers read it. */
export interface JobStateChangeDetail {
  job_id: string;
  tenant: string;
  kind: string;
  batch_id?: string;
  previous_status: string;
  status: string;
  version: number;
  at: string;
  error?: { code: string; message: string };
}

/** PutEvents takes at most 10 entries. */
const ENTRIES_PER_CALL = 10;
const MAX_RETRIES = 3;

/** An event EventBridge kept refusing after every retry. */
export class EventPublishError extends Error {
  constructor(readonly failures: { jobId: string; errorCode: string; errorMessage: string }[]) {
    super(
      `EventBridge refused ${failures.length} event(s): ${failures
        .map((failure) => `${failure.jobId} ${failure.errorCode}`)
        .join(', ')}`,
    );
    this.name = 'EventPublishError';
  }
}

/**
 * Publishes job state changes to the SynthForge bus. PutEvents succeeds as a call even when some of
 * its entries fail (throttling, internal errors), so each entry's result is checked and the failed
 * ones are sent again.
 */
export class EventBridgeEventPublisher implements EventPublisher {
  readonly #busName: string;
  readonly #retryBaseDelayMs: number;

  constructor(
    private readonly events: EventBridgeClient,
    options: EventBridgeEventPublisherOptions,
  ) {
    this.#busName = options.busName;
    this.#retryBaseDelayMs = options.retryBaseDelayMs ?? 100;
  }

  async publishJobStateChanges(changes: JobStateChange[]): Promise<void> {
    for (let start = 0; start < changes.length; start += ENTRIES_PER_CALL) {
      await this.#publishChunk(changes.slice(start, start + ENTRIES_PER_CALL));
    }
  }

  async #publishChunk(changes: JobStateChange[]): Promise<void> {
    let pending = changes.map((change) => ({ change, entry: this.#entryFor(change) }));
    let refused: { change: JobStateChange; result: PutEventsResultEntry }[] = [];
    for (let attempt = 0; attempt <= MAX_RETRIES; attempt++) {
      if (attempt > 0) await sleep(this.#retryBaseDelayMs * 2 ** (attempt - 1));
      const output = await this.events.send(
        new PutEventsCommand({ Entries: pending.map(({ entry }) => entry) }),
      );
      if ((output.FailedEntryCount ?? 0) === 0) return;
      // Result entries line up with the request's: a failed one carries an ErrorCode.
      refused = pending.flatMap(({ change }, index) => {
        const result = output.Entries?.[index];
        return result?.ErrorCode === undefined ? [] : [{ change, result }];
      });
      pending = pending.filter((_, index) => output.Entries?.[index]?.ErrorCode !== undefined);
    }
    throw new EventPublishError(
      refused.map(({ change, result }) => ({
        jobId: change.jobId,
        errorCode: result.ErrorCode ?? 'Unknown',
        errorMessage: result.ErrorMessage ?? '',
      })),
    );
  }

  #entryFor(change: JobStateChange): PutEventsRequestEntry {
    return {
      EventBusName: this.#busName,
      Source: JOB_EVENT_SOURCE,
      DetailType: JOB_STATE_CHANGE,
      Time: new Date(change.at),
      Detail: JSON.stringify(detailOf(change)),
    };
  }
}

export function detailOf(change: JobStateChange): JobStateChangeDetail {
  return {
    job_id: change.jobId,
    tenant: change.tenant,
    kind: change.kind,
    ...(change.batchId === undefined ? {} : { batch_id: change.batchId }),
    previous_status: change.previousStatus,
    status: change.status,
    version: change.version,
    at: change.at,
    ...(change.error === undefined ? {} : { error: change.error }),
  };
}

/** The change a `Job State Change` event's detail describes (what a rule's target receives). */
export function changeOf(detail: JobStateChangeDetail): JobStateChange {
  return {
    jobId: detail.job_id,
    tenant: detail.tenant,
    kind: detail.kind as JobStateChange['kind'],
    ...(detail.batch_id === undefined ? {} : { batchId: detail.batch_id }),
    previousStatus: detail.previous_status as JobStateChange['previousStatus'],
    status: detail.status as JobStateChange['status'],
    version: detail.version,
    at: detail.at,
    ...(detail.error === undefined ? {} : { error: detail.error }),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
