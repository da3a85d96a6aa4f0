import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { AvatarsFamily } from '../../../lib/families/avatars.ts';
import { DatasetsFamily } from '../../../lib/families/datasets.ts';
import { InferenceFamily } from '../../../lib/families/inference.ts';
import {
  buildTestStack,
  type CfnJson,
  referencedId,
  resourcesOfType,
  type TestStack,
} from '../stack-fixture.ts';

let built: TestStack;

beforeAll(() => {
  built = buildTestStack({ eventArchiveRetentionDays: 45 });
});

describe('bus', () => {
  it('is named after the stage and archived for the configured days', () => {
    built.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'synthforge-test' });
    built.template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [built.idOf(built.stack.events.bus), 'Arn'] },
      RetentionDays: 45,
    });
  });
});

describe('dead-letter queue', () => {
  it('is encrypted and refuses requests without TLS', () => {
    const queueId = built.idOf(built.stack.events.deadLetterQueue);
    expect(resourcesOfType(built.template, 'AWS::SQS::Queue')[queueId]?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    built.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });
});

/** The reconciler's rule (the other rule, the WebSocket push's, is tested with its construct). */
const reconcilerRule = () =>
  resourcesOfType(built.template, 'AWS::Events::Rule')[
    built.idOf(built.stack.events.node.findChild('FailedExecutions') as never)
  ]?.Properties as CfnJson;

describe('rules', () => {
  it('are the reconciler’s, the WebSocket push’s and the ended avatar jobs’, nothing else', () => {
    const rules = Object.keys(resourcesOfType(built.template, 'AWS::Events::Rule')).sort();
    expect(rules).toEqual(
      [
        built.idOf(built.stack.events.node.findChild('FailedExecutions') as never),
        built.idOf(built.stack.webSocket.pushRule),
        built.idOf(built.stack.events.node.findChild('AvatarJobsEnded') as never),
      ].sort(),
    );
  });

  it('sends every state change of an avatar job on the SynthForge bus to the wake-up of its dependants', () => {
    const rule = resourcesOfType(built.template, 'AWS::Events::Rule')[
      built.idOf(built.stack.events.node.findChild('AvatarJobsEnded') as never)
    ]?.Properties as CfnJson;
    expect(rule.EventPattern).toMatchObject({
      'detail-type': ['Job State Change'],
      detail: { kind: ['avatars'] },
    });
    expect(JSON.stringify(rule.Targets)).toContain(
      built.idOf(built.stack.families.require(AvatarsFamily, 'the tests').wakeOnEnd),
    );
  });
});

describe('reconciler rule', () => {
  it('sends failed, timed-out and aborted executions of the six workflows, from the default bus', () => {
    const rule = reconcilerRule();
    expect(rule.EventBusName).toBeUndefined();
    expect(rule.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        stateMachineArn: [
          { Ref: built.idOf(built.families.generation.workflow.batchStateMachine) },
          { Ref: built.idOf(built.families.images.workflow.stateMachine) },
          { Ref: built.idOf(built.families.training.workflow.stateMachine) },
          {
            Ref: built.idOf(
              built.stack.families.require(InferenceFamily, 'the tests').stateMachines.inference.stateMachine,
            ),
          },
          {
            Ref: built.idOf(
              built.stack.families.require(AvatarsFamily, 'the tests').stateMachines.avatars.stateMachine,
            ),
          },
          {
            Ref: built.idOf(
              built.stack.families.require(DatasetsFamily, 'the tests').stateMachines.datasets.stateMachine,
            ),
          },
        ],
      },
    });
  });

  it('targets the reconciler with retries and the dead-letter queue', () => {
    const rule = reconcilerRule();
    expect(rule.Targets).toHaveLength(1);
    const target = rule.Targets[0];
    expect(referencedId(target.Arn)).toBe(built.idOf(built.families.platform.reconciler));
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 6 * 3600 });
    expect(referencedId(target.DeadLetterConfig.Arn)).toBe(built.idOf(built.stack.events.deadLetterQueue));
  });

  it('the reconciler’s own failed invocations go to the dead-letter queue too', () => {
    const reconciler = resourcesOfType(built.template, 'AWS::Lambda::Function')[
      built.idOf(built.families.platform.reconciler)
    ];
    expect(referencedId(reconciler?.Properties.DeadLetterConfig.TargetArn)).toBe(
      built.idOf(built.stack.events.deadLetterQueue),
    );
  });
});
