import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseCompute, defaultComputeSettings } from '../../../lambdas/domain/avatars/execution.ts';
import {
  PROCESSING_JOB_NAME_PREFIX,
  processingJobNameOf,
} from '../../../lambdas/domain/avatars/processing.ts';
import { JOB_SUBMISSION_ACTIONS } from '../../../lib/constructs/data.ts';
import type { SynthForgeFunction } from '../../../lib/constructs/synthforge-function.ts';
import {
  type AvatarProcessing,
  AvatarsFamily,
  NO_PROCESSING_IMAGE,
  PREPARE_PROCESSING_TIMEOUT,
  RECORD_PROCESSING_TIMEOUT,
  RUN_AVATAR_JOB_TIMEOUT,
} from '../../../lib/families/avatars.ts';
import { FAMILY_CONSTRUCTS } from '../../../lib/families/index.ts';
import { InferenceFamily } from '../../../lib/families/inference.ts';
import { flattenReference } from '../../../lib/nag.ts';
import { acknowledgeNagFindings } from '../../../lib/nag-acknowledgements.ts';
import { placeholdersOf, readDefinition, substitute } from '../../../statemachines/definitions.ts';
import {
  buildTestStack,
  type CfnJson,
  policyStatements,
  referencedId,
  resourcesOfType,
  type Statement,
  statementsOfRole,
  type TestStack,
} from '../stack-fixture.ts';

let built: TestStack;
let family: AvatarsFamily;

beforeAll(() => {
  built = buildTestStack();
  family = built.stack.families.require(AvatarsFamily, 'this test');
});

const functionOf = (fn: SynthForgeFunction) =>
  resourcesOfType(built.template, 'AWS::Lambda::Function')[built.idOf(fn)]?.Properties as CfnJson;
const statementsOf = (fn: SynthForgeFunction): Statement[] =>
  statementsOfRole(built.template, built.idOf(fn.executionRole));
const actionsOf = (statement: Statement) => [statement.Action].flat();
/** What `fn` may do on each resource, as `action on resource` (resources flattened as cdk-nag names them). */
const grantsOf = (fn: SynthForgeFunction, service: string) =>
  statementsOf(fn)
    .filter((statement) => actionsOf(statement).some((action) => action.startsWith(`${service}:`)))
    .flatMap((statement) =>
      actionsOf(statement).flatMap((action) =>
        [statement.Resource].flat().map((resource) => `${action} on ${flattenReference(resource)}`),
      ),
    )
    .sort();
const familyFunctions = () => [family.routeHandlers.avatars, ...Object.values(family.tasks)];

describe('the avatars family in the stack', () => {
  it('is registered after inference, under its name, and serves the avatars routes', () => {
    // Act
    const names = FAMILY_CONSTRUCTS.map((registration) => registration.manifest.name);

    // Assess
    expect(names.indexOf('avatars')).toBe(names.indexOf('inference') + 1);
    expect(family.node.id).toBe('Avatars');
    expect(built.stack.families.require(InferenceFamily, 'this test')).toBeDefined();
    expect(built.stack.routeHandlers.avatars).toBe(family.routeHandlers.avatars);
    expect(family.routeHandlers.avatars.entryModule).toBe('lambdas/handlers/api/avatars.ts');
  });
});

describe('the avatars machine', () => {
  it('invokes from each Task state the function of its step, and generation’s FailJob', () => {
    // Prepare: each Task state's placeholder, from the ASL file the machine is built from.
    const states = JSON.parse(readDefinition('avatars')).States as Record<string, CfnJson>;
    const placeholderOf = Object.fromEntries(
      Object.entries(states)
        // Lambda invokes, the waiting one (…:lambda:invoke.waitForTaskToken) included; not Process.
        .filter(([, state]) => String(state.Resource).startsWith('arn:aws:states:::lambda:invoke'))
        .map(([name, state]) => [name, /^\$\{(\w+)\}$/.exec(state.Parameters.FunctionName)?.[1]]),
    );
    const machine = resourcesOfType(built.template, 'AWS::StepFunctions::StateMachine')[
      built.idOf(family.stateMachines.avatars.stateMachine)
    ]?.Properties as CfnJson;

    // Act: the function each Task state invokes once deployed.
    const invoked = Object.fromEntries(
      Object.entries(placeholderOf).map(([state, placeholder]) => [
        state,
        referencedId(machine.DefinitionSubstitutions[placeholder as string]),
      ]),
    );

    // Assess
    const { decide, awaitParents, run, runLarge, prepareProcessing, recordProcessing, release } =
      family.tasks;
    expect(invoked).toEqual({
      Decide: built.idOf(decide),
      AwaitParents: built.idOf(awaitParents),
      Run: built.idOf(run),
      RunLarge: built.idOf(runLarge),
      PrepareProcessing: built.idOf(prepareProcessing),
      RecordProcessing: built.idOf(recordProcessing),
      FailJob: built.idOf(built.families.generation.workflow.tasks.failJob),
      Release: built.idOf(release),
    });
    expect(
      Object.fromEntries(Object.entries(family.tasks).map(([step, fn]) => [step, fn.entryModule])),
    ).toEqual({
      decide: 'lambdas/handlers/workflow/decide-avatar-job.ts',
      awaitParents: 'lambdas/handlers/workflow/await-avatar-parents.ts',
      run: 'lambdas/handlers/workflow/run-avatar-job.ts',
      runLarge: 'lambdas/handlers/workflow/run-avatar-job.ts',
      prepareProcessing: 'lambdas/handlers/workflow/prepare-avatar-processing.ts',
      recordProcessing: 'lambdas/handlers/workflow/record-avatar-processing.ts',
      release: 'lambdas/handlers/workflow/release-avatar-dependants.ts',
    });
  });

  it('runs the engine in 4,096 and 10,240 MB for up to 15 minutes, the sizes the API chooses a runner by', () => {
    // Prepare: a job just too large for the standard function.
    const settings = defaultComputeSettings('lambda');
    const chosen = chooseCompute(settings, settings.maxInputBytes.standard + 1);

    // Act
    const { run, runLarge } = family.tasks;

    // Assess: the RunLarge state (runner lambda-large) invokes the function of the memory chosen.
    expect(functionOf(run).MemorySize).toBe(4096);
    expect(functionOf(runLarge).MemorySize).toBe(10240);
    expect(chosen?.runner).toBe('lambda-large');
    expect(chosen?.compute).toMatchObject({ memoryMb: functionOf(runLarge).MemorySize });
    expect(chooseCompute(settings, 1)?.compute).toMatchObject({ memoryMb: functionOf(run).MemorySize });
    for (const fn of [run, runLarge]) expect(functionOf(fn).Timeout).toBe(RUN_AVATAR_JOB_TIMEOUT.toSeconds());
    expect(RUN_AVATAR_JOB_TIMEOUT.toSeconds()).toBe(900);
  });

  it("keeps every step's Lambda timeout within its Task state's TimeoutSeconds", () => {
    // Prepare
    const states = JSON.parse(readDefinition('avatars')).States as Record<string, CfnJson>;
    const { decide, run, runLarge, prepareProcessing, recordProcessing, release } = family.tasks;

    // Assess (AwaitParents' TimeoutSeconds is the whole wait for the token, not its invocation).
    for (const [state, fn] of [
      ['Decide', decide],
      ['Run', run],
      ['RunLarge', runLarge],
      ['PrepareProcessing', prepareProcessing],
      ['RecordProcessing', recordProcessing],
      ['Release', release],
    ] as const) {
      expect(functionOf(fn).Timeout, state).toBeLessThanOrEqual(states[state].TimeoutSeconds);
    }
    expect(functionOf(prepareProcessing).Timeout).toBe(PREPARE_PROCESSING_TIMEOUT.toSeconds());
    expect(functionOf(recordProcessing).Timeout).toBe(RECORD_PROCESSING_TIMEOUT.toSeconds());
  });

  it('runs no processing job in a stage without avatars.processingImage: inert substitutions, no SageMaker grant anywhere', () => {
    // Prepare
    const machine = resourcesOfType(built.template, 'AWS::StepFunctions::StateMachine')[
      built.idOf(family.stateMachines.avatars.stateMachine)
    ]?.Properties as CfnJson;

    // Act
    const sagemaker = policyStatements(built.template).filter(({ statement }) =>
      actionsOf(statement).some((action) => /^sagemaker:\w*ProcessingJob$/.test(action)),
    );

    // Assess: the Process state is there, never reached (the API refuses what Lambda cannot hold),
    // and says why; the machine has no policy beyond invoking its steps.
    expect(family.processing).toBeUndefined();
    expect(machine.DefinitionSubstitutions.AvatarizerImageUri).toBe(NO_PROCESSING_IMAGE.imageUri);
    expect(flattenReference(machine.DefinitionSubstitutions.AvatarProcessingRoleArn)).toBe(
      `arn:<AWS::Partition>:iam::123456789012:role/${NO_PROCESSING_IMAGE.roleName}`,
    );
    expect(sagemaker).toEqual([]);
    expect(family.stateMachines.avatars.servicePolicy).toBeUndefined();
    expect(
      statementsOfRole(built.template, built.idOf(family.stateMachines.avatars.role)).flatMap(actionsOf),
    ).not.toContain('iam:PassRole');
  });
});

describe('the avatars API function', () => {
  it('knows the table, bucket, bus, machine, link lifetime, idempotency window and cursor secret', () => {
    // Act
    const env = functionOf(family.routeHandlers.avatars).Environment.Variables;

    // Assess
    const { data, events } = built.stack;
    expect(env).toMatchObject({
      STATE_TABLE: { Ref: built.idOf(data.stateTable) },
      OUTPUTS_BUCKET: { Ref: built.idOf(data.outputsBucket) },
      EVENT_BUS_NAME: { Ref: built.idOf(events.bus) },
      AVATARS_STATE_MACHINE_ARN: { Ref: built.idOf(family.stateMachines.avatars.stateMachine) },
      RESULT_URL_TTL_SECONDS: '900',
      IDEMPOTENCY_TTL_SECONDS: String(built.config.idempotencyTtlSeconds),
      CURSOR_SECRET_ARN: { Ref: built.idOf(built.families.platform.cursorSecret) },
    });
    // No avatarizer image in this stage: jobs too large for Lambda are refused with the limit.
    expect(env.AVATAR_PROCESSING_INSTANCE_TYPE).toBeUndefined();
    expect(env.AVATAR_PROCESSING_MAX_RUNTIME_SECONDS).toBeUndefined();
  });

  it('starts executions of the avatars machine only, and stops only its executions', () => {
    // Prepare
    const machineId = built.idOf(family.stateMachines.avatars.stateMachine);

    // Act
    const states = grantsOf(family.routeHandlers.avatars, 'states');

    // Assess
    expect(states).toEqual([
      `states:StartExecution on <${machineId}>`,
      `states:StopExecution on arn:<AWS::Partition>:states:eu-west-1:123456789012:execution:<${machineId}.Name>:*`,
    ]);
  });

  it('is the only function that starts the avatars machine', () => {
    // Act
    const starters = policyStatements(built.template).filter(
      ({ statement }) =>
        actionsOf(statement).includes('states:StartExecution') &&
        [statement.Resource]
          .flat()
          .map(flattenReference)
          .includes(`<${built.idOf(family.stateMachines.avatars.stateMachine)}>`),
    );

    // Assess
    expect(starters.map(({ roles }) => roles)).toEqual([
      [built.idOf(family.routeHandlers.avatars.executionRole)],
    ]);
  });

  it('submits jobs as the other families’ APIs do', () => {
    // Act
    const table = statementsOf(family.routeHandlers.avatars).find(
      (statement) => statement.Sid === 'StateTable',
    );

    // Assess: Query brings BatchGetItem (lib/constructs/data.ts allowStateTable).
    expect(table?.Action).toEqual([...JOB_SUBMISSION_ACTIONS, 'dynamodb:BatchGetItem']);
  });
});

describe('the outputs bucket', () => {
  const keys = (pattern: string) => `<${built.idOf(built.stack.data.outputsBucket)}.Arn>/${pattern}`;

  it('is reached by the avatars functions under */avatars/ keys only, each with the actions it needs', () => {
    // Act
    const s3 = Object.fromEntries(
      Object.entries({ api: family.routeHandlers.avatars, ...family.tasks }).map(([name, fn]) => [
        name,
        grantsOf(fn, 's3'),
      ]),
    );

    // Assess: the API puts sets and presigns uploads, reads sets and upload sizes, links results;
    // the engine reads sets, tables and parents' results, and writes its own results.
    const files = keys('*/avatars/files/*');
    const sets = keys('*/avatars/sets/*');
    const results = keys('*/avatars/results/*');
    const processing = keys('*/avatars/processing/*');
    // ListBucket on the bucket itself: without it S3 answers 403, not 404, for a key that is missing.
    const list = `s3:ListBucket on ${keys('').replace(/\/$/, '')}`;
    const run = [
      `s3:GetObject on ${files}`,
      `s3:GetObject on ${results}`,
      `s3:GetObject on ${sets}`,
      list,
      `s3:PutObject on ${results}`,
    ].sort();
    expect(s3).toEqual({
      api: [
        `s3:GetObject on ${files}`,
        `s3:GetObject on ${results}`,
        `s3:GetObject on ${sets}`,
        list,
        `s3:PutObject on ${files}`,
        `s3:PutObject on ${sets}`,
      ].sort(),
      run,
      runLarge: run,
      // Prepare sizes the job's inputs and writes its spec and manifest; Record reads the outcome,
      // retypes the results (a copy onto itself), and removes the outcome, the spec and the manifest.
      prepareProcessing: [
        `s3:GetObject on ${files}`,
        `s3:GetObject on ${results}`,
        `s3:GetObject on ${sets}`,
        list,
        `s3:PutObject on ${processing}`,
      ].sort(),
      recordProcessing: [
        `s3:DeleteObject on ${processing}`,
        `s3:DeleteObject on ${results}`,
        `s3:GetObject on ${results}`,
        list,
        `s3:PutObject on ${results}`,
      ].sort(),
      decide: [],
      awaitParents: [],
      release: [],
    });
    for (const fn of familyFunctions()) {
      for (const grant of grantsOf(fn, 's3')) {
        expect(grant).toMatch(
          /^s3:ListBucket on <\w+\.Arn>$|^s3:\w+Object on <\w+\.Arn>\/\*\/avatars\/\w+\/\*$/,
        );
      }
    }
  });
});

describe('the steps that wait and wake', () => {
  it('read and update the job table only, and send task tokens back', () => {
    // Prepare
    const { decide, awaitParents, release } = family.tasks;

    for (const fn of [decide, awaitParents, release]) {
      // Act
      const services = new Set(
        statementsOf(fn)
          .filter((statement) => statement.Sid !== 'WriteOwnLogGroup')
          .flatMap(actionsOf)
          .map((action) => action.split(':')[0]),
      );

      // Assess: X-Ray is CDK's (Tracing.ACTIVE); KMS is the table key, through DynamoDB only.
      expect([...services].sort(), fn.node.id).toEqual(
        (fn === decide
          ? ['dynamodb', 'events', 'kms', 'states', 'xray']
          : ['dynamodb', 'kms', 'states', 'xray']
        ).sort(),
      );
      expect(grantsOf(fn, 'states'), fn.node.id).toEqual(['states:SendTaskSuccess on *']);
    }
    const tableActions = (fn: SynthForgeFunction) =>
      statementsOf(fn).find((statement) => statement.Sid === 'StateTable')?.Action;
    expect(tableActions(awaitParents)).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(tableActions(release)).toEqual(['dynamodb:Query', 'dynamodb:BatchGetItem']);
  });

  it('is the only grant of the family on Resource "*" besides X-Ray', () => {
    for (const fn of familyFunctions()) {
      // Act
      const starred = statementsOf(fn)
        .filter((statement) => [statement.Resource].flat().includes('*'))
        .flatMap(actionsOf)
        .filter((action) => !action.startsWith('xray:'));

      // Assess
      const wakes = [family.tasks.decide, family.tasks.awaitParents, family.tasks.release].includes(fn);
      expect(starred, fn.node.id).toEqual(wakes ? ['states:SendTaskSuccess'] : []);
    }
  });
});

describe('cancelling', () => {
  it('lets the jobs function stop the avatars machine’s executions too', () => {
    // Prepare
    const machineId = built.idOf(family.stateMachines.avatars.stateMachine);

    // Act
    const stops = grantsOf(built.stack.routeHandlers.jobs, 'states');

    // Assess
    expect(stops).toContain(
      `states:StopExecution on arn:<AWS::Partition>:states:eu-west-1:123456789012:execution:<${machineId}.Name>:*`,
    );
  });
});

describe('a stage with avatars.processingImage', () => {
  const image = '210987654321.dkr.ecr.eu-central-1.amazonaws.com/team/avatarizer:2026-06-01';
  let stage: TestStack;
  let avatars: AvatarsFamily;
  let processing: AvatarProcessing;
  /** Every statement of the role with this logical id, its resources flattened as cdk-nag names them. */
  const grantsOfRole = (roleId: string) =>
    statementsOfRole(stage.template, roleId).map((statement) => ({
      sid: statement.Sid,
      actions: actionsOf(statement),
      resources: [statement.Resource].flat().map(flattenReference),
      condition: statement.Condition,
    }));
  const bucket = () => `<${stage.idOf(stage.stack.data.outputsBucket)}.Arn>`;
  const objects = (pattern: string) => `${bucket()}/${pattern}`;

  beforeAll(() => {
    // One synthesis more, for everything the image brings.
    stage = buildTestStack({
      avatars: {
        processingImage: image,
        processingInstanceType: 'ml.r5.4xlarge',
        processingMaxRuntimeHours: 2,
      },
    });
    avatars = stage.stack.families.require(AvatarsFamily, 'this test');
    if (!avatars.processing) throw new Error('the stage has an avatarizer image: processing is set up');
    processing = avatars.processing;
  });

  it('substitutes the image and the processing role into the Process state', () => {
    // Prepare
    const machine = resourcesOfType(stage.template, 'AWS::StepFunctions::StateMachine')[
      stage.idOf(avatars.stateMachines.avatars.stateMachine)
    ]?.Properties as CfnJson;
    const values = Object.fromEntries(
      Object.keys(machine.DefinitionSubstitutions).map((name) => [name, `value-of-${name}`]),
    );

    // Act
    const deployed = JSON.parse(substitute(machine.DefinitionString, values));

    // Assess
    expect(machine.DefinitionSubstitutions.AvatarizerImageUri).toBe(image);
    expect(machine.DefinitionSubstitutions.AvatarProcessingRoleArn).toEqual({
      'Fn::GetAtt': [stage.idOf(processing.role), 'Arn'],
    });
    expect(new Set(Object.keys(machine.DefinitionSubstitutions))).toEqual(
      placeholdersOf(machine.DefinitionString),
    );
    expect(deployed.States.Process.Resource).toBe('arn:aws:states:::sagemaker:createProcessingJob.sync');
    expect(deployed.States.Process.Parameters).toMatchObject({
      RoleArn: 'value-of-AvatarProcessingRoleArn',
      AppSpecification: { ImageUri: 'value-of-AvatarizerImageUri' },
    });
  });

  it('lets the machine run sfa-* processing jobs, keep the .sync rule and pass only the processing role, only to SageMaker', () => {
    // Act
    const grants = grantsOfRole(stage.idOf(avatars.stateMachines.avatars.role)).filter(
      // Logging and X-Ray (CDK's) and the steps' invokes: the other tests' concern.
      (grant) =>
        grant.sid !== 'InvokeWorkflowTasks' && !grant.actions.every((action) => /^(logs|xray):/.test(action)),
    );

    // Assess
    expect(grants).toEqual([
      {
        sid: 'RunProcessingJobs',
        actions: [
          'sagemaker:CreateProcessingJob',
          'sagemaker:DescribeProcessingJob',
          'sagemaker:StopProcessingJob',
          'sagemaker:AddTags',
          'sagemaker:ListTags',
        ],
        resources: ['arn:<AWS::Partition>:sagemaker:eu-west-1:123456789012:processing-job/sfa-*'],
        condition: undefined,
      },
      {
        sid: 'HearOfProcessingJobsEnding',
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          'arn:<AWS::Partition>:events:eu-west-1:123456789012:rule/StepFunctionsGetEventsForSageMakerProcessingJobsRule',
        ],
        condition: undefined,
      },
      {
        sid: 'PassProcessingRole',
        actions: ['iam:PassRole'],
        resources: [`<${stage.idOf(processing.role)}.Arn>`],
        condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      },
    ]);
    // No other role of the stack may create processing jobs or pass the processing role.
    const elsewhere = policyStatements(stage.template).filter(
      ({ roles, statement }) =>
        !roles.includes(stage.idOf(avatars.stateMachines.avatars.role)) &&
        (actionsOf(statement).includes('sagemaker:CreateProcessingJob') ||
          [statement.Resource]
            .flat()
            .map(flattenReference)
            .includes(`<${stage.idOf(processing.role)}.Arn>`)),
    );
    expect(elsewhere).toEqual([]);
    // The jobs the machine may act on are named the way the domain names them.
    expect(processingJobNameOf('01JABCDEF0123456789XYZ', 2).startsWith(PROCESSING_JOB_NAME_PREFIX)).toBe(
      true,
    );
    expect(`${PROCESSING_JOB_NAME_PREFIX}*`).toBe('sfa-*');
  });

  it('waits for the processing role’s permissions before it can start a job', () => {
    // Act
    const resources = stage.template.toJSON().Resources as Record<string, { DependsOn?: string[] }>;
    const dependsOn = resources[stage.idOf(avatars.stateMachines.avatars.stateMachine)]?.DependsOn ?? [];

    // Assess
    expect(dependsOn).toEqual(
      expect.arrayContaining([stage.idOf(processing.rolePolicy), stage.idOf(processing.jobsPolicy)]),
    );
  });

  it('has a processing role assumable only by SageMaker, on behalf of this account, with no managed policy', () => {
    // Act
    const role = resourcesOfType(stage.template, 'AWS::IAM::Role')[stage.idOf(processing.role)]
      ?.Properties as CfnJson;

    // Assess
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

  it('lets the processing role read a job’s inputs, write only results, pull only the image, log only to the processing jobs’ group', () => {
    // Act
    const grants = grantsOfRole(stage.idOf(processing.role));

    // Assess: the outputs bucket is SSE-S3, hence no KMS statement.
    const logGroup =
      'arn:<AWS::Partition>:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/ProcessingJobs';
    expect(grants).toEqual([
      {
        sid: 'ReadInputs',
        actions: ['s3:GetObject'],
        resources: [
          objects('*/avatars/processing/*'),
          objects('*/avatars/files/*'),
          objects('*/avatars/results/*'),
        ],
        condition: undefined,
      },
      {
        sid: 'ListInputs',
        actions: ['s3:ListBucket'],
        resources: [bucket()],
        condition: {
          StringLike: {
            's3:prefix': ['*/avatars/processing/*', '*/avatars/files/*', '*/avatars/results/*'],
          },
        },
      },
      {
        sid: 'WriteResults',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [objects('*/avatars/results/*')],
        condition: undefined,
      },
      {
        sid: 'PullAvatarizerImage',
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        resources: ['arn:<AWS::Partition>:ecr:eu-central-1:210987654321:repository/team/avatarizer'],
        condition: undefined,
      },
      {
        sid: 'AuthenticateToEcr',
        actions: ['ecr:GetAuthorizationToken'],
        resources: ['*'],
        condition: undefined,
      },
      {
        sid: 'WriteProcessingLogs',
        actions: [
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:DescribeLogStreams',
          'logs:PutLogEvents',
        ],
        resources: [logGroup, `${logGroup}:*`],
        condition: undefined,
      },
      {
        sid: 'PublishProcessingMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        condition: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/ProcessingJobs' } },
      },
    ]);
  });

  it('tells the API the instance and the time limit, and the steps the time limit', () => {
    // Act
    const envOf = (fn: SynthForgeFunction): Record<string, unknown> =>
      resourcesOfType(stage.template, 'AWS::Lambda::Function')[stage.idOf(fn)]?.Properties.Environment
        .Variables;

    // Assess
    expect(envOf(avatars.routeHandlers.avatars)).toMatchObject({
      AVATAR_PROCESSING_INSTANCE_TYPE: 'ml.r5.4xlarge',
      AVATAR_PROCESSING_MAX_RUNTIME_SECONDS: '7200',
    });
    for (const fn of [avatars.tasks.prepareProcessing, avatars.tasks.recordProcessing]) {
      expect(envOf(fn).AVATAR_PROCESSING_MAX_RUNTIME_SECONDS, fn.node.id).toBe('7200');
      expect(envOf(fn).AVATAR_PROCESSING_INSTANCE_TYPE, fn.node.id).toBeUndefined();
    }
  });

  it('leaves no unacknowledged AwsSolutions finding, and each of the family’s acknowledgements matches one', () => {
    // Prepare
    const checks = () =>
      new AwsSolutionsChecks()
        .validateScope(stage.stack)
        .violations.flatMap((v) =>
          v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })),
        );
    const before = checks();

    // Act
    acknowledgeNagFindings(stage.stack);
    const after = checks();

    // Assess
    expect(after.map(({ rule, path }) => `${rule} ${path}`)).toEqual([]);
    for (const ack of avatars.nagAcknowledgements()) {
      const path = ack.scope.node.path;
      expect(
        before.some(({ rule, path: at }) => rule === ack.id && (at === path || at.startsWith(`${path}/`))),
        `${ack.id} on ${path}`,
      ).toBe(true);
      expect(ack.reason.length, ack.id).toBeGreaterThan(100);
    }
  });
});

describe('cdk-nag', () => {
  it('leaves no unacknowledged AwsSolutions finding, and each of the family’s own acknowledgements matches one', () => {
    // Prepare
    const checks = () =>
      new AwsSolutionsChecks()
        .validateScope(built.stack)
        .violations.flatMap((v) =>
          v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })),
        );
    const before = checks();

    // Act
    acknowledgeNagFindings(built.stack);
    const after = checks();

    // Assess
    expect(after.map(({ rule, path }) => `${rule} ${path}`)).toEqual([]);
    for (const ack of family.nagAcknowledgements()) {
      const path = ack.scope.node.path;
      expect(
        before.some(({ rule, path: at }) => rule === ack.id && (at === path || at.startsWith(`${path}/`))),
        `${ack.id} on ${path}`,
      ).toBe(true);
      expect(ack.reason.length, ack.id).toBeGreaterThan(100);
    }
  });
});
