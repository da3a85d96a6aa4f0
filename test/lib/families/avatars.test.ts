import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseCompute, defaultComputeSettings } from '../../../lambdas/domain/avatars/execution.ts';
import { JOB_SUBMISSION_ACTIONS } from '../../../lib/constructs/data.ts';
import type { SynthForgeFunction } from '../../../lib/constructs/synthforge-function.ts';
import { AvatarsFamily, RUN_AVATAR_JOB_TIMEOUT } from '../../../lib/families/avatars.ts';
import { FAMILY_CONSTRUCTS } from '../../../lib/families/index.ts';
import { InferenceFamily } from '../../../lib/families/inference.ts';
import { flattenReference } from '../../../lib/nag.ts';
import { acknowledgeNagFindings } from '../../../lib/nag-acknowledgements.ts';
import { readDefinition } from '../../../statemachines/definitions.ts';
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
        .filter(([, state]) => state.Type === 'Task')
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
    const { decide, awaitParents, run, runLarge, release } = family.tasks;
    expect(invoked).toEqual({
      Decide: built.idOf(decide),
      AwaitParents: built.idOf(awaitParents),
      Run: built.idOf(run),
      RunLarge: built.idOf(runLarge),
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
    const { decide, run, runLarge, release } = family.tasks;

    // Assess (AwaitParents' TimeoutSeconds is the whole wait for the token, not its invocation).
    for (const [state, fn] of [
      ['Decide', decide],
      ['Run', run],
      ['RunLarge', runLarge],
      ['Release', release],
    ] as const) {
      expect(functionOf(fn).Timeout, state).toBeLessThanOrEqual(states[state].TimeoutSeconds);
    }
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
