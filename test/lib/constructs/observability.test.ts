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
  it('watch every function but the authorizer, failed and timed-out executions, dead letters and API 5xx, and notify the topic', () => {
    const alarmed = built.stack.functions.filter((fn) => fn !== built.stack.apiHandlers.authorizer);
    expect(alarmed).toHaveLength(built.stack.functions.length - 1);
    expect(alarms).toHaveLength(alarmed.length + 4);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topic }]);
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
    const metrics = alarms.map((alarm) => `${alarm.Properties.Namespace}/${alarm.Properties.MetricName}`);
    const errorsAlarmsOn = alarms
      .filter((alarm) => alarm.Properties.MetricName === 'Errors')
      .map((alarm) => referencedId((alarm.Properties.Dimensions as { Value: unknown }[])[0]?.Value));
    expect(metrics.filter((m) => m === 'AWS/Lambda/Errors')).toHaveLength(alarmed.length);
    expect(errorsAlarmsOn.sort()).toEqual(alarmed.map((fn) => built.idOf(fn)).sort());
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

  it('do not page on rejected keys: the authorizer, which throws for each, has no Errors alarm', () => {
    const authorizerId = built.idOf(built.stack.apiHandlers.authorizer);
    const onAuthorizer = alarms.filter((alarm) =>
      JSON.stringify(alarm.Properties.Dimensions).includes(authorizerId),
    );
    expect(onAuthorizer.map((alarm) => alarm.Properties.MetricName)).not.toContain('Errors');
  });

  it("alarm on the REST API's 5XXError, where authorizer failures show", () => {
    const api5xx = alarms.filter((alarm) => alarm.Properties.MetricName === '5XXError');
    expect(api5xx).toHaveLength(1);
    expect(api5xx[0]?.Properties).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const restApi = resourcesOfType(built.template, 'AWS::ApiGateway::RestApi')[
      built.idOf(built.stack.api.restApi)
    ];
    expect(api5xx[0]?.Properties.Dimensions).toEqual([{ Name: 'ApiName', Value: restApi?.Properties.Name }]);
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
