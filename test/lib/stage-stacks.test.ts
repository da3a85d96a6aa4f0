/**
 * The first `cdk deploy` into a fresh account: what would most likely break it, asserted on the
 * templates the stage's two stacks synthesize. Each test fails on the template the
 * single-stack platform used to synthesize.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { DockerImageAsset } from 'aws-cdk-lib/aws-ecr-assets';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { acknowledgeNagFindings } from '../../lib/nag-acknowledgements.ts';
import {
  buildTestStack,
  type CfnJson,
  type CfnResources,
  resourcesOfType,
  type TestStack,
} from './stack-fixture.ts';

/** Resources that spend the account's SageMaker instance quotas, or act on what does. */
const QUOTA_RESOURCES = [
  'AWS::SageMaker::Model',
  'AWS::SageMaker::EndpointConfig',
  'AWS::SageMaker::Endpoint',
  'AWS::ApplicationAutoScaling::ScalableTarget',
  'AWS::ApplicationAutoScaling::ScalingPolicy',
];

const resourcesOf = (template: TestStack['template']): CfnResources =>
  (template.toJSON().Resources ?? {}) as CfnResources;

let retained: TestStack;
let destroyed: TestStack;

beforeAll(() => {
  retained = buildTestStack({ removalPolicy: 'retain' });
  destroyed = buildTestStack({ removalPolicy: 'destroy' });
});

describe('a GPU quota of 0 cannot roll back the platform', () => {
  it('puts every endpoint, its configuration, model and scaling in SynthForge-<stage>-Models, and none in the platform', () => {
    // Assess
    expect(retained.models.stackName).toBe('SynthForge-test-Models');
    for (const type of QUOTA_RESOURCES) {
      expect(Object.keys(resourcesOfType(retained.template, type)), type).toEqual([]);
      expect(Object.keys(resourcesOfType(retained.modelsTemplate, type)).length, type).toBeGreaterThan(0);
    }
  });

  it('makes the Models stack depend on the platform and never the reverse, so the platform deploys first and alone', () => {
    // Assess
    expect(retained.models.dependencies).toEqual([retained.stack]);
    expect(retained.stack.dependencies).toEqual([]);
    expect(JSON.stringify(retained.template.toJSON())).not.toContain(retained.models.stackName);
  });

  it('keeps IAM in the platform: the Models stack holds no role or policy a rollback could strand', () => {
    // Assess
    const types = new Set(
      Object.values(resourcesOf(retained.modelsTemplate)).map((resource) => resource.Type),
    );
    expect([...types].filter((type) => type.startsWith('AWS::IAM::'))).toEqual([]);
    // The role, its policy and log group of each model stay with the platform.
    for (const endpoint of retained.families.images.endpoints.endpoints) {
      expect(Stack.of(endpoint.executionRole)).toBe(retained.stack);
      expect(Stack.of(endpoint.endpoint)).toBe(retained.models);
    }
  });

  it('reads the platform’s values by Fn::GetStackOutput, so removing a model later is one deploy', () => {
    // Assess: no export the platform could not drop while the Models stack still imports it.
    expect(JSON.stringify(retained.modelsTemplate.toJSON())).not.toContain('Fn::ImportValue');
    expect(JSON.stringify(retained.modelsTemplate.toJSON())).toContain('Fn::GetStackOutput');
  });

  it('leaves the Models stack empty for a stage without models (cdk deploy skips it)', () => {
    // Act
    const none = buildTestStack({ imageGeneration: { models: [] } });

    // Assess
    expect(none.modelsTemplate.toJSON().Resources ?? {}).toEqual({});
    for (const type of QUOTA_RESOURCES) expect(resourcesOfType(none.template, type)).toEqual({});
  });
});

describe('cdk deploy needs no Docker', () => {
  it('synthesizes no Docker image asset: no image asset construct, no ECR repository, no image in any asset manifest', () => {
    // Act
    const assembly = retained.app.synth();

    // Assess
    const images = [retained.stack, retained.models].flatMap((stack) =>
      stack.node.findAll().filter((construct) => construct instanceof DockerImageAsset),
    );
    expect(images).toEqual([]);
    expect(resourcesOfType(retained.template, 'AWS::ECR::Repository')).toEqual({});
    const manifests = assembly.artifacts.filter(
      (artifact) => artifact.constructor.name === 'AssetManifestArtifact',
    );
    expect(manifests.length).toBeGreaterThanOrEqual(2);
    for (const manifest of manifests) {
      const contents = JSON.parse(readFileSync((manifest as unknown as { file: string }).file, 'utf8')) as {
        dockerImages?: Record<string, unknown>;
      };
      expect(contents.dockerImages ?? {}).toEqual({});
    }
  });

  it('runs the trainer on AWS’s PyTorch training image, its source a tar.gz file asset (script mode)', () => {
    // Prepare
    const { training } = retained.families;
    const machine = resourcesOfType(retained.template, 'AWS::StepFunctions::StateMachine')[
      retained.idOf(training.workflow.stateMachine)
    ]?.Properties as CfnJson;

    // Assess
    expect(JSON.stringify(machine.DefinitionSubstitutions.TrainerImageUri)).toContain(
      '763104351884.dkr.ecr.eu-west-1.',
    );
    const key = training.workflow.trainerSource.asset.s3ObjectKey;
    expect(key).toMatch(/^[0-9a-f]{64}\.gz$/);
    // Uploaded as the file it is (CDK would zip a folder, which script mode cannot unpack).
    const manifest = retained.app
      .synth()
      .artifacts.find((artifact) => artifact.id === `${retained.stack.artifactId}.assets`) as unknown as {
      file: string;
    };
    const files = JSON.parse(readFileSync(manifest.file, 'utf8')).files as Record<
      string,
      { source: { packaging?: string }; destinations: Record<string, { objectKey: string }> }
    >;
    const entry = Object.values(files).find((file) =>
      Object.values(file.destinations).some((destination) => destination.objectKey === key),
    );
    expect(entry?.source.packaging).toBe('file');
  });
});

describe('a failed first create can be retried', () => {
  /** Resources the platform keeps whatever happens, each for its reason (see the comments). */
  const KEPT: Record<string, string> = {
    // Deletion-protected (DynamoDB refuses to delete them), generated names: they cannot collide.
    'AWS::DynamoDB::Table': 'Retain',
    // API Gateway's account-level CloudWatch role and setting: other APIs of the account use them.
    'AWS::IAM::Role': 'Retain',
    'AWS::ApiGateway::Account': 'Retain',
  };

  it('retains nothing a rolled-back create would leave behind, except the protected tables, their key and the account setting', () => {
    // Prepare
    const resources = Object.entries(resourcesOf(retained.template));
    const tableKey = retained.idOf(retained.stack.data.tableKey);

    // Assess
    for (const [id, resource] of resources) {
      if (resource.DeletionPolicy === undefined || resource.DeletionPolicy === 'Delete') continue;
      const expected = id === tableKey ? 'Retain' : (KEPT[resource.Type] ?? 'RetainExceptOnCreate');
      expect(`${resource.Type} ${id} ${resource.DeletionPolicy}`).toBe(`${resource.Type} ${id} ${expected}`);
    }
    expect(resources.filter(([, r]) => r.DeletionPolicy === 'RetainExceptOnCreate').length).toBeGreaterThan(
      20,
    );
  });

  it('gives every log group with a fixed name RetainExceptOnCreate, so the retry does not find it “already exists”', () => {
    // Prepare
    const named = [retained.template, retained.modelsTemplate].flatMap((template) =>
      Object.values(resourcesOfType(template, 'AWS::Logs::LogGroup')).filter(
        (group) => group.Properties.LogGroupName !== undefined,
      ),
    );

    // Assess: the state machines', the API execution logs', each model endpoint's.
    expect(named.length).toBeGreaterThanOrEqual(5);
    for (const group of named) {
      expect(group.DeletionPolicy, JSON.stringify(group.Properties.LogGroupName)).toBe(
        'RetainExceptOnCreate',
      );
      expect(group.UpdateReplacePolicy).toBe('Retain');
    }
  });

  it('keeps the tables deletion-protected while the stage retains them', () => {
    const tables = Object.values(resourcesOfType(retained.template, 'AWS::DynamoDB::Table'));
    expect(tables.length).toBeGreaterThan(0);
    for (const table of tables) {
      expect(table.Properties.DeletionProtectionEnabled).toBe(true);
      expect(table.DeletionPolicy).toBe('Retain');
    }
  });
});

describe('properties CloudFormation may refuse', () => {
  it('leaves IdentitySource out of the REST authorizer instead of an empty string', () => {
    const authorizers = Object.values(resourcesOfType(retained.template, 'AWS::ApiGateway::Authorizer'));
    expect(authorizers).toHaveLength(1);
    expect(authorizers[0]?.Properties.Type).toBe('REQUEST');
    expect(authorizers[0]?.Properties).not.toHaveProperty('IdentitySource');
    // Without identity sources API Gateway may not cache: the authorizer runs on every request.
    expect(authorizers[0]?.Properties.AuthorizerResultTtlInSeconds).toBe(0);
  });

  it('leaves KmsKeyIdentifier out of the event archive instead of an empty string', () => {
    const archives = Object.values(resourcesOfType(retained.template, 'AWS::Events::Archive'));
    expect(archives).toHaveLength(1);
    expect(archives[0]?.Properties).not.toHaveProperty('KmsKeyIdentifier');
  });

  it('has no empty string anywhere in either template’s resource properties', () => {
    // Prepare
    const empties: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (node === '') empties.push(path);
      else if (Array.isArray(node)) {
        for (const [index, child] of node.entries()) walk(child, `${path}[${index}]`);
      } else if (typeof node === 'object' && node !== null) {
        for (const [key, child] of Object.entries(node)) {
          // Fn::Join's delimiter is the one place an empty string belongs.
          if (key === 'Fn::Join') walk((child as unknown[])[1], `${path}.${key}`);
          else walk(child, `${path}.${key}`);
        }
      }
    };

    // Act
    for (const template of [retained.template, retained.modelsTemplate]) {
      for (const [id, resource] of Object.entries(resourcesOf(template))) walk(resource.Properties, id);
    }

    // Assess
    expect(empties).toEqual([]);
  });
});

describe('a throw-away stage can be deleted', () => {
  it('empties every bucket before CloudFormation deletes it, versions included', () => {
    // Prepare
    const buckets = resourcesOfType(destroyed.template, 'AWS::S3::Bucket');
    const autoDeletes = Object.values(resourcesOfType(destroyed.template, 'Custom::S3AutoDeleteObjects'));

    // Assess
    expect(Object.keys(buckets)).toHaveLength(2);
    expect(autoDeletes.map((resource) => JSON.stringify(resource.Properties.BucketName)).sort()).toEqual(
      Object.keys(buckets)
        .map((id) => JSON.stringify({ Ref: id }))
        .sort(),
    );
    for (const bucket of Object.values(buckets)) expect(bucket.DeletionPolicy).toBe('Delete');
    // A retained stage keeps its objects: nothing empties its buckets.
    expect(resourcesOfType(retained.template, 'Custom::S3AutoDeleteObjects')).toEqual({});
  });

  it('deletes the tables and lifts their deletion protection', () => {
    const tables = Object.values(resourcesOfType(destroyed.template, 'AWS::DynamoDB::Table'));
    expect(tables.length).toBeGreaterThan(0);
    for (const table of tables) {
      expect(table.DeletionPolicy).toBe('Delete');
      expect(table.Properties.DeletionProtectionEnabled).toBe(false);
    }
  });

  it('stays free of unacknowledged cdk-nag findings with the bucket-emptying function', () => {
    // Act
    acknowledgeNagFindings(destroyed.stack);
    const findings = [destroyed.stack, destroyed.models].flatMap((stack) =>
      new AwsSolutionsChecks().validateScope(stack).violations.map((violation) => violation.ruleName),
    );

    // Assess
    expect(findings).toEqual([]);
  });
});

describe('bin/app.ts', () => {
  it('builds the stage’s stacks with lib/stage-stacks.ts, as the tests do', () => {
    const app = readFileSync(join(import.meta.dirname, '..', '..', 'bin', 'app.ts'), 'utf8');
    expect(app).toMatch(/stageStacks\(/);
    expect(app).not.toMatch(/new SynthForgeStack\(/);
  });
});
