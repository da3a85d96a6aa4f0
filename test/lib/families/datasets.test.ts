import { AwsSolutionsChecks } from 'cdk-nag';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { datasetJobKeys } from '../../../lambdas/domain/datasets/ports.ts';
import { profileKey } from '../../../lambdas/domain/datasets/profiles.ts';
import { privacyGateKey } from '../../../lambdas/domain/datasets/work.ts';
import { jsonlOutputKey } from '../../../lambdas/domain/exports/jsonl.ts';
import { datasetsConfigFromEnv } from '../../../lambdas/families/datasets/runtime.ts';
import { JOB_SUBMISSION_ACTIONS } from '../../../lib/constructs/data.ts';
import type { SynthForgeFunction } from '../../../lib/constructs/synthforge-function.ts';
import { DatasetsFamily } from '../../../lib/families/datasets.ts';
import { FAMILY_CONSTRUCTS } from '../../../lib/families/index.ts';
import { flattenReference } from '../../../lib/nag.ts';
import { acknowledgeNagFindings } from '../../../lib/nag-acknowledgements.ts';
import { placeholdersOf, readDefinition } from '../../../statemachines/definitions.ts';
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

/** The detector calls of seed 001's privacy checks (Rekognition and Comprehend). */
const DETECTOR_ACTIONS = [
  'comprehend:DetectPiiEntities',
  'rekognition:DetectFaces',
  'rekognition:DetectText',
];
const EXPORT_BUCKETS = ['user-exports', 'other.bucket'];
const bucketObjects = (bucket: string) => `arn:<AWS::Partition>:s3:::${bucket}/*`;

/** The test stage's defaults: AWS's detectors, no export bucket, no public_read. */
let plain: TestStack;
/** The bundled models, one export bucket, public_read refused. */
let bundled: TestStack;
/** AWS's detectors, two export buckets, public_read allowed, the privacy gate on every export. */
let open: TestStack;

beforeAll(() => {
  plain = buildTestStack();
  bundled = buildTestStack({ datasets: { detectors: 'bundled', exportBuckets: ['user-exports'] } });
  open = buildTestStack({
    datasets: {
      exportBuckets: EXPORT_BUCKETS,
      exportBucketTenants: { 'user-exports': ['acme'] },
      allowPublicRead: true,
      requirePrivacyValidation: true,
      syncExportLimit: 50,
    },
  });
});

const familyOf = (built: TestStack) => built.stack.families.require(DatasetsFamily, 'this test');
/** The family's functions, by the name the tests give them. */
const functionsOf = (built: TestStack) => {
  const family = familyOf(built);
  return { ...family.routeHandlers, runDatasetJob: family.runDatasetJob };
};
const statementsOf = (built: TestStack, fn: SynthForgeFunction): Statement[] =>
  statementsOfRole(built.template, built.idOf(fn.executionRole));
const actionsOf = (statement: Statement) => [statement.Action].flat();
/** The resources `fn` may call `action` on, flattened as cdk-nag names them. */
const resourcesFor = (built: TestStack, fn: SynthForgeFunction, action: string) =>
  statementsOf(built, fn)
    .filter((statement) => actionsOf(statement).includes(action))
    .flatMap((statement) => [statement.Resource].flat().map(flattenReference))
    .sort();
const functionOf = (built: TestStack, fn: SynthForgeFunction) =>
  resourcesOfType(built.template, 'AWS::Lambda::Function')[built.idOf(fn)]?.Properties as CfnJson;
/** A function's environment, its plain strings only (what the runtime parses; references are ARNs). */
const settingsOf = (built: TestStack, fn: SynthForgeFunction): Record<string, string> =>
  Object.fromEntries(
    Object.entries(functionOf(built, fn).Environment.Variables as Record<string, unknown>).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  );
const outputsObjects = (built: TestStack, pattern: string) =>
  `<${built.idOf(built.stack.data.outputsBucket)}.Arn>/${pattern}`;
/** Whether an S3 resource pattern of the outputs bucket covers `key` (`*` matches any characters, `/` too). */
const covers = (built: TestStack, resource: string, key: string) => {
  const prefix = outputsObjects(built, '');
  if (!resource.startsWith(prefix)) return false;
  const pattern = resource.slice(prefix.length);
  const escaped = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`, 's').test(key);
};

describe('the datasets family in the stack', () => {
  it('is registered after avatars, under its name, and serves the validation, profiles and exports routes', () => {
    // Act
    const names = FAMILY_CONSTRUCTS.map((registration) => registration.manifest.name);
    const family = familyOf(plain);

    // Assess
    expect(names.indexOf('datasets')).toBe(names.indexOf('avatars') + 1);
    expect(family.node.id).toBe('Datasets');
    expect(plain.stack.routeHandlers.validation).toBe(family.routeHandlers.validation);
    expect(plain.stack.routeHandlers.profiles).toBe(family.routeHandlers.profiles);
    expect(plain.stack.routeHandlers.exports).toBe(family.routeHandlers.exports);
    expect(
      Object.fromEntries(Object.entries(functionsOf(plain)).map(([name, fn]) => [name, fn.entryModule])),
    ).toEqual({
      validation: 'lambdas/handlers/api/validation.ts',
      profiles: 'lambdas/handlers/api/profiles.ts',
      exports: 'lambdas/handlers/api/exports.ts',
      runDatasetJob: 'lambdas/handlers/workflow/run-dataset-job.ts',
    });
  });

  it('answers within API Gateway’s 29 s, and runs a slice within its Task state’s TimeoutSeconds', () => {
    // Prepare
    const states = JSON.parse(readDefinition('datasets')).States as Record<string, CfnJson>;
    const { validation, profiles, exports, runDatasetJob } = functionsOf(plain);

    // Assess
    for (const fn of [validation, profiles, exports]) {
      expect(functionOf(plain, fn).Timeout, fn.node.id).toBeLessThanOrEqual(28);
    }
    expect(functionOf(plain, runDatasetJob).Timeout).toBe(900);
    expect(functionOf(plain, runDatasetJob).Timeout).toBeLessThanOrEqual(states.RunDatasetJob.TimeoutSeconds);
    expect(functionOf(plain, plain.families.generation.workflow.tasks.failJob).Timeout).toBeLessThanOrEqual(
      states.FailJob.TimeoutSeconds,
    );
  });
});

describe('the settings each function gets', () => {
  it('are the stage’s, as the runtime reads them back, each where its handler uses it', () => {
    // Act
    const { validation, exports, runDatasetJob } = functionsOf(open);
    const read = (fn: SynthForgeFunction) => datasetsConfigFromEnv(settingsOf(open, fn));

    // Assess: the exports API checks a request against all of the export settings.
    expect(read(exports)).toMatchObject({
      exportBuckets: EXPORT_BUCKETS,
      exportBucketTenants: { 'user-exports': ['acme'] },
      allowPublicRead: true,
      requirePrivacyValidation: true,
      syncExportLimit: 50,
    });
    // The step writes what the API accepted: public_read is checked again, the detectors used.
    expect(read(runDatasetJob)).toMatchObject({ detectors: 'aws', allowPublicRead: true });
    expect(read(validation).detectors).toBe('aws');
    const withModels = functionsOf(bundled);
    for (const fn of [withModels.validation, withModels.runDatasetJob]) {
      expect(datasetsConfigFromEnv(settingsOf(bundled, fn)).detectors, fn.node.id).toBe('bundled');
    }
  });

  it('leave DATASETS_EXPORT_BUCKETS out when the stage lists no bucket, which the runtime reads as none', () => {
    for (const [name, fn] of Object.entries(functionsOf(plain))) {
      // Act
      const env = settingsOf(plain, fn);

      // Assess: CloudFormation refuses an empty value; unset reads as no bucket (exports refused).
      expect(env, name).not.toHaveProperty('DATASETS_EXPORT_BUCKETS');
      expect(Object.values(env), name).not.toContain('');
      expect(datasetsConfigFromEnv(env).exportBuckets, name).toEqual([]);
    }
  });
});

describe('the datasets machine', () => {
  const machineOf = (built: TestStack) =>
    resourcesOfType(built.template, 'AWS::StepFunctions::StateMachine')[
      built.idOf(familyOf(built).stateMachines.datasets.stateMachine)
    ]?.Properties as CfnJson;

  it('inlines its ASL with a substitution for exactly each placeholder: RunDatasetJob and generation’s FailJob', () => {
    // Act
    const machine = machineOf(plain);

    // Assess
    expect(machine.DefinitionString).toBe(readDefinition('datasets'));
    expect(new Set(Object.keys(machine.DefinitionSubstitutions))).toEqual(
      placeholdersOf(readDefinition('datasets')),
    );
    expect(machine.DefinitionSubstitutions).toEqual({
      RunDatasetJobFunctionArn: { 'Fn::GetAtt': [plain.idOf(familyOf(plain).runDatasetJob), 'Arn'] },
      FailJobFunctionArn: {
        'Fn::GetAtt': [plain.idOf(plain.families.generation.workflow.tasks.failJob), 'Arn'],
      },
    });
  });

  it('may invoke exactly those two functions and their versions', () => {
    // Act
    const { invokePolicy } = familyOf(plain).stateMachines.datasets;
    const policy = resourcesOfType(plain.template, 'AWS::IAM::Policy')[plain.idOf(invokePolicy)];
    const statements = policy?.Properties.PolicyDocument.Statement as Statement[];

    // Assess
    expect(statements).toHaveLength(1);
    expect(statements[0]?.Action).toBe('lambda:InvokeFunction');
    expect(statements[0]?.Resource).toEqual(
      [familyOf(plain).runDatasetJob, plain.families.generation.workflow.tasks.failJob].flatMap((fn) => [
        { 'Fn::GetAtt': [plain.idOf(fn), 'Arn'] },
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': [plain.idOf(fn), 'Arn'] }, ':*']] },
      ]),
    );
  });

  it('logs ALL events with data to its own group, traces with X-Ray, and runs as a role only Step Functions of this account assumes', () => {
    // Prepare
    const machine = machineOf(plain);
    const { role } = familyOf(plain).stateMachines.datasets;

    // Act
    const group = resourcesOfType(plain.template, 'AWS::Logs::LogGroup')[
      referencedId(machine.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn) as string
    ];
    const roleProperties = resourcesOfType(plain.template, 'AWS::IAM::Role')[plain.idOf(role)]?.Properties;

    // Assess
    expect(machine.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
    expect(group?.Properties).toMatchObject({
      LogGroupName: '/aws/vendedlogs/states/synthforge-test-datasets',
      RetentionInDays: 30,
    });
    expect(machine.TracingConfiguration).toEqual({ Enabled: true });
    expect(referencedId(machine.RoleArn)).toBe(plain.idOf(role));
    expect(roleProperties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'states.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
      },
    ]);
  });

  it('is started only by the three API functions, which know its ARN, and stopped only by the jobs function', () => {
    // Prepare
    const family = familyOf(plain);
    const machineId = plain.idOf(family.stateMachines.datasets.stateMachine);
    const executions = `arn:<AWS::Partition>:states:eu-west-1:123456789012:execution:<${machineId}.Name>:*`;
    const rolesWith = (action: string, resource: string) =>
      policyStatements(plain.template)
        .filter(({ statement }) => actionsOf(statement).includes(action))
        .filter(({ statement }) => [statement.Resource].flat().map(flattenReference).includes(resource))
        .flatMap(({ roles }) => roles)
        .sort();
    const { validation, profiles, exports, runDatasetJob } = functionsOf(plain);

    // Assess
    expect(rolesWith('states:StartExecution', `<${machineId}>`)).toEqual(
      [validation, profiles, exports].map((fn) => plain.idOf(fn.executionRole)).sort(),
    );
    expect(rolesWith('states:StopExecution', executions)).toEqual([
      plain.idOf(plain.stack.routeHandlers.jobs.executionRole),
    ]);
    for (const fn of [validation, profiles, exports]) {
      expect(functionOf(plain, fn).Environment.Variables.DATASETS_STATE_MACHINE_ARN).toEqual({
        Ref: machineId,
      });
    }
    expect(functionOf(plain, runDatasetJob).Environment.Variables).not.toHaveProperty(
      'DATASETS_STATE_MACHINE_ARN',
    );
    expect(plain.template.toJSON().Outputs.DatasetsStateMachineArn.Value).toEqual({ Ref: machineId });
  });
});

describe('IAM', () => {
  it('writes to the outputs bucket only under */dataset-jobs/, */profiles/ and */exports/, each function only what it must', () => {
    for (const built of [plain, bundled, open]) {
      // Act
      const { validation, profiles, exports, runDatasetJob } = functionsOf(built);
      const ofOutputs = (fn: SynthForgeFunction) =>
        resourcesFor(built, fn, 's3:PutObject').filter((resource) => resource.startsWith('<'));

      // Assess: the APIs that only read and submit write nothing; the exports API its JSONL files.
      expect(ofOutputs(validation)).toEqual([]);
      expect(ofOutputs(profiles)).toEqual([]);
      expect(ofOutputs(exports)).toEqual([outputsObjects(built, '*/exports/*')]);
      expect(ofOutputs(runDatasetJob)).toEqual(
        ['*/dataset-jobs/*', '*/profiles/*', '*/exports/*']
          .map((pattern) => outputsObjects(built, pattern))
          .sort(),
      );
      for (const fn of Object.values(functionsOf(built))) {
        expect(resourcesFor(built, fn, 's3:DeleteObject'), fn.node.id).toEqual([]);
      }
    }
  });

  it('lets RunDatasetJob write every key a job writes, the exports API its JSONL, and neither any other key', () => {
    // Prepare
    const { exports, runDatasetJob } = functionsOf(plain);
    const step = resourcesFor(plain, runDatasetJob, 's3:PutObject');
    const api = resourcesFor(plain, exports, 's3:PutObject');
    const writable = (resources: string[], key: string) => resources.some((r) => covers(plain, r, key));
    const tenant = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,19}$/);
    const name = fc.stringMatching(/^[a-z0-9_]{1,16}$/);

    fc.assert(
      fc.property(tenant, fc.stringMatching(/^[0-9A-Z]{26}$/), name, (tenantId, jobId, fileName) => {
        // Act
        const jobKeys = datasetJobKeys(tenantId, jobId);
        const jsonl = jsonlOutputKey(tenantId, `${fileName}.jsonl`);

        // Assess
        for (const key of [
          jobKeys.progress,
          jobKeys.result,
          privacyGateKey(tenantId, `s3://bucket/${tenantId}/batches/${jobId}/`),
          profileKey(tenantId, fileName),
          jsonl,
        ]) {
          expect(writable(step, key), key).toBe(true);
        }
        expect(writable(api, jsonl)).toBe(true);
        expect(writable(api, jobKeys.result)).toBe(false);
        // The tenant's images, results and uploads are read, never overwritten.
        for (const key of [
          `${tenantId}/batches/${jobId}/0001.png`,
          `${tenantId}/jobs/${jobId}/result.zip`,
          `${tenantId}/uploads/${fileName}.png`,
        ]) {
          expect(writable(step, key), key).toBe(false);
          expect(writable(api, key), key).toBe(false);
        }
      }),
    );
  });

  it('writes only to the export buckets the stage lists, from the exports API and RunDatasetJob only', () => {
    for (const [built, buckets] of [
      [plain, []],
      [bundled, ['user-exports']],
      [open, EXPORT_BUCKETS],
    ] as const) {
      for (const [name, fn] of Object.entries(functionsOf(built))) {
        // Act: every S3 resource outside the stack's own outputs bucket.
        const outside = statementsOf(built, fn)
          .filter((statement) => actionsOf(statement).some((action) => action.startsWith('s3:')))
          .flatMap((statement) => [statement.Resource].flat().map(flattenReference))
          .filter((resource) => !resource.startsWith(`<${built.idOf(built.stack.data.outputsBucket)}.Arn>`));

        // Assess
        const exporting = name === 'exports' || name === 'runDatasetJob';
        expect(outside.sort(), name).toEqual(exporting ? buckets.map(bucketObjects).sort() : []);
      }
    }
  });

  it('sends the public-read ACL only where the stage allows public_read, and only to its export buckets', () => {
    for (const built of [plain, bundled, open]) {
      // Act
      const acl = policyStatements(built.template).filter(({ statement }) =>
        actionsOf(statement).includes('s3:PutObjectAcl'),
      );

      // Assess
      const { exports, runDatasetJob } = functionsOf(built);
      const expected = built === open ? [exports, runDatasetJob] : [];
      expect(acl.flatMap(({ roles }) => roles).sort()).toEqual(
        expected.map((fn) => built.idOf(fn.executionRole)).sort(),
      );
      for (const { statement } of acl) {
        expect([statement.Resource].flat().map(flattenReference).sort()).toEqual(
          EXPORT_BUCKETS.map(bucketObjects).sort(),
        );
      }
    }
  });

  it('calls Rekognition and Comprehend only with detectors aws, from the functions that check privacy', () => {
    for (const built of [plain, open]) {
      for (const [name, fn] of Object.entries(functionsOf(built))) {
        // Act
        const detecting = statementsOf(built, fn).filter((statement) =>
          actionsOf(statement).some((action) => /^(rekognition|comprehend):/.test(action)),
        );

        // Assess: the three read-only calls, on "*" (AWS defines no resource for them).
        const checksPrivacy = name === 'validation' || name === 'runDatasetJob';
        expect(
          detecting.map((statement) => ({
            actions: actionsOf(statement).sort(),
            resource: statement.Resource,
          })),
          name,
        ).toEqual(checksPrivacy ? [{ actions: DETECTOR_ACTIONS, resource: '*' }] : []);
      }
    }
    // The bundled models: no function of the stack calls either service.
    const calls = policyStatements(bundled.template).flatMap(({ statement }) =>
      actionsOf(statement).filter((action) => /^(rekognition|comprehend):/.test(action)),
    );
    expect(calls).toEqual([]);
  });

  it('grants nothing else on Resource "*" besides X-Ray', () => {
    for (const built of [plain, bundled, open]) {
      for (const [name, fn] of Object.entries(functionsOf(built))) {
        // Act
        const starred = statementsOf(built, fn)
          .filter((statement) => [statement.Resource].flat().includes('*'))
          .flatMap(actionsOf)
          .filter((action) => !action.startsWith('xray:'));

        // Assess: the detectors' calls, where AWS's detectors check privacy.
        const detects = built !== bundled && (name === 'validation' || name === 'runDatasetJob');
        expect(starred.sort(), name).toEqual(detects ? DETECTOR_ACTIONS : []);
      }
    }
  });

  it('submits jobs from the API functions, as the other families’ APIs do; RunDatasetJob only moves them', () => {
    // Act
    const tableActions = (fn: SynthForgeFunction) =>
      [statementsOf(plain, fn).find((statement) => statement.Sid === 'StateTable')?.Action ?? []].flat();
    const { validation, profiles, exports, runDatasetJob } = functionsOf(plain);

    // Assess
    for (const fn of [validation, profiles, exports]) {
      expect(tableActions(fn), fn.node.id).toEqual(expect.arrayContaining([...JOB_SUBMISSION_ACTIONS]));
    }
    expect(tableActions(runDatasetJob)).not.toContain('dynamodb:PutItem');
    expect(tableActions(runDatasetJob)).not.toContain('dynamodb:DeleteItem');
    expect(tableActions(runDatasetJob)).toContain('dynamodb:UpdateItem');
  });
});

describe('the jobs function', () => {
  it('links a completed dataset job’s answer and a profile job’s profile, and reads no other dataset key', () => {
    // Prepare
    const jobs = plain.stack.routeHandlers.jobs;
    const readable = resourcesFor(plain, jobs, 's3:GetObject');
    const keys = datasetJobKeys('tenant-a', '01JABCDEFGHJKMNPQRSTVWXYZ0');

    // Act
    const reads = (key: string) => readable.some((resource) => covers(plain, resource, key));

    // Assess
    expect(readable).toEqual(
      expect.arrayContaining([
        outputsObjects(plain, '*/dataset-jobs/*/result.json'),
        outputsObjects(plain, '*/profiles/*'),
      ]),
    );
    expect(reads(keys.result)).toBe(true);
    expect(reads(profileKey('tenant-a', 'faces'))).toBe(true);
    expect(reads(keys.progress)).toBe(false);
    expect(reads(privacyGateKey('tenant-a', 's3://bucket/tenant-a/batches/b1/result'))).toBe(false);
    expect(reads(jsonlOutputKey('tenant-a', 'faces.jsonl'))).toBe(false);
    expect(resourcesFor(plain, jobs, 's3:PutObject')).toEqual([]);
    expect(settingsOf(plain, jobs).RESULT_URL_TTL_SECONDS).toBe('900');
    expect(functionOf(plain, jobs).Environment.Variables.OUTPUTS_BUCKET).toEqual({
      Ref: plain.idOf(plain.stack.data.outputsBucket),
    });
  });
});

describe('cdk-nag', () => {
  it('leaves no unacknowledged AwsSolutions finding, and each of the family’s own acknowledgements matches one', () => {
    for (const built of [plain, open]) {
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
      for (const ack of familyOf(built).nagAcknowledgements()) {
        const path = ack.scope.node.path;
        expect(
          before.some(({ rule, path: at }) => rule === ack.id && (at === path || at.startsWith(`${path}/`))),
          `${ack.id} on ${path}`,
        ).toBe(true);
        expect(ack.reason.length, ack.id).toBeGreaterThan(100);
      }
    }
  });
});
