import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainingJobName } from '../../../lambdas/domain/training/keys.ts';
import { parseStageConfig } from '../../../lib/config.ts';
import { TRAINING_JOB_NAMES } from '../../../lib/constructs/training-workflow.ts';
import { flattenReference } from '../../../lib/nag.ts';
import { PYTORCH_TRAINING_REGISTRIES } from '../../../lib/pytorch-training-image.ts';
import { stageStacks } from '../../../lib/stage-stacks.ts';
import { TRAINER_DIRECTORY } from '../../../lib/trainer-source.ts';
import {
  placeholdersOf,
  readDefinition,
  SERVICE_SUBSTITUTIONS,
  substitute,
  TASK_FUNCTIONS,
} from '../../../statemachines/definitions.ts';
import {
  buildTestStack,
  type CfnJson,
  resourcesOfType,
  type Statement,
  statementsOfRole,
  type TestStack,
  testApp,
} from '../stack-fixture.ts';

/** One Allow statement, with its actions and (flattened) resources as lists. */
interface Grant {
  sid: string | undefined;
  actions: string[];
  resources: string[];
  condition: Statement['Condition'];
}

let built: TestStack;
let machine: CfnJson;
const aslText = readDefinition('training');

/** Every statement of every policy attached to the role with this logical id. */
function grantsOf(template: TestStack['template'], roleId: string): Grant[] {
  return statementsOfRole(template, roleId).map((statement) => {
    expect(statement.Effect).toBe('Allow');
    return {
      sid: statement.Sid,
      actions: [statement.Action].flat(),
      resources: [statement.Resource].flat().map(flattenReference),
      condition: statement.Condition,
    };
  });
}

beforeAll(() => {
  built = buildTestStack();
  machine = resourcesOfType(built.template, 'AWS::StepFunctions::StateMachine')[
    built.idOf(built.families.training.workflow.stateMachine)
  ]?.Properties as CfnJson;
});

const bucket = () => `<${built.idOf(built.stack.data.outputsBucket)}.Arn>`;
const objects = (pattern: string) => `${bucket()}/${pattern}`;

describe('training state machine', () => {
  it('inlines its ASL and substitutes the training role, the trainer image and source, and both steps', () => {
    // Prepare
    const { training } = built.families;
    const getAtt = (construct: { node: { defaultChild?: unknown } }) => ({
      'Fn::GetAtt': [built.idOf(construct), 'Arn'],
    });

    // Assess
    expect(machine.DefinitionString).toBe(aslText);
    expect(machine.DefinitionS3Location).toBeUndefined();
    expect(machine.DefinitionSubstitutions).toEqual({
      PrepareTrainingFunctionArn: getAtt(training.workflow.prepareTraining),
      RecordTrainingFunctionArn: getAtt(training.workflow.recordTraining),
      TrainingRoleArn: getAtt(training.workflow.trainingRole),
      // AWS's PyTorch training image of the region (GPU: the default instance is ml.g5.xlarge).
      TrainerImageUri: {
        'Fn::Join': [
          '',
          ['763104351884.dkr.ecr.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/pytorch-training:2.6.0-gpu-py312'],
        ],
      },
      TrainerEntryPoint: 'sagemaker_entry.py',
      TrainerSourceUri: expect.stringMatching(
        /^s3:\/\/cdk-hnb659fds-assets-123456789012-eu-west-1\/[0-9a-f]{64}\.gz$/,
      ),
      TrainerSourcePath: expect.stringMatching(/^\/opt\/ml\/input\/data\/code\/[0-9a-f]{64}\.gz$/),
    });
    // The path in the container is the channel's one object, by the name of its key.
    const key = /\/([0-9a-f]{64}\.gz)$/.exec(machine.DefinitionSubstitutions.TrainerSourceUri)?.[1];
    expect(machine.DefinitionSubstitutions.TrainerSourcePath).toBe(`/opt/ml/input/data/code/${key}`);
    // The same placeholders the local platform substitutes.
    expect(Object.keys(machine.DefinitionSubstitutions).sort()).toEqual(
      [...TASK_FUNCTIONS.training, ...SERVICE_SUBSTITUTIONS.training].sort(),
    );
  });

  it('leaves no unsubstituted placeholder in the definition CloudFormation deploys', () => {
    // Prepare
    const values = Object.fromEntries(
      Object.keys(machine.DefinitionSubstitutions).map((name) => [name, `value-of-${name}`]),
    );

    // Act
    const deployed = substitute(machine.DefinitionString, values);

    // Assess
    expect(new Set(Object.keys(machine.DefinitionSubstitutions))).toEqual(placeholdersOf(aslText));
    expect(deployed).not.toContain('${');
    const train = JSON.parse(deployed).States.Train;
    expect(train.Resource).toBe('arn:aws:states:::sagemaker:createTrainingJob.sync');
    expect(train.Parameters).toMatchObject({
      RoleArn: 'value-of-TrainingRoleArn',
      AlgorithmSpecification: { TrainingImage: 'value-of-TrainerImageUri' },
      EnableNetworkIsolation: true,
    });
    // Script mode: the source arrives as the code channel, and two hyperparameters name it.
    expect(train.Parameters.InputDataConfig[1]).toEqual({
      ChannelName: 'code',
      DataSource: {
        S3DataSource: {
          S3DataType: 'S3Prefix',
          S3Uri: 'value-of-TrainerSourceUri',
          S3DataDistributionType: 'FullyReplicated',
        },
      },
    });
    expect(JSON.parse(deployed).States.PrepareTraining.ResultSelector.scriptMode).toEqual({
      sagemaker_program: 'value-of-TrainerEntryPoint',
      sagemaker_submit_directory: 'value-of-TrainerSourcePath',
    });
  });

  it('may invoke its two steps, run sf-* training jobs, keep the .sync rule and pass the training role to SageMaker, nothing else', () => {
    // Prepare
    const { training } = built.families;
    const fnArn = (fn: { node: { defaultChild?: unknown } }) => `<${built.idOf(fn)}.Arn>`;

    // Act
    const grants = grantsOf(built.template, built.idOf(training.workflow.machine.role)).filter(
      // Logging and X-Ray (CDK's, in the role's default policy): support no resource.
      (grant) => !grant.actions.every((action) => /^(logs|xray):/.test(action)),
    );

    // Assess
    expect(grants).toEqual([
      {
        sid: 'InvokeWorkflowTasks',
        actions: ['lambda:InvokeFunction'],
        resources: [
          fnArn(training.workflow.prepareTraining),
          `${fnArn(training.workflow.prepareTraining)}:*`,
          fnArn(training.workflow.recordTraining),
          `${fnArn(training.workflow.recordTraining)}:*`,
        ],
        condition: undefined,
      },
      {
        sid: 'RunTrainingJobs',
        actions: [
          'sagemaker:CreateTrainingJob',
          'sagemaker:DescribeTrainingJob',
          'sagemaker:StopTrainingJob',
          'sagemaker:AddTags',
          'sagemaker:ListTags',
        ],
        resources: ['arn:<AWS::Partition>:sagemaker:eu-west-1:123456789012:training-job/sf-*'],
        condition: undefined,
      },
      {
        sid: 'HearOfTrainingJobsEnding',
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          'arn:<AWS::Partition>:events:eu-west-1:123456789012:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule',
        ],
        condition: undefined,
      },
      {
        sid: 'PassTrainingRole',
        actions: ['iam:PassRole'],
        resources: [`<${built.idOf(training.workflow.trainingRole)}.Arn>`],
        condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      },
    ]);
  });

  it('names every training job it may act on the way the domain names them (sf-<task>-<attempt>)', () => {
    const prefix = TRAINING_JOB_NAMES.replace(/\*$/, '');
    expect(trainingJobName('01JABCDEF0123456789XYZ', 1).startsWith(prefix)).toBe(true);
    expect(trainingJobName('01JABCDEF0123456789XYZ', 3).startsWith(prefix)).toBe(true);
  });

  it('waits for the training role’s permissions before it can start a job', () => {
    const resources = built.template.toJSON().Resources as Record<string, { DependsOn?: string[] }>;
    const dependsOn = resources[built.idOf(built.families.training.workflow.stateMachine)]?.DependsOn ?? [];
    expect(dependsOn).toEqual(
      expect.arrayContaining([
        built.idOf(built.families.training.workflow.trainingRolePolicy),
        built.idOf(built.families.training.workflow.trainingJobsPolicy),
        built.idOf(built.families.training.workflow.machine.invokePolicy),
      ]),
    );
  });
});

describe('training role', () => {
  const inputs = () => [
    objects('*/jobs/*/result.zip'),
    objects('*/training/*/manifest.json'),
    objects('*/datasets/*'),
    objects('*/training/runs/*/checkpoints/*'),
  ];
  const outputs = () => [objects('*/training/*/output/*'), objects('*/training/runs/*/checkpoints/*')];
  const grants = () => grantsOf(built.template, built.idOf(built.families.training.workflow.trainingRole));
  const sourceBucketArn = () => 'arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-123456789012-eu-west-1';
  const sourceKey = () => built.families.training.workflow.trainerSource.asset.s3ObjectKey;

  it('is assumable only by SageMaker, on behalf of this account, and carries no managed policy', () => {
    const role = resourcesOfType(built.template, 'AWS::IAM::Role')[
      built.idOf(built.families.training.workflow.trainingRole)
    ]?.Properties as CfnJson;
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'sagemaker.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
      },
    ]);
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.Policies).toBeUndefined();
  });

  it('reads only its inputs: the manifests and the archives they list, dataset folders, checkpoints, and the trainer’s source', () => {
    const reads = grants().filter((grant) => grant.actions.includes('s3:GetObject'));
    expect(reads.map(({ actions, resources }) => ({ actions, resources }))).toEqual([
      { actions: ['s3:GetObject'], resources: inputs() },
      { actions: ['s3:GetObject'], resources: [`${sourceBucketArn()}/${sourceKey()}`] },
    ]);
  });

  it('lists the bucket only under its input prefixes, and the assets bucket only at the source’s key', () => {
    const lists = grants().filter((grant) => grant.actions.includes('s3:ListBucket'));
    expect(lists).toEqual([
      {
        sid: 'ListInputs',
        actions: ['s3:ListBucket'],
        resources: [bucket()],
        condition: {
          StringLike: {
            's3:prefix': ['*/datasets/*', '*/training/runs/*/checkpoints*', '*/training/*/manifest.json'],
          },
        },
      },
      {
        sid: 'ListTrainerSource',
        actions: ['s3:ListBucket'],
        resources: [sourceBucketArn()],
        condition: { StringEquals: { 's3:prefix': sourceKey() } },
      },
    ]);
  });

  it('writes only its outputs: the model and the checkpoints (deleting only checkpoints), never an input', () => {
    const writes = grants().filter((grant) =>
      grant.actions.some((action) => /^s3:(Put|Delete|Abort)/.test(action)),
    );
    expect(writes.map(({ actions, resources }) => ({ actions, resources }))).toEqual([
      { actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resources: outputs() },
      { actions: ['s3:DeleteObject'], resources: [objects('*/training/runs/*/checkpoints/*')] },
    ]);
    const written = writes.flatMap((grant) => grant.resources);
    for (const input of [
      objects('*/jobs/*/result.zip'),
      objects('*/training/*/manifest.json'),
      objects('*/datasets/*'),
    ]) {
      expect(written).not.toContain(input);
    }
    // Nothing of the bucket beyond those patterns (no `<bucket>/*`).
    for (const grant of grants().filter((g) => g.actions.some((action) => action.startsWith('s3:')))) {
      expect(grant.resources).not.toContain(objects('*'));
    }
  });

  it('pulls only the trainer image, logs only to the training jobs’ group and namespace, and uses only its volume key', () => {
    const { training } = built.families;
    const others = grants().filter((grant) => !grant.actions.some((action) => action.startsWith('s3:')));
    expect(others).toEqual([
      {
        sid: 'PullTrainerImage',
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        resources: ['arn:<AWS::Partition>:ecr:eu-west-1:763104351884:repository/pytorch-training'],
        condition: undefined,
      },
      {
        sid: 'AuthenticateToEcr',
        actions: ['ecr:GetAuthorizationToken'],
        resources: ['*'],
        condition: undefined,
      },
      {
        sid: 'WriteTrainingLogs',
        actions: [
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:DescribeLogStreams',
          'logs:PutLogEvents',
        ],
        resources: [
          'arn:<AWS::Partition>:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/TrainingJobs',
          'arn:<AWS::Partition>:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/TrainingJobs:*',
        ],
        condition: undefined,
      },
      {
        sid: 'PublishTrainingMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        condition: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/TrainingJobs' } },
      },
      {
        sid: 'UseVolumeKey',
        actions: ['kms:CreateGrant'],
        resources: [`<${built.idOf(training.workflow.volumeKey)}.Arn>`],
        condition: undefined,
      },
    ]);
  });

  it('encrypts training volumes with a key of its own that rotates', () => {
    const key = resourcesOfType(built.template, 'AWS::KMS::Key')[
      built.idOf(built.families.training.workflow.volumeKey)
    ];
    expect(key?.Properties.EnableKeyRotation).toBe(true);
    // Kept with the stage, but removed when the stack's first create rolls back (lib/config.ts).
    expect(key?.DeletionPolicy).toBe('RetainExceptOnCreate');
  });
});

describe('trainer image', () => {
  it('is AWS’s PyTorch training image by default: nothing to build, no Docker (the Dockerfile stays for your own)', () => {
    // Assess
    expect(existsSync(join(TRAINER_DIRECTORY, 'Dockerfile'))).toBe(true);
    expect(built.families.training.workflow.node.tryFindChild('TrainerImage')).toBeUndefined();
    expect(resourcesOfType(built.template, 'AWS::ECR::Repository')).toEqual({});
  });

  it('is looked up by region at deploy time in an environment-agnostic stack, from the same registry table', () => {
    // Prepare
    const { platform } = stageStacks(testApp(), parseStageConfig({ stage: 'agnostic' }));

    // Act
    const template = Template.fromStack(platform).toJSON();

    // Assess
    const [, mapping] = Object.entries(template.Mappings ?? {}).find(([id]) =>
      id.includes('PyTorchTrainingRegistry'),
    ) as [string, Record<string, { account: string }>];
    expect(mapping['us-east-1']).toEqual({ account: '763104351884' });
    expect(mapping).toEqual(
      Object.fromEntries(
        Object.entries(PYTORCH_TRAINING_REGISTRIES).map(([region, account]) => [region, { account }]),
      ),
    );
    const machine = Object.values(template.Resources as Record<string, CfnJson>).find(
      (resource) => resource.Properties?.DefinitionSubstitutions?.TrainerImageUri,
    );
    expect(JSON.stringify(machine?.Properties.DefinitionSubstitutions.TrainerImageUri)).toContain(
      'Fn::FindInMap',
    );
  });

  it('is the CPU image when no training instance of the stage has a GPU', () => {
    // Act
    const cpu = buildTestStack({
      training: { instanceType: 'ml.m5.xlarge', allowedInstanceTypes: ['ml.c5.2xlarge'] },
    });

    // Assess
    const machineOf = resourcesOfType(cpu.template, 'AWS::StepFunctions::StateMachine')[
      cpu.idOf(cpu.families.training.workflow.stateMachine)
    ]?.Properties as CfnJson;
    expect(JSON.stringify(machineOf.DefinitionSubstitutions.TrainerImageUri)).toContain(
      '/pytorch-training:2.6.0-cpu-py312',
    );
  });

  it('is the stage’s training.image when set, pulled from that repository only', () => {
    // Prepare
    const image = '210987654321.dkr.ecr.eu-central-1.amazonaws.com/team/trainer:2026-05-01';

    // Act
    const custom = buildTestStack({ training: { image } });

    // Assess
    const { training } = custom.families;
    const definition = resourcesOfType(custom.template, 'AWS::StepFunctions::StateMachine')[
      custom.idOf(training.workflow.stateMachine)
    ]?.Properties as CfnJson;
    expect(definition.DefinitionSubstitutions.TrainerImageUri).toBe(image);
    const pull = grantsOf(custom.template, custom.idOf(training.workflow.trainingRole)).find(
      (grant) => grant.sid === 'PullTrainerImage',
    );
    expect(pull?.resources).toEqual([
      'arn:<AWS::Partition>:ecr:eu-central-1:210987654321:repository/team/trainer',
    ]);
  });

  it('refuses a training.image that is not an ECR image URI, naming the field', () => {
    expect(() =>
      parseStageConfig({ stage: 'qa', training: { image: 'docker.io/library/trainer:1' } }),
    ).toThrow(/training\.image: an ECR image URI/);
  });
});

describe('step functions', () => {
  const actionsOf = (fn: { executionRole: { node: { defaultChild?: unknown } } }) =>
    grantsOf(built.template, built.idOf(fn.executionRole))
      .filter((grant) => grant.sid !== 'WriteOwnLogGroup' && !grant.actions[0]?.startsWith('xray:'))
      .map(({ sid, actions, resources }) => ({ sid, actions, resources }));
  const stateTable = () => [
    {
      sid: 'StateTable',
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem'],
      resources: [`<${built.idOf(built.stack.data.stateTable)}.Arn>`],
    },
    {
      sid: 'StateTableKey',
      actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
      resources: [`<${built.idOf(built.stack.data.tableKey)}.Arn>`],
    },
    {
      sid: 'PublishJobEvents',
      actions: ['events:PutEvents'],
      resources: [`<${built.idOf(built.stack.events.bus)}.Arn>`],
    },
  ];

  it('PrepareTraining reads and updates the task and publishes its change, nothing else', () => {
    expect(actionsOf(built.families.training.workflow.prepareTraining)).toEqual(stateTable());
  });

  it('RecordTraining also reads the trainer’s progress and heads the model, nothing else of the bucket', () => {
    expect(actionsOf(built.families.training.workflow.recordTraining)).toEqual([
      ...stateTable(),
      {
        sid: 'ReadTrainingResults',
        actions: ['s3:GetObject'],
        resources: [objects('*/training/runs/*/checkpoints/progress.json'), objects('*/training/*/output/*')],
      },
    ]);
  });
});
