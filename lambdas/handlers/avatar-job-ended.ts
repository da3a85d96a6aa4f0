/**
 * The target of the rule that sends every `Job State Change` of an avatar job here: a job cancelled
 * or failed outside its execution's own steps (the generic `DELETE /jobs/{id}`, the reconciler)
 * wakes its waiting dependants, which decide at once instead of when their wait times out. A failure
 * throws, so that EventBridge retries the event (waking twice is harmless).
 */
import type { EventBridgeEvent } from 'aws-lambda';
import { changeOf, type JobStateChangeDetail } from '../adapters/eventbridge/event-publisher.ts';
import { releaseEnded } from '../domain/avatars/workflow-tasks.ts';
import { type AvatarStepsRuntime, withAvatarSteps } from '../families/avatars/steps.ts';
import type { CoreRuntime } from '../runtime/core.ts';
import { taskEntry } from '../shared/task-entry.ts';

export type AvatarJobStateChangeEvent = EventBridgeEvent<'Job State Change', JobStateChangeDetail>;

export const avatarJobEndedTask = (
  runtime: CoreRuntime & AvatarStepsRuntime,
  event: AvatarJobStateChangeEvent,
) => releaseEnded(runtime.avatarTasks, changeOf(event.detail));

export const handler = taskEntry(avatarJobEndedTask, withAvatarSteps);
