import { beforeAll, describe, expect, it } from 'vitest';
import { familyOfRoutes, ROUTE_FAMILIES, STATE_MACHINES } from '../../../contracts/families/index.ts';
import { LOCAL_FAMILIES } from '../../../lambdas/local/families/index.ts';
import { API_ROUTES } from '../../../lib/api-routes.ts';
import type { FamilyConstruct } from '../../../lib/families/family.ts';
import {
  assertEveryFamilyRegistered,
  FAMILY_CONSTRUCTS,
  routeHandlersOf,
  stateMachinesOf,
} from '../../../lib/families/index.ts';
import { flattenReference } from '../../../lib/nag.ts';
import { TASK_FUNCTIONS } from '../../../statemachines/definitions.ts';
import {
  buildTestStack,
  type CfnJson,
  policyStatements,
  referencedId,
  resourcesOfType,
  statementsOfRole,
  type TestStack,
} from '../stack-fixture.ts';

let built: TestStack;
let families: readonly FamilyConstruct[];

beforeAll(() => {
  built = buildTestStack();
  families = built.stack.families.all;
});

/** The family construct of the stack that registers `name` (contracts/families/). */
const familyNamed = (name: string) => {
  const family = families.find((candidate) => candidate.manifest.name === name);
  if (!family) throw new Error(`no construct for the ${name} family`);
  return family;
};

describe('the registry of family constructs', () => {
  // That the registry is complete is what building the stack above checks (it fails otherwise).
  it('fails synthesis on a family of contracts/families/ without its construct, or with two', () => {
    expect(() => assertEveryFamilyRegistered(FAMILY_CONSTRUCTS.slice(1))).toThrow(/platform/);
    const [platform] = FAMILY_CONSTRUCTS;
    if (!platform) throw new Error('no family is registered');
    expect(() => assertEveryFamilyRegistered([...FAMILY_CONSTRUCTS, platform])).toThrow(/platform, platform/);
  });

  it("serves every route of every family by its own family's function, behind the API's methods", () => {
    for (const { route, method } of built.stack.api.methods) {
      // Prepare: the function the route's family registers for it.
      const owner = familyNamed(familyOfRoutes(route.family).name);
      const fn = owner.routeHandlers[route.family];
      expect(fn, `${route.method} ${route.path}`).toBeDefined();
      if (!fn) continue;

      // Assess: its method proxies to exactly that function, which is one of the stack's.
      const properties = resourcesOfType(built.template, 'AWS::ApiGateway::Method')[built.idOf(method)]
        ?.Properties as CfnJson;
      expect(JSON.stringify(properties.Integration.Uri), route.path).toContain(`"${built.idOf(fn)}","Arn"`);
      expect(built.stack.functions).toContain(fn);
    }
    // Every route family has routes, and every one of them got a method.
    expect(new Set(built.stack.api.methods.map(({ route }) => route.family))).toEqual(
      new Set(ROUTE_FAMILIES),
    );
    expect(built.stack.api.methods).toHaveLength(API_ROUTES.length);
  });

  it('builds every state machine of the families, each placeholder substituted by a function of the stack', () => {
    const machines = resourcesOfType(built.template, 'AWS::StepFunctions::StateMachine');
    const functionIds = new Set(built.stack.functions.map((fn) => built.idOf(fn)));
    expect(Object.keys(machines)).toHaveLength(STATE_MACHINES.length);
    for (const { name, family } of STATE_MACHINES) {
      const machine = familyNamed(family).stateMachines[name];
      if (!machine) throw new Error(`the ${family} family's construct has no ${name}`);
      const properties = machines[built.idOf(machine.stateMachine)]?.Properties as CfnJson;
      expect(properties, name).toBeDefined();
      for (const placeholder of TASK_FUNCTIONS[name]) {
        const substitution = properties.DefinitionSubstitutions[placeholder];
        expect(substitution, `${name}: ${placeholder}`).toEqual({
          'Fn::GetAtt': [referencedId(substitution), 'Arn'],
        });
        expect(functionIds, `${name}: ${placeholder}`).toContain(referencedId(substitution));
      }
    }
  });

  it("runs behind each placeholder the very task function the family's descriptor names (and the local platform runs)", async () => {
    for (const { name, family } of STATE_MACHINES) {
      // Prepare: the function the template substitutes for each placeholder, and the descriptor's task.
      const machine = familyNamed(family).stateMachines[name];
      if (!machine) throw new Error(`the ${family} family's construct has no ${name}`);
      const properties = resourcesOfType(built.template, 'AWS::StepFunctions::StateMachine')[
        built.idOf(machine.stateMachine)
      ]?.Properties as CfnJson;
      const substitutions = properties.DefinitionSubstitutions;
      const descriptor = LOCAL_FAMILIES.find((candidate) => candidate.lambdas.manifest.name === family);
      const tasks = (descriptor?.lambdas.tasks[name] ?? {}) as Record<string, unknown>;
      for (const placeholder of TASK_FUNCTIONS[name]) {
        const fn = built.stack.functions.find(
          (candidate) => built.idOf(candidate) === referencedId(substitutions[placeholder]),
        );

        // Act: the deployed entry module's exports.
        const entry = (await import(`../../../${fn?.entryModule}`)) as Record<string, unknown>;

        // Assess
        expect(Object.values(entry), `${name}: ${placeholder} runs ${fn?.entryModule}`).toContain(
          tasks[placeholder],
        );
      }
    }
  });

  it('lets the jobs function stop executions of every machine, and the reconciler hear of every one', () => {
    const machineIds = stateMachinesOf(families).map(({ machine }) => built.idOf(machine.stateMachine));
    expect(machineIds).toHaveLength(STATE_MACHINES.length);
    const jobs = built.stack.routeHandlers.jobs;
    const stops = statementsOfRole(built.template, built.idOf(jobs.executionRole))
      .filter((statement) => [statement.Action].flat().includes('states:StopExecution'))
      .flatMap((statement) => [statement.Resource].flat().map(flattenReference));
    expect(stops.sort()).toEqual(
      machineIds
        .map((id) => `arn:<AWS::Partition>:states:eu-west-1:123456789012:execution:<${id}.Name>:*`)
        .sort(),
    );

    const rule = resourcesOfType(built.template, 'AWS::Events::Rule')[
      built.idOf(built.stack.events.node.findChild('FailedExecutions') as never)
    ]?.Properties as CfnJson;
    expect(rule.EventPattern.detail.stateMachineArn.map(referencedId).sort()).toEqual([...machineIds].sort());
  });

  it('gives every machine its output', () => {
    const outputs = built.template.toJSON().Outputs as Record<string, CfnJson>;
    for (const { name, machine } of stateMachinesOf(families)) {
      expect(referencedId(outputs[machine.outputId]?.Value), name).toBe(built.idOf(machine.stateMachine));
    }
  });
});

/**
 * The stateful and named resources of the families' constructs, by the logical ids they had before
 * lib/families/ existed: with another id CloudFormation would create a second one (and fail on a
 * named one, or leave a retained one behind). Functions and roles may change ids; these may not.
 */
const KEPT_LOGICAL_IDS = [
  // Platform: the cursor secret and its functions' log groups (the reconciler's was the workflow's).
  'ApiHandlersCursorSecretA4CAB42C',
  'ApiHandlersPublicLogs1E508C5C',
  'ApiHandlersJobsLogsC205437B',
  'ApiHandlersAuthorizerLogs6657B57D',
  'WorkflowsReconcilerLogsAE2266D6',
  // Generation: the machine, its named execution log group, its functions' log groups.
  'WorkflowsBatchStateMachine1A8EEAFD',
  'WorkflowsBatchExecutionLogs217DBC57',
  'WorkflowsStartBatchLogs557F0B24',
  'WorkflowsRunJobLogs36E0E297',
  'WorkflowsFailJobLogs4C1E8022',
  'WorkflowsFinishBatchLogs6EEFC53B',
  'ApiHandlersGeneratorsLogs5251D1BE',
  'ApiHandlersBatchesLogsCE08CAE5',
  // Images: the endpoints' key, topics and named log group, the machine and its log groups.
  'ModelEndpointsKeyDF3D8DD1',
  'ModelEndpointsSuccessTopic3AC744D0',
  'ModelEndpointsErrorTopicAC32C07A',
  'ModelEndpointsstablediffusionv15Logs7DDE14C0',
  'ImageWorkflowStateMachine62E1AAF6',
  'ImageWorkflowExecutionLogsB11D53C5',
  'ImageWorkflowInvokeModelLogsE823312B',
  'ImageWorkflowEndpointNotificationsLogs5A34B615',
  'ApiHandlersImagesLogsD11F4D9E',
  // Training: the volume key, the machine and its log groups.
  'TrainingWorkflowVolumeKey2393E7E9',
  'TrainingWorkflowStateMachineDFF36538',
  'TrainingWorkflowExecutionLogs8FB21554',
  'TrainingWorkflowPrepareTrainingLogs9E7BFD24',
  'TrainingWorkflowRecordTrainingLogs30582708',
  'ApiHandlersTrainingLogs6D589812',
];

describe('deploying over the stack from before lib/families/', () => {
  it('keeps the logical id of every stateful or named resource the families took over', () => {
    const resources = built.template.toJSON().Resources as Record<string, unknown>;
    const missing = KEPT_LOGICAL_IDS.filter((id) => resources[id] === undefined);
    expect(missing).toEqual([]);
  });

  it('keeps the log group of every function that moved into its family', () => {
    const { platform, generation, images, training } = built.families;
    for (const [fn, id] of [
      [platform.reconciler, 'WorkflowsReconcilerLogsAE2266D6'],
      [generation.routeHandlers.generators, 'ApiHandlersGeneratorsLogs5251D1BE'],
      [generation.routeHandlers.batches, 'ApiHandlersBatchesLogsCE08CAE5'],
      [images.routeHandlers.images, 'ApiHandlersImagesLogsD11F4D9E'],
      [training.routeHandlers.training, 'ApiHandlersTrainingLogs6D589812'],
    ] as const) {
      expect(built.idOf(fn.logGroup), fn.node.path).toBe(id);
    }
  });
});

describe('what the stack derives from the families', () => {
  it('fails when a route family has no function, naming it', () => {
    const withoutTraining = families.filter((family) => family.manifest.name !== 'training');
    expect(() => routeHandlersOf(withoutTraining)).toThrow(/route families training:/);
  });

  it("fails when a family serves another family's route family", () => {
    const generation = familyNamed('generation');
    const images = familyNamed('images');
    const impostor = { manifest: generation.manifest, routeHandlers: images.routeHandlers };
    expect(() => routeHandlersOf([impostor])).toThrow(/the generation family serves images/);
  });

  it('fails when a family builds no machine its manifest names', () => {
    const withoutImages = families.filter((family) => family.manifest.name !== 'images');
    expect(() => stateMachinesOf(withoutImages)).toThrow(/images family's construct builds no state machine/);
  });
});

describe('the images family', () => {
  // Whoever submits image jobs (the images routes, the batches routes for a batch of model runs, the
  // WebSocket's `generate`) is refused with a 503 naming a model whose endpoint does not exist
  // (ImageService.ensureEndpointsExist). That check is a DescribeEndpoint: without the permission its
  // AccessDenied would be read as "unknown" and the submission let through.
  it('lets every function that starts image executions ask whether a model has an endpoint', () => {
    // Prepare
    const starters = new Set(
      policyStatements(built.template)
        .filter(({ statement }) => statement.Sid === 'StartImageExecutions')
        .flatMap(({ roles }) => roles),
    );

    // Act
    const withoutDescribe = [...starters].filter(
      (role) =>
        !statementsOfRole(built.template, role).some(
          (statement) =>
            statement.Sid === 'DescribeModelEndpoints' &&
            [statement.Action].flat().includes('sagemaker:DescribeEndpoint'),
        ),
    );

    // Assess: the images API, the batches API and the WebSocket's messages function at least.
    expect(starters.size).toBeGreaterThanOrEqual(3);
    expect(withoutDescribe).toEqual([]);
  });
});
