/**
 * Builds the SynthForge stack the way the infrastructure tests need it: no asset bundling and no
 * built-in CloudFormation validation (both slow, neither what these tests check), a fixed account
 * and region, and a stage config from defaults plus overrides.
 */
import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseStageConfig, type StageConfig, type StageConfigInput } from '../../lib/config.ts';
import { GenerationFamily } from '../../lib/families/generation.ts';
import { ImagesFamily } from '../../lib/families/images.ts';
import { PlatformFamily } from '../../lib/families/platform.ts';
import { TrainingFamily } from '../../lib/families/training.ts';
import { stageStacks } from '../../lib/stage-stacks.ts';
import type { SynthForgeStack } from '../../lib/synthforge-stack.ts';

export const TEST_ENV = { account: '123456789012', region: 'eu-west-1' } as const;

export interface TestStack {
  app: App;
  /** The platform stack, `SynthForge-test`. */
  stack: SynthForgeStack;
  /** The model endpoints' stack, `SynthForge-test-Models` (lib/stage-stacks.ts). */
  models: Stack;
  config: StageConfig;
  /** Each family's construct (lib/families/), by name. */
  families: {
    platform: PlatformFamily;
    generation: GenerationFamily;
    images: ImagesFamily;
    training: TrainingFamily;
  };
  template: Template;
  /** The Models stack's template. */
  modelsTemplate: Template;
  /** The logical id CloudFormation gives a construct's default resource. */
  idOf(construct: { node: { defaultChild?: unknown } }): string;
}

export function testApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
}

/** The stage's stacks as bin/app.ts builds them (lib/stage-stacks.ts), for stage `test`. */
export function buildTestStack(overrides: Partial<StageConfigInput> = {}): TestStack {
  const app = testApp();
  const config = parseStageConfig({ stage: 'test', ...overrides });
  const { platform: stack, models } = stageStacks(app, config, TEST_ENV);
  let modelsTemplate: Template | undefined;
  return {
    app,
    stack,
    models,
    config,
    families: {
      platform: stack.families.require(PlatformFamily, 'the tests'),
      generation: stack.families.require(GenerationFamily, 'the tests'),
      images: stack.families.require(ImagesFamily, 'the tests'),
      training: stack.families.require(TrainingFamily, 'the tests'),
    },
    template: Template.fromStack(stack),
    // Built on first use: most tests never look at it.
    get modelsTemplate() {
      modelsTemplate ??= Template.fromStack(models);
      return modelsTemplate;
    },
    // The element's own logical id, which honours an override (lib/families/family.ts keepLogicalId).
    idOf: (construct) => stack.resolve((construct.node.defaultChild as CfnElement).logicalId),
  };
}

/** Synthesized CloudFormation JSON: the tests walk it freely and assert on what they find. */
// biome-ignore lint/suspicious/noExplicitAny: template JSON has no static shape worth declaring here.
export type CfnJson = any;

export interface CfnResource {
  Type: string;
  Properties: CfnJson;
  DeletionPolicy?: string;
  [key: string]: unknown;
}

export type CfnResources = Record<string, CfnResource>;

/** The resources of one type, by logical id. */
export function resourcesOfType(template: Template, type: string): CfnResources {
  return template.findResources(type) as CfnResources;
}

/** `{ Ref: id }` or `{ 'Fn::GetAtt': [id, attr] }` → id. */
export function referencedId(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const node = value as Record<string, unknown>;
  if (typeof node.Ref === 'string') return node.Ref;
  if (Array.isArray(node['Fn::GetAtt'])) return node['Fn::GetAtt'][0] as string;
  return undefined;
}

/** One statement of an IAM policy document. */
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/**
 * Every statement of the template's identity policies (AWS::IAM::Policy), with the logical ids of
 * the roles its policy is attached to.
 */
export function policyStatements(template: Template): { roles: string[]; statement: Statement }[] {
  return Object.values(resourcesOfType(template, 'AWS::IAM::Policy')).flatMap((policy) => {
    const roles = (policy.Properties.Roles as unknown[])
      .map(referencedId)
      .filter((id): id is string => id !== undefined);
    return (policy.Properties.PolicyDocument.Statement as Statement[]).map((statement) => ({
      roles,
      statement,
    }));
  });
}

/** The statements of every identity policy attached to the role with logical id `roleId`. */
export function statementsOfRole(template: Template, roleId: string): Statement[] {
  return policyStatements(template)
    .filter(({ roles }) => roles.includes(roleId))
    .map(({ statement }) => statement);
}

/**
 * `value` with every `Fn::GetStackOutput` of the platform stack (how the Models stack reads the
 * platform's values, lib/stage-stacks.ts) replaced by the value of that output: what the Models
 * stack's resources get once deployed, in the platform template's terms.
 */
export function throughOutputs(built: Pick<TestStack, 'template' | 'stack'>, value: CfnJson): CfnJson {
  const outputs = (built.template.toJSON().Outputs ?? {}) as Record<string, { Value: CfnJson }>;
  const walk = (node: CfnJson): CfnJson => {
    if (Array.isArray(node)) return node.map(walk);
    if (typeof node !== 'object' || node === null) return node;
    const reference = node['Fn::GetStackOutput'];
    if (reference && reference.StackName === built.stack.stackName) {
      const output = outputs[reference.OutputName];
      if (!output) throw new Error(`the platform stack has no output ${reference.OutputName}`);
      return output.Value;
    }
    return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, walk(child)]));
  };
  return walk(value);
}
