/**
 * How a cdk-nag (AwsSolutions) acknowledgement is written, for lib/nag-acknowledgements.ts and for
 * each family's own (lib/families/): its shape, the finding id of a wildcard resource as cdk-nag
 * spells it, and the constructs acknowledgements sit on. cdk-nag 3 acknowledges one finding at a
 * time (`AwsSolutions-IAM5[Resource::<...>]`); the ids of findings on CloudFormation references are
 * computed here from the very values the constructs put in their policies.
 */
import type { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { SynthForgeFunction } from './constructs/synthforge-function.ts';

export interface NagAcknowledgement {
  /** The construct the acknowledgement is recorded on (it covers the construct and its children). */
  readonly scope: IConstruct;
  /** A rule id, or a rule id with one finding: `AwsSolutions-IAM5[Resource::*]`. */
  readonly id: string;
  readonly reason: string;
}

/** Why findings more than one owner acknowledges are accepted. */
export const SHARED_NAG_REASONS = {
  stopBatchExecutions:
    'Cancelling a batch stops its execution, whose name is only known at run time; the resource is limited to executions of the one state machine that runs it (generation or image batches).',
} as const;

/** The IAM5 finding id for a wildcard resource, as cdk-nag spells it. */
export function iam5Resource(stack: Stack, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenReference(stack.resolve(resource))}]`;
}

/**
 * Flattens a resolved CloudFormation value the way cdk-nag names findings: `Fn::GetAtt` →
 * `<Id.Attr>`, `Ref` → `<Id>`, `Fn::Join` joined, `${X}` → `<X>`.
 */
export function flattenReference(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof value === 'object' && value !== null) {
    const node = value as Record<string, unknown>;
    if (Array.isArray(node['Fn::Join'])) {
      const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
      return items.map(flattenReference).join(delimiter);
    }
    if (node['Fn::Sub'] !== undefined) return flattenReference(node['Fn::Sub']);
    if (Array.isArray(node['Fn::GetAtt'])) {
      const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
    }
    if (node['Fn::ImportValue'] !== undefined) return flattenReference(node['Fn::ImportValue']);
    if (node.Ref !== undefined) return `<${flattenReference(node.Ref)}>`;
  }
  return JSON.stringify(value);
}

export function childOf(scope: IConstruct, id: string): IConstruct {
  const child = scope.node.tryFindChild(id);
  if (!child) throw new Error(`${scope.node.path} has no child "${id}" to acknowledge a finding on`);
  return child;
}

export function defaultPolicyOf(fn: SynthForgeFunction): IConstruct {
  return childOf(fn.executionRole, 'DefaultPolicy');
}

export function accessPolicyOf(fn: SynthForgeFunction): IConstruct {
  if (!fn.accessPolicy) throw new Error(`${fn.node.path} has no access policy to acknowledge a finding on`);
  return fn.accessPolicy;
}
