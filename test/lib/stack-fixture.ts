/**
 * Builds the SynthForge stack the way the infrastructure tests need it: no asset bundling and no
 * built-in CloudFormation validation (both slow, neither what these tests check), a fixed account
 * and region, and a stage config from defaults plus overrides.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseStageConfig, type StageConfig, type StageConfigInput } from '../../lib/config.ts';
import { SynthForgeStack } from '../../lib/synthforge-stack.ts';

export const TEST_ENV = { account: '123456789012', region: 'eu-west-1' } as const;

export interface TestStack {
  app: App;
  stack: SynthForgeStack;
  config: StageConfig;
  template: Template;
  /** The logical id CloudFormation gives a construct's default resource. */
  idOf(construct: { node: { defaultChild?: unknown } }): string;
}

export function testApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
}

export function buildTestStack(overrides: Partial<StageConfigInput> = {}): TestStack {
  const app = testApp();
  const config = parseStageConfig({ stage: 'test', ...overrides });
  const stack = new SynthForgeStack(app, 'SynthForge-test', { config, env: TEST_ENV });
  return {
    app,
    stack,
    config,
    template: Template.fromStack(stack),
    idOf: (construct) => stack.getLogicalId(construct.node.defaultChild as never),
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
