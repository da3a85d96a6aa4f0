import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestStack, referencedId, resourcesOfType, type TestStack } from '../stack-fixture.ts';

let built: TestStack;
let alarms: ReturnType<typeof resourcesOfType>[string][];
let topic: string;

beforeAll(() => {
  built = buildTestStack({ alarmEmail: 'oncall@example.com' });
  // The observability alarms (the model endpoints' wake-from-zero alarms act on scaling, not on people).
  const ids = new Set(built.stack.observability.alarms.map((alarm) => built.idOf(alarm)));
  alarms = Object.entries(resourcesOfType(built.template, 'AWS::CloudWatch::Alarm'))
    .filter(([id]) => ids.has(id))
    .map(([, alarm]) => alarm);
  topic = built.idOf(built.stack.observability.alarmTopic);
});

describe('alarms', () => {
  it('watch every function but the two key authorizers, failed and timed-out executions, dead letters, API 5xx and model errors, and notify the topic', () => {
    const authorizers = [built.families.platform.authorizer, built.stack.webSocket.authorizer];
    const alarmed = built.stack.functions.filter((fn) => !authorizers.includes(fn));
    expect(alarmed).toHaveLength(built.stack.functions.length - 2);
    const endpoints = built.families.images.endpoints.endpoints;
    expect(endpoints).toHaveLength(1);
    expect(alarms).toHaveLength(alarmed.length + 4 + endpoints.length);
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
        'AWS/SageMaker/Invocation5XXErrors',
      ]),
    );
    const dlqAlarm = alarms.find((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible');
    const dimensions = dlqAlarm?.Properties.Dimensions as { Value: unknown }[];
    expect(JSON.stringify(dimensions)).toContain(built.idOf(built.stack.events.deadLetterQueue));
  });

  it('do not page on rejected keys: the authorizers (REST and WebSocket), which throw for each, have no Errors alarm', () => {
    for (const authorizer of [built.families.platform.authorizer, built.stack.webSocket.authorizer]) {
      const authorizerId = built.idOf(authorizer);
      const onAuthorizer = alarms.filter((alarm) =>
        JSON.stringify(alarm.Properties.Dimensions).includes(authorizerId),
      );
      expect(onAuthorizer.map((alarm) => alarm.Properties.MetricName)).not.toContain('Errors');
    }
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
    // The model topics' subscriptions (the endpoint notifications function) are the image workflow's.
    const subscriptions = Object.values(resourcesOfType(built.template, 'AWS::SNS::Subscription')).filter(
      (s) => referencedId(s.Properties.TopicArn) === topic,
    );
    expect(subscriptions.map((s) => [s.Properties.Protocol, s.Properties.Endpoint])).toEqual([
      ['email', 'oncall@example.com'],
    ]);
    expect(referencedId(subscriptions[0]?.Properties.TopicArn)).toBe(topic);
  });

  it("alarm on each model endpoint's Invocation5XXErrors, on its one variant", () => {
    const modelErrors = alarms.filter((alarm) => alarm.Properties.MetricName === 'Invocation5XXErrors');
    expect(modelErrors.map((alarm) => alarm.Properties.Dimensions)).toEqual(
      built.families.images.endpoints.endpoints.map((endpoint) => [
        { Name: 'EndpointName', Value: endpoint.endpointName },
        { Name: 'VariantName', Value: 'AllTraffic' },
      ]),
    );
    expect(modelErrors[0]?.Properties).toMatchObject({
      Namespace: 'AWS/SageMaker',
      Statistic: 'Sum',
      Threshold: 1,
    });
  });

  it('without an alarm address, the topic has no subscription', () => {
    const bare = buildTestStack();
    const alarmTopic = bare.idOf(bare.stack.observability.alarmTopic);
    const subscriptions = Object.values(resourcesOfType(bare.template, 'AWS::SNS::Subscription'));
    expect(subscriptions.filter((s) => referencedId(s.Properties.TopicArn) === alarmTopic)).toEqual([]);
  });
});
