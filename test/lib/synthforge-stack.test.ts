import { beforeAll, describe, expect, it } from 'vitest';
import { STATE_TABLE } from '../../lambdas/adapters/dynamo/tables.ts';
import { AvatarsFamily } from '../../lib/families/avatars.ts';
import { DatasetsFamily } from '../../lib/families/datasets.ts';
import { InferenceFamily } from '../../lib/families/inference.ts';
import { flattenReference } from '../../lib/nag.ts';
import {
  buildTestStack,
  policyStatements,
  resourcesOfType,
  type Statement,
  type TestStack,
} from './stack-fixture.ts';

/**
 * Actions AWS only allows on Resource "*" (X-Ray, the log delivery Step Functions logging uses, the
 * ECR registry token a SageMaker image pull starts with, a training job's metrics, sending a
 * waiting step its task token back, which the token alone authorizes, and the three read-only
 * detector calls of seed 001's privacy checks, which the Service Authorization Reference lists
 * with no resource type: Rekognition DetectFaces and DetectText, Comprehend DetectPiiEntities).
 */
const STAR_ONLY_ACTIONS = new Set([
  'cloudwatch:PutMetricData',
  'ecr:GetAuthorizationToken',
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
  'states:SendTaskSuccess',
  'rekognition:DetectFaces',
  'rekognition:DetectText',
  'comprehend:DetectPiiEntities',
]);

/** The detector calls of STAR_ONLY_ACTIONS: only the functions that check privacy may make them. */
const DETECTOR_ACTIONS = [
  'rekognition:DetectFaces',
  'rekognition:DetectText',
  'comprehend:DetectPiiEntities',
];

/** The inference family's construct (the fixture names the families that existed before it). */
const inferenceOf = (stack: TestStack) => stack.stack.families.require(InferenceFamily, 'the tests');
const avatarsOf = (stack: TestStack) => stack.stack.families.require(AvatarsFamily, 'the tests');
const datasetsOf = (stack: TestStack) => stack.stack.families.require(DatasetsFamily, 'the tests');

let built: TestStack;
/** Every Allow statement of every identity policy, with the logical ids of the roles it applies to. */
let statements: { roles: string[]; statement: Statement; actions: string[]; resources: string[] }[];

beforeAll(() => {
  built = buildTestStack();
  statements = [];
  const add = (roles: string[], statement: Statement) => {
    if (statement.Effect !== 'Allow') return;
    statements.push({
      roles,
      statement,
      actions: [statement.Action].flat(),
      resources: [statement.Resource].flat().map(flattenReference),
    });
  };
  for (const { roles, statement } of policyStatements(built.template)) add(roles, statement);
  for (const [id, role] of Object.entries(resourcesOfType(built.template, 'AWS::IAM::Role'))) {
    for (const inline of (role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]) ??
      []) {
      for (const statement of inline.PolicyDocument.Statement) add([id], statement);
    }
  }
  expect(resourcesOfType(built.template, 'AWS::IAM::ManagedPolicy')).toEqual({});
});

const roleOf = (fn: { executionRole: { node: { defaultChild?: unknown } } }) => built.idOf(fn.executionRole);
/**
 * The SageMaker execution roles: the model endpoints' (test/lib/constructs/model-endpoints.test.ts
 * checks them) and the training jobs' (test/lib/constructs/training-workflow.test.ts).
 */
const endpointRoles = () =>
  new Set([
    ...built.families.images.endpoints.endpoints.map((endpoint) => built.idOf(endpoint.executionRole)),
    built.idOf(built.families.training.workflow.trainingRole),
  ]);
const ofFunctions = <T extends { roles: string[] }>(list: T[]) =>
  list.filter((s) => !s.roles.some((role) => endpointRoles().has(role)));
const withAction = (prefix: string) => statements.filter((s) => s.actions.some((a) => a.startsWith(prefix)));

describe('IAM', () => {
  it('has no wildcard action', () => {
    for (const { actions } of statements) for (const action of actions) expect(action).not.toContain('*');
  });

  it('uses Resource "*" only for the actions AWS allows on nothing else', () => {
    for (const { actions, resources, statement } of statements.filter((s) => s.resources.includes('*'))) {
      expect(resources).toEqual(['*']);
      for (const action of actions) expect(STAR_ONLY_ACTIONS, action).toContain(action);
      // Metrics go only to the training jobs' namespace.
      if (actions.includes('cloudwatch:PutMetricData')) {
        expect(statement.Condition).toEqual({
          StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/TrainingJobs' },
        });
      }
    }
    // The detectors: the validation API and the datasets step only (the stage's detectors are AWS's).
    const { validation } = datasetsOf(built).routeHandlers;
    const detecting = statements.filter((s) => s.actions.some((action) => DETECTOR_ACTIONS.includes(action)));
    expect(detecting.map((s) => s.roles).sort()).toEqual(
      [[roleOf(validation)], [roleOf(datasetsOf(built).runDatasetJob)]].sort(),
    );
    for (const { actions } of detecting) expect(actions.sort()).toEqual([...DETECTOR_ACTIONS].sort());
  });

  it('attaches no AWS managed policy except to API Gateway’s CloudWatch role', () => {
    const withManaged = Object.entries(resourcesOfType(built.template, 'AWS::IAM::Role')).filter(
      ([, role]) => role.Properties.ManagedPolicyArns !== undefined,
    );
    expect(withManaged.map(([id]) => id)).toEqual([
      built.idOf(built.stack.api.restApi.node.findChild('CloudWatchRole') as never),
    ]);
  });

  it('passes one role, the training role, only to SageMaker and only from the training state machine', () => {
    const { training } = built.families;
    const passes = withAction('iam:');
    expect(
      passes.map(({ roles, actions, resources, statement }) => ({
        roles,
        actions,
        resources,
        condition: statement.Condition,
      })),
    ).toEqual([
      {
        roles: [built.idOf(training.workflow.machine.role)],
        actions: ['iam:PassRole'],
        resources: [`<${built.idOf(training.workflow.trainingRole)}.Arn>`],
        condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      },
    ]);
    for (const { resources } of passes) expect(resources).not.toContain('*');
  });

  it('acts on SageMaker training jobs only from the training state machine, only on jobs named sf-*', () => {
    const { training } = built.families;
    const onJobs = statements.filter((s) =>
      s.actions.some((action) => /^sagemaker:(\w+TrainingJob|AddTags|ListTags)$/.test(action)),
    );
    expect(onJobs.map((s) => s.roles)).toEqual([[built.idOf(training.workflow.machine.role)]]);
    expect(onJobs[0]?.resources).toEqual([
      'arn:<AWS::Partition>:sagemaker:eu-west-1:123456789012:training-job/sf-*',
    ]);
    for (const { actions } of withAction('sagemaker:')) {
      for (const action of actions) expect(action).not.toMatch(/\*/);
    }
  });

  it('publishes events only to the SynthForge bus; only the training machine keeps the managed .sync rule', () => {
    const bus = `<${built.idOf(built.stack.events.bus)}.Arn>`;
    const publishers = withAction('events:PutEvents');
    expect(publishers.length).toBeGreaterThan(0);
    for (const { actions, resources } of publishers) {
      expect(actions).toEqual(['events:PutEvents']);
      expect(resources).toEqual([bus]);
    }
    const rules = withAction('events:').filter((s) => !publishers.includes(s));
    expect(rules.map(({ roles, actions, resources }) => ({ roles, actions, resources }))).toEqual([
      {
        roles: [built.idOf(built.families.training.workflow.machine.role)],
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          'arn:<AWS::Partition>:events:eu-west-1:123456789012:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule',
        ],
      },
    ]);
  });

  it('stops executions only to cancel: any workflow’s from the jobs API, training runs’ from the training API', () => {
    const executions = (machine: string) =>
      `arn:<AWS::Partition>:states:eu-west-1:123456789012:execution:<${machine}.Name>:*`;
    const { routeHandlers } = built.stack;
    const { generation, images, training } = built.families;
    const stops = statements.filter((s) => s.actions.includes('states:StopExecution'));
    expect(Object.fromEntries(stops.map((s) => [s.roles.join(), s.resources]))).toEqual({
      [roleOf(routeHandlers.jobs)]: [
        executions(built.idOf(generation.workflow.batchStateMachine)),
        executions(built.idOf(images.workflow.stateMachine)),
        executions(built.idOf(training.workflow.stateMachine)),
        executions(built.idOf(inferenceOf(built).stateMachines.inference.stateMachine)),
        executions(built.idOf(avatarsOf(built).stateMachines.avatars.stateMachine)),
        executions(built.idOf(datasetsOf(built).stateMachines.datasets.stateMachine)),
      ],
      [roleOf(routeHandlers.training)]: [executions(built.idOf(training.workflow.stateMachine))],
      // Cancelling an avatar job cancels the jobs that depend on it.
      [roleOf(routeHandlers.avatars)]: [
        executions(built.idOf(avatarsOf(built).stateMachines.avatars.stateMachine)),
      ],
    });
  });

  it('lets only the endpoint notifications resume the image workflow’s steps, and the avatars steps wake waiting avatar jobs', () => {
    const resumes = withAction('states:SendTask');
    const { decide, awaitParents, release } = avatarsOf(built).tasks;
    const { wakeOnEnd } = avatarsOf(built);
    expect(resumes.map((s) => [s.roles, s.actions, s.resources])).toEqual([
      [
        [roleOf(built.families.images.workflow.notifications)],
        ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
        [`<${built.idOf(built.families.images.workflow.stateMachine)}>`],
      ],
      ...[decide, awaitParents, release, wakeOnEnd].map((fn) => [
        [roleOf(fn)],
        ['states:SendTaskSuccess'],
        ['*'],
      ]),
    ]);
    expect(
      withAction('states:')
        .flatMap((s) => s.actions)
        .sort(),
    ).toEqual([
      'states:SendTaskFailure',
      'states:SendTaskHeartbeat',
      'states:SendTaskSuccess',
      'states:SendTaskSuccess',
      'states:SendTaskSuccess',
      'states:SendTaskSuccess',
      'states:SendTaskSuccess',
      'states:StartExecution',
      'states:StartExecution',
      'states:StartExecution',
      'states:StartExecution',
      'states:StartExecution',
      'states:StartExecution',
      'states:StartExecution',
      // The datasets machine, from the validation, profiles and exports APIs.
      'states:StartExecution',
      'states:StartExecution',
      'states:StartExecution',
      'states:StopExecution',
      'states:StopExecution',
      'states:StopExecution',
    ]);
  });

  it('starts executions of each workflow only from its own API: batches (and image batches) from batches, images from images and the WebSocket generate, training from training, async inference from inference, avatar jobs from avatars, dataset jobs from validation, profiles and exports', () => {
    const { routeHandlers, webSocket } = built.stack;
    const { generation, images, training } = built.families;
    const batchMachine = `<${built.idOf(generation.workflow.batchStateMachine)}>`;
    const imageMachine = `<${built.idOf(images.workflow.stateMachine)}>`;
    const trainingMachine = `<${built.idOf(training.workflow.stateMachine)}>`;
    const inferenceMachine = `<${built.idOf(inferenceOf(built).stateMachines.inference.stateMachine)}>`;
    const avatarsMachine = `<${built.idOf(avatarsOf(built).stateMachines.avatars.stateMachine)}>`;
    const datasets = datasetsOf(built);
    const datasetsMachine = `<${built.idOf(datasets.stateMachines.datasets.stateMachine)}>`;
    const starts = withAction('states:StartExecution').map((s) => [s.roles, s.resources]);
    expect(starts).toEqual(
      expect.arrayContaining([
        // Procedural generators on the batch workflow, models on the image workflow.
        [[roleOf(routeHandlers.batches)], [batchMachine]],
        [[roleOf(routeHandlers.batches)], [imageMachine]],
        [[roleOf(routeHandlers.images)], [imageMachine]],
        [[roleOf(webSocket.messages)], [imageMachine]],
        [[roleOf(routeHandlers.training)], [trainingMachine]],
        [[roleOf(routeHandlers.inference)], [inferenceMachine]],
        [[roleOf(routeHandlers.avatars)], [avatarsMachine]],
        [[roleOf(datasets.routeHandlers.validation)], [datasetsMachine]],
        [[roleOf(datasets.routeHandlers.profiles)], [datasetsMachine]],
        [[roleOf(datasets.routeHandlers.exports)], [datasetsMachine]],
      ]),
    );
    expect(starts).toHaveLength(10);
  });

  it('touches only the two tables (and the state table indexes), with their key via DynamoDB only', () => {
    const { stateTable, keysTable, tableKey } = built.stack.data;
    const allowed = [
      `<${built.idOf(stateTable)}.Arn>`,
      ...STATE_TABLE.globalSecondaryIndexes.map(
        ({ indexName }) => `<${built.idOf(stateTable)}.Arn>/index/${indexName}`,
      ),
      `<${built.idOf(keysTable)}.Arn>`,
    ];
    for (const { resources } of withAction('dynamodb:'))
      for (const r of resources) expect(allowed).toContain(r);
    // The model endpoints' own key: their SageMaker roles use it (model-endpoints.test.ts checks how);
    // a function may only decrypt staged endpoint outputs with it, through S3.
    const endpointKey = `<${built.idOf(built.families.images.endpoints.key)}.Arn>`;
    for (const { roles, actions, statement } of withAction('kms:').filter((s) =>
      s.resources.includes(endpointKey),
    )) {
      if (roles.every((role) => endpointRoles().has(role))) continue;
      expect(actions).toEqual(['kms:Decrypt']);
      expect(statement.Condition).toEqual({
        StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' },
      });
    }
    // The training volume key: only SageMaker's training role, only to create the volume's grant
    // (test/lib/constructs/training-workflow.test.ts).
    const volumeKey = `<${built.idOf(built.families.training.workflow.volumeKey)}.Arn>`;
    const onVolumeKey = withAction('kms:').filter((s) => s.resources.includes(volumeKey));
    expect(onVolumeKey.map(({ roles, actions }) => ({ roles, actions }))).toEqual([
      { roles: [built.idOf(built.families.training.workflow.trainingRole)], actions: ['kms:CreateGrant'] },
    ]);
    for (const { resources, statement } of withAction('kms:').filter(
      (s) => !s.resources.includes(endpointKey) && !s.resources.includes(volumeKey),
    )) {
      expect(resources).toEqual([`<${built.idOf(tableKey)}.Arn>`]);
      expect(statement.Condition).toEqual({
        StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' },
      });
    }
  });

  it('lets only the two key authorizers (REST, WebSocket) read the keys table, and only with GetItem', () => {
    const keysTable = `<${built.idOf(built.stack.data.keysTable)}.Arn>`;
    const readers = withAction('dynamodb:').filter((s) => s.resources.includes(keysTable));
    expect(readers.map((s) => s.roles)).toEqual([
      [roleOf(built.families.platform.authorizer)],
      [roleOf(built.stack.webSocket.authorizer)],
    ]);
    for (const reader of readers) expect(reader.actions).toEqual(['dynamodb:GetItem']);
  });

  it('reaches result objects of the outputs bucket only, each function with the actions it needs', () => {
    const bucket = `<${built.idOf(built.stack.data.outputsBucket)}.Arn>`;
    const objects = `${bucket}/*`;
    const staging = `${bucket}/_endpoints/*`;
    const manifests = `${bucket}/*/training/*/manifest.json`;
    const progress = `${bucket}/*/training/runs/*/checkpoints/progress.json`;
    const models = `${bucket}/*/training/*/output/*`;
    const uploads = `${bucket}/*/uploads/*`;
    const inferenceJobs = `${bucket}/*/inference/*`;
    const inferenceRequests = `${bucket}/*/inference/*/request.json`;
    const inferenceAnswers = `${bucket}/*/inference/*/result.json`;
    const avatarFiles = `${bucket}/*/avatars/files/*`;
    const avatarSets = `${bucket}/*/avatars/sets/*`;
    const avatarResults = `${bucket}/*/avatars/results/*`;
    const avatarProcessing = `${bucket}/*/avatars/processing/*`;
    const datasetObjects = `${bucket}/*/dataset-jobs/*`;
    const datasetAnswers = `${bucket}/*/dataset-jobs/*/result.json`;
    const profiles = `${bucket}/*/profiles/*`;
    const exports = `${bucket}/*/exports/*`;
    const s3 = ofFunctions(withAction('s3:'));
    const byRole: Record<string, Record<string, string[]>> = {};
    for (const { roles, resources, actions } of s3) {
      for (const resource of resources) {
        expect([
          objects,
          staging,
          manifests,
          progress,
          models,
          uploads,
          inferenceJobs,
          inferenceRequests,
          inferenceAnswers,
          avatarFiles,
          avatarSets,
          avatarResults,
          avatarProcessing,
          datasetObjects,
          datasetAnswers,
          profiles,
          exports,
          // ListBucket (the avatars and datasets functions: a missing key is then a 404, not a 403;
          // the datasets functions also list a dataset's prefix).
          bucket,
        ]).toContain(resource);
        const role = roles[0] ?? '';
        const entry = byRole[role] ?? {};
        entry[resource] = [...(entry[resource] ?? []), ...actions].sort();
        byRole[role] = entry;
      }
    }
    const { routeHandlers, webSocket } = built.stack;
    const { generation, images, training } = built.families;
    expect(byRole).toEqual({
      // A run's progress and its model; the API also writes the manifest of a run on a batch.
      [roleOf(training.workflow.recordTraining)]: {
        [progress]: ['s3:GetObject'],
        [models]: ['s3:GetObject'],
      },
      [roleOf(routeHandlers.training)]: {
        [manifests]: ['s3:PutObject'],
        [progress]: ['s3:GetObject'],
        [models]: ['s3:GetObject'],
      },
      [roleOf(generation.workflow.tasks.runJob)]: { [objects]: ['s3:PutObject'] },
      // Writes each request before its job exists; reads results and images to presign them.
      [roleOf(routeHandlers.batches)]: { [objects]: ['s3:GetObject', 's3:PutObject'] },
      // Writes each request before its job exists; reads images to presign them.
      [roleOf(routeHandlers.images)]: { [objects]: ['s3:GetObject', 's3:PutObject'] },
      // Copies the staged response to the job's key, then deletes it.
      [roleOf(images.workflow.notifications)]: {
        [objects]: ['s3:PutObject'],
        [staging]: ['s3:DeleteObject', 's3:GetObject'],
      },
      // As the images API (generate); and a link to the image of a job that finished first.
      [roleOf(webSocket.messages)]: { [objects]: ['s3:GetObject', 's3:PutObject'] },
      // Presigns each result it pushes.
      [roleOf(webSocket.push)]: { [objects]: ['s3:GetObject'] },
      // Presigns the uploads of frames too large to send inline, and reads them back; the API
      // also stores an async request, which RunInference reads before it writes the answer.
      [roleOf(routeHandlers.inference)]: {
        [uploads]: ['s3:GetObject', 's3:PutObject'],
        [inferenceRequests]: ['s3:PutObject'],
      },
      // Reads the frames its request names; it presigns nothing.
      [roleOf(routeHandlers.inferenceStream)]: { [uploads]: ['s3:GetObject'] },
      [roleOf(inferenceOf(built).runInference)]: {
        [uploads]: ['s3:GetObject'],
        [inferenceJobs]: ['s3:GetObject', 's3:PutObject'],
      },
      // Presigns a completed inference job's answer, a dataset job's answer or the profile a profile
      // job wrote (`GET /jobs/{id}`).
      [roleOf(routeHandlers.jobs)]: {
        [inferenceAnswers]: ['s3:GetObject'],
        [datasetAnswers]: ['s3:GetObject'],
        [profiles]: ['s3:GetObject'],
      },
      // Puts sets, presigns uploads (and reads their size), presigns results.
      [roleOf(routeHandlers.avatars)]: {
        [avatarFiles]: ['s3:GetObject', 's3:PutObject'],
        [avatarSets]: ['s3:GetObject', 's3:PutObject'],
        [avatarResults]: ['s3:GetObject'],
        [bucket]: ['s3:ListBucket'],
      },
      // The engine reads a job's set, tables and parents' results, and writes its own results.
      ...Object.fromEntries(
        [avatarsOf(built).tasks.run, avatarsOf(built).tasks.runLarge].map((fn) => [
          roleOf(fn),
          {
            [avatarFiles]: ['s3:GetObject'],
            [avatarSets]: ['s3:GetObject'],
            [avatarResults]: ['s3:GetObject', 's3:PutObject'],
            [bucket]: ['s3:ListBucket'],
          },
        ]),
      ),
      // Around a processing job: its inputs sized, its spec and manifest written; then its results
      // retyped (a copy onto itself), its outcome, spec and manifest removed.
      [roleOf(avatarsOf(built).tasks.prepareProcessing)]: {
        [avatarFiles]: ['s3:GetObject'],
        [avatarSets]: ['s3:GetObject'],
        [avatarResults]: ['s3:GetObject'],
        [avatarProcessing]: ['s3:PutObject'],
        [bucket]: ['s3:ListBucket'],
      },
      [roleOf(avatarsOf(built).tasks.recordProcessing)]: {
        [avatarResults]: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
        [avatarProcessing]: ['s3:DeleteObject'],
        [bucket]: ['s3:ListBucket'],
      },
      // The datasets functions read and list the tenant's images (any of its keys: generated images,
      // results, uploads; the domain refuses another tenant's). The validation and profiles APIs
      // write nothing; the exports API writes a JSONL export; RunDatasetJob writes a job's progress
      // and answer, the privacy gates, profiles and exports.
      ...Object.fromEntries(
        [datasetsOf(built).routeHandlers.validation, datasetsOf(built).routeHandlers.profiles].map((fn) => [
          roleOf(fn),
          { [objects]: ['s3:GetObject'], [bucket]: ['s3:ListBucket'] },
        ]),
      ),
      [roleOf(datasetsOf(built).routeHandlers.exports)]: {
        [objects]: ['s3:GetObject'],
        [exports]: ['s3:PutObject'],
        [bucket]: ['s3:ListBucket'],
      },
      [roleOf(datasetsOf(built).runDatasetJob)]: {
        [objects]: ['s3:GetObject'],
        [datasetObjects]: ['s3:PutObject'],
        [profiles]: ['s3:PutObject'],
        [exports]: ['s3:PutObject'],
        [bucket]: ['s3:ListBucket'],
      },
    });
  });

  it('gives the cursor secret only to the list routes’ functions', () => {
    const secret = `<${built.idOf(built.families.platform.cursorSecret)}>`;
    const readers = withAction('secretsmanager:');
    for (const { actions, resources } of readers) {
      expect(actions).toEqual(['secretsmanager:GetSecretValue']);
      expect(resources).toEqual([secret]);
    }
    expect(readers.map((s) => s.roles[0]).sort()).toEqual(
      [
        roleOf(built.stack.routeHandlers.batches),
        roleOf(built.stack.routeHandlers.jobs),
        roleOf(built.stack.routeHandlers.training),
        roleOf(built.stack.routeHandlers.avatars),
      ].sort(),
    );
  });

  it('leaves the public and generators functions with nothing beyond logs and X-Ray', () => {
    for (const fn of [built.stack.routeHandlers.public, built.stack.routeHandlers.generators]) {
      const actions = statements.filter((s) => s.roles.includes(roleOf(fn))).flatMap((s) => s.actions);
      expect(actions.sort()).toEqual(
        [
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'xray:PutTelemetryRecords',
          'xray:PutTraceSegments',
        ].sort(),
      );
    }
  });
});

describe('stack', () => {
  it('exports what the keys tool, the SDK and operators need', () => {
    const outputs = Object.keys(built.template.toJSON().Outputs);
    expect(outputs.filter((name) => !name.startsWith('PublishOutput')).sort()).toEqual(
      [
        'ApiUrl',
        'AvatarsStateMachineArn',
        'BatchStateMachineArn',
        'DatasetsStateMachineArn',
        'EventBusName',
        'ImageStateMachineArn',
        'InferenceStateMachineArn',
        'KeysTableName',
        'ModelErrorTopicArn',
        'ModelSuccessTopicArn',
        'OutputsBucketName',
        'StateTableName',
        'TrainingStateMachineArn',
        'UsagePlanId',
        'WebSocketUrl',
      ].sort(),
    );
    // The endpoint's name is an output of the stack that creates it; the platform publishes (without
    // exporting) only what the Models stack reads with Fn::GetStackOutput.
    expect(Object.keys(built.modelsTemplate.toJSON().Outputs)).toEqual(['ModelEndpointStableDiffusionV15']);
    expect(JSON.stringify(built.template.toJSON().Outputs)).not.toContain('Export');
  });

  it('synthesizes the same template twice', () => {
    expect(buildTestStack().template.toJSON()).toEqual(built.template.toJSON());
  });
});
