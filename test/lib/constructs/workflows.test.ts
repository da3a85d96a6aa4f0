import { beforeAll, describe, expect, it } from 'vitest';
import type { SynthForgeFunction } from '../../../lib/constructs/synthforge-function.ts';
import {
  allStates,
  placeholdersOf,
  readDefinition,
  TASK_FUNCTIONS,
} from '../../../statemachines/definitions.ts';
import {
  buildTestStack,
  type CfnJson,
  referencedId,
  resourcesOfType,
  statementsOfRole,
  type TestStack,
} from '../stack-fixture.ts';

let built: TestStack;
let machine: CfnJson;
const aslText = readDefinition('generationBatch');

beforeAll(() => {
  built = buildTestStack();
  const machines = resourcesOfType(built.template, 'AWS::StepFunctions::StateMachine');
  // The generation batch, the image, training, inference, avatars and datasets workflows.
  expect(Object.keys(machines)).toHaveLength(6);
  machine = machines[built.idOf(built.families.generation.workflow.batchStateMachine)]?.Properties as CfnJson;
});

describe('image state machine', () => {
  it('inlines its ASL with the ARN of the function behind each placeholder, and may invoke only those', () => {
    const { images, generation } = built.families;
    const image = resourcesOfType(built.template, 'AWS::StepFunctions::StateMachine')[
      built.idOf(images.workflow.stateMachine)
    ]?.Properties as CfnJson;
    const functions = {
      StartBatchFunctionArn: generation.workflow.tasks.startBatch,
      InvokeModelFunctionArn: images.workflow.invokeModel,
      FailJobFunctionArn: generation.workflow.tasks.failJob,
      FinishBatchFunctionArn: generation.workflow.tasks.finishBatch,
    };
    expect(image.DefinitionString).toBe(readDefinition('imageGeneration'));
    expect(image.DefinitionSubstitutions).toEqual(
      Object.fromEntries(
        Object.entries(functions).map(([placeholder, fn]) => [
          placeholder,
          { 'Fn::GetAtt': [built.idOf(fn), 'Arn'] },
        ]),
      ),
    );
    const policy = resourcesOfType(built.template, 'AWS::IAM::Policy')[
      built.idOf(images.workflow.machine.invokePolicy)
    ];
    const invoke = (policy?.Properties.PolicyDocument as { Statement: CfnJson[] } | undefined)?.Statement;
    expect(invoke).toHaveLength(1);
    expect(invoke?.[0]?.Resource).toEqual(
      Object.values(functions).flatMap((fn) => [
        { 'Fn::GetAtt': [built.idOf(fn), 'Arn'] },
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': [built.idOf(fn), 'Arn'] }, ':*']] },
      ]),
    );
  });

  it('subscribes the endpoint notifications to both model topics, failed deliveries kept', () => {
    const { events } = built.stack;
    const { images } = built.families;
    const subscriptions = Object.values(resourcesOfType(built.template, 'AWS::SNS::Subscription')).filter(
      (subscription) => subscription.Properties.Protocol === 'lambda',
    );
    expect(
      subscriptions.map((subscription) => referencedId(subscription.Properties.TopicArn)).sort(),
    ).toEqual([built.idOf(images.endpoints.successTopic), built.idOf(images.endpoints.errorTopic)].sort());
    for (const subscription of subscriptions) {
      expect(subscription.Properties.Endpoint).toEqual({
        'Fn::GetAtt': [built.idOf(images.workflow.notifications), 'Arn'],
      });
      expect(JSON.stringify(subscription.Properties.RedrivePolicy)).toContain(
        built.idOf(events.deadLetterQueue),
      );
    }
  });
});

describe('batch state machine', () => {
  it('inlines the ASL file (no S3 asset) with a substitution for exactly each placeholder', () => {
    expect(machine.DefinitionString).toBe(aslText);
    expect(machine.DefinitionS3Location).toBeUndefined();
    expect(new Set(Object.keys(machine.DefinitionSubstitutions))).toEqual(placeholdersOf(aslText));
    // The same placeholders the local platform substitutes.
    expect(Object.keys(machine.DefinitionSubstitutions).sort()).toEqual(
      [...TASK_FUNCTIONS.generationBatch].sort(),
    );
  });

  it('substitutes each placeholder with the ARN of its task function', () => {
    const { tasks } = built.families.generation.workflow;
    const expected: Record<string, SynthForgeFunction> = {
      StartBatchFunctionArn: tasks.startBatch,
      RunJobFunctionArn: tasks.runJob,
      FailJobFunctionArn: tasks.failJob,
      FinishBatchFunctionArn: tasks.finishBatch,
    };
    for (const [name, fn] of Object.entries(expected)) {
      expect(machine.DefinitionSubstitutions[name], name).toEqual({ 'Fn::GetAtt': [built.idOf(fn), 'Arn'] });
    }
  });

  // Every machine is built by lambdaStateMachine: each is checked here, once.
  const machines = () => {
    const { generation, images, training } = built.families;
    return [
      ['generation-batch', generation.workflow.batchStateMachine, generation.workflow.machine.role],
      ['image-generation', images.workflow.stateMachine, images.workflow.machine.role],
      ['training', training.workflow.stateMachine, training.workflow.machine.role],
    ] as const;
  };
  const propertiesOf = (construct: Parameters<TestStack['idOf']>[0]) =>
    resourcesOfType(built.template, 'AWS::StepFunctions::StateMachine')[built.idOf(construct)]
      ?.Properties as CfnJson;

  it('gives each Lambda step a timeout within the TimeoutSeconds of the Task that invokes it: every machine', () => {
    const functions = resourcesOfType(built.template, 'AWS::Lambda::Function');
    for (const [name, stateMachine] of machines()) {
      const properties = propertiesOf(stateMachine);
      const byPlaceholder = new Map(
        Object.entries(properties.DefinitionSubstitutions).map(([placeholder, arn]) => [
          `\${${placeholder}}`,
          referencedId(arn),
        ]),
      );
      const lambdaTasks = allStates<CfnJson>(JSON.parse(properties.DefinitionString).States)
        .map(([, state]) => state)
        .filter(
          (state) => state.Type === 'Task' && state.Resource.startsWith('arn:aws:states:::lambda:invoke'),
        );
      expect(lambdaTasks.length, name).toBeGreaterThanOrEqual(3);
      for (const task of lambdaTasks) {
        const fnId = byPlaceholder.get(task.Parameters.FunctionName) as string;
        expect(
          functions[fnId]?.Properties.Timeout,
          `${name}: ${task.Parameters.FunctionName}`,
        ).toBeLessThanOrEqual(task.TimeoutSeconds);
      }
    }
  });

  it('logs ALL events with execution data to a log group with retention, and traces with X-Ray: every machine', () => {
    for (const [name, stateMachine] of machines()) {
      const properties = propertiesOf(stateMachine);
      expect(properties.LoggingConfiguration, name).toMatchObject({
        Level: 'ALL',
        IncludeExecutionData: true,
      });
      const destination = properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn;
      const group = resourcesOfType(built.template, 'AWS::Logs::LogGroup')[
        referencedId(destination) as string
      ];
      expect(group?.Properties, name).toMatchObject({
        RetentionInDays: 30,
        LogGroupName: `/aws/vendedlogs/states/synthforge-test-${name}`,
      });
      expect(properties.TracingConfiguration, name).toEqual({ Enabled: true });
    }
  });

  it('runs each machine as its own role, assumable only by Step Functions of this account', () => {
    const roles = new Set<string>();
    for (const [name, stateMachine, stateMachineRole] of machines()) {
      const roleId = built.idOf(stateMachineRole);
      roles.add(roleId);
      expect(referencedId(propertiesOf(stateMachine).RoleArn), name).toBe(roleId);
      const role = resourcesOfType(built.template, 'AWS::IAM::Role')[roleId]?.Properties as CfnJson;
      expect(role.AssumeRolePolicyDocument.Statement, name).toEqual([
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'states.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
        },
      ]);
      expect(role.ManagedPolicyArns, name).toBeUndefined();
    }
    expect(roles.size).toBe(3);
  });

  it('may invoke exactly the four task functions (and their versions), nothing else', () => {
    const invokes = statementsOfRole(
      built.template,
      built.idOf(built.families.generation.workflow.machine.role),
    ).filter((statement) => [statement.Action].flat().some((action) => action.startsWith('lambda:')));
    expect(invokes).toHaveLength(1);
    expect(invokes[0]?.Action).toBe('lambda:InvokeFunction');
    const expected = Object.values(built.families.generation.workflow.tasks).flatMap(
      (fn: SynthForgeFunction) => [
        { 'Fn::GetAtt': [built.idOf(fn), 'Arn'] },
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': [built.idOf(fn), 'Arn'] }, ':*']] },
      ],
    );
    expect(invokes[0]?.Resource).toEqual(expected);
  });
});
