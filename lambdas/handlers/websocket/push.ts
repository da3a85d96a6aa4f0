/**
 * The target of the rule that sends every `Job State Change` of an image job here: the job's
 * progress, result or error goes to each connection waiting for it. A failure other than a gone
 * connection throws, so that EventBridge retries the event (the claims make that safe).
 */
import type { EventBridgeEvent } from 'aws-lambda';
import { changeOf, type JobStateChangeDetail } from '../../adapters/eventbridge/event-publisher.ts';
import type { GenerationSocket } from '../../domain/websocket/service.ts';
import { socketEntry } from '../../shared/websocket-entry.ts';

export type JobStateChangeEvent = EventBridgeEvent<'Job State Change', JobStateChangeDetail>;

export const pushTask = (socket: GenerationSocket, event: JobStateChangeEvent) =>
  socket.push(changeOf(event.detail));

export const handler = socketEntry(pushTask);
