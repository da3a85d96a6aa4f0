/**
 * The notifications of asynchronous inference: the message SageMaker publishes to an endpoint's SNS
 * success or error topic once a request has ended, delivered as the SNS -> Lambda event a function
 * subscribed to that topic receives.
 */
import { randomUUID } from 'node:crypto';
import type { SNSEvent } from 'aws-lambda';
import { optional } from './wire-protocol.ts';

export type NotificationKind = 'success' | 'error';

/**
 * The message SageMaker publishes to an endpoint's SNS success or error topic (the `Message` of the
 * SNS record, as JSON), for example:
 *
 *   {"awsRegion": "us-east-1", "eventTime": "2026-01-25T22:46:00.608Z",
 *    "receivedTime": "2026-01-25T22:46:00.455Z", "invocationStatus": "Completed",
 *    "requestParameters": {"accept": "image/png", "contentType": "application/json",
 *      "endpointName": "synthforge-local-shapes", "inputLocation": "s3://bucket/in/1.json"},
 *    "responseParameters": {"contentType": "image/png",
 *      "outputLocation": "s3://bucket/async/out/1b4e28ba-2fa1-11d2-883f-0016d3cca427.out"},
 *    "inferenceId": "job-42", "eventVersion": "1.0", "eventSource": "aws:sagemaker",
 *    "eventName": "InferenceResult"}
 *
 * A failure has `"invocationStatus": "Failed"` and `failureReason` (for a model error
 * "ClientError: Received client error (400) from model. See the SageMaker Endpoint logs in your
 * account for more information."), and, when a failure object was written,
 * `responseParameters.failureLocation` (with its `contentType`) instead of `outputLocation`.
 */
export interface SageMakerAsyncNotification {
  awsRegion: string;
  eventTime: string;
  receivedTime: string;
  invocationStatus: 'Completed' | 'Failed';
  failureReason?: string;
  requestParameters: {
    accept?: string;
    contentType?: string;
    customAttributes?: string;
    endpointName: string;
    inputLocation?: string;
  };
  responseParameters?: { contentType: string; outputLocation?: string; failureLocation?: string };
  inferenceId: string;
  eventVersion: '1.0';
  eventSource: 'aws:sagemaker';
  eventName: 'InferenceResult';
}

/** How a request ended, and what of it the notification repeats. */
export interface InvocationResult {
  region: string;
  endpointName: string;
  inferenceId: string;
  request: { accept?: string; contentType?: string; customAttributes?: string; inputLocation?: string };
  /** Epoch milliseconds. */
  receivedAt: number;
  endedAt: number;
  /** Absent when the request completed. */
  failureReason?: string;
  responseParameters?: SageMakerAsyncNotification['responseParameters'];
}

export function asyncNotification(result: InvocationResult): SageMakerAsyncNotification {
  return {
    awsRegion: result.region,
    eventTime: new Date(result.endedAt).toISOString(),
    receivedTime: new Date(result.receivedAt).toISOString(),
    invocationStatus: result.failureReason === undefined ? 'Completed' : 'Failed',
    ...optional('failureReason', result.failureReason),
    requestParameters: {
      ...optional('accept', result.request.accept),
      ...optional('contentType', result.request.contentType),
      ...optional('customAttributes', result.request.customAttributes),
      endpointName: result.endpointName,
      ...optional('inputLocation', result.request.inputLocation),
    },
    ...optional('responseParameters', result.responseParameters),
    inferenceId: result.inferenceId,
    eventVersion: '1.0',
    eventSource: 'aws:sagemaker',
    eventName: 'InferenceResult',
  };
}

/** The event SNS hands a subscribed Lambda function for `message` published to `topicArn`. */
export function snsEvent(
  topicArn: string,
  message: SageMakerAsyncNotification,
  region: string,
  now: number,
): SNSEvent {
  const subscriptionArn = `${topicArn}:${randomUUID()}`;
  return {
    Records: [
      {
        EventVersion: '1.0',
        EventSubscriptionArn: subscriptionArn,
        EventSource: 'aws:sns',
        Sns: {
          Type: 'Notification',
          MessageId: randomUUID(),
          TopicArn: topicArn,
          Message: JSON.stringify(message),
          Timestamp: new Date(now).toISOString(),
          SignatureVersion: '1',
          // Not signed: nothing locally checks SNS signatures.
          Signature: 'TE9DQUw=',
          SigningCertUrl: `https://sns.${region}.amazonaws.com/SimpleNotificationService-local.pem`,
          UnsubscribeUrl: `https://sns.${region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${subscriptionArn}`,
          MessageAttributes: {},
        },
      },
    ],
  };
}
