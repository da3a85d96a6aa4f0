/**
 * Subscribed to the model endpoints' success and error SNS topics: each notification ends its image
 * job and resumes the workflow step waiting on it.
 */
import type { SNSEvent } from 'aws-lambda';
import { type EndpointNotification, handleEndpointNotification } from '../domain/images/workflow-tasks.ts';
import { type ImagesRuntime, withImages } from '../families/images/runtime.ts';
import type { CoreRuntime } from '../runtime/core.ts';
import { logger } from '../shared/logger.ts';
import { taskEntry } from '../shared/task-entry.ts';

export const endpointNotificationsTask = async (runtime: CoreRuntime & ImagesRuntime, event: SNSEvent) => {
  const outcomes = [];
  for (const record of event.Records) {
    let notification: EndpointNotification;
    try {
      notification = JSON.parse(record.Sns.Message) as EndpointNotification;
    } catch {
      // Not SageMaker's: retrying would not make it readable.
      logger.error('an endpoint notification is not JSON', { messageId: record.Sns.MessageId });
      continue;
    }
    // A failure here throws: SNS retries the delivery, and the handling is idempotent.
    outcomes.push(await handleEndpointNotification(runtime.imageTasks, notification));
  }
  return { outcomes };
};

export const handler = taskEntry(endpointNotificationsTask, withImages);
