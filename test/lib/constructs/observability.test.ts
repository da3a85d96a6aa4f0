import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestStack, referencedId, resourcesOfType, type TestStack } from '../stack-fixture.ts';

let built: TestStack;
let alarms: ReturnType<typeof resourcesOfType>[string][];
let topic: string;

beforeAll(() => {
  built = buildTestStack({ alarmEmail: 'oncall@example.com' });
  alarms = Object.values(resourcesOfType(built.template, 'AWS::CloudWatch::Alarm'));
  topic = built.idOf(built.stack.observability.alarmTopic);
});

describe('alarms', () => {
  it('watch every function, failed and timed-out executions, dead letters and API 5xx, and notify the topic', () => {
    expect(alarms).toHaveLength(built.stack.functions.length + 4);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topic }]);
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
    const metrics = alarms.map((alarm) => `${alarm.Properties.Namespace}/${alarm.Properties.MetricName}`);
    expect(metrics.filter((m) => m === 'AWS/Lambda/Errors')).toHaveLength(built.stack.functions.length);
    expect(metrics).toEqual(
      expect.arrayContaining([
        'AWS/States/ExecutionsFailed',
        'AWS/States/ExecutionsTimedOut',
        'AWS/SQS/ApproximateNumberOfMessagesVisible',
        'AWS/ApiGateway/5XXError',
      ]),
    );
    const dlqAlarm = alarms.find((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible');
    const dimensions = dlqAlarm?.Properties.Dimensions as { Value: unknown }[];
    expect(JSON.stringify(dimensions)).toContain(built.idOf(built.stack.events.deadLetterQueue));
  });

  it('the topic requires TLS and e-mails the alarm address', () => {
    built.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topic }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    const subscriptions = Object.values(resourcesOfType(built.template, 'AWS::SNS::Subscription'));
    expect(subscriptions.map((s) => [s.Properties.Protocol, s.Properties.Endpoint])).toEqual([
      ['email', 'oncall@example.com'],
    ]);
    expect(referencedId(subscriptions[0]?.Properties.TopicArn)).toBe(topic);
  });

  it('without an alarm address, the topic has no subscription', () => {
    expect(resourcesOfType(buildTestStack().template, 'AWS::SNS::Subscription')).toEqual({});
  });
});
