/**
 * What DescribeEndpoint, DescribeInferenceComponent and ListInferenceComponents report of the local
 * real-time endpoints and their inference components, in the SDK's shapes (awsJson1_1: timestamps
 * as epoch seconds). The endpoint is InService throughout: only its components and instances move.
 */
import type { InferenceComponent } from './inference-components.ts';
import type { RealtimeEndpoint } from './realtime-endpoints.ts';
import type { ListInferenceComponentsInput } from './realtime-protocol.ts';
import { AwsError, optional } from './wire-protocol.ts';

/** The account and region ARNs name. */
export interface ArnScope {
  region: string;
  accountId: string;
}

export function endpointArn(scope: ArnScope, name: string): string {
  return `arn:aws:sagemaker:${scope.region}:${scope.accountId}:endpoint/${name.toLowerCase()}`;
}

export function componentArn(scope: ArnScope, name: string): string {
  return `arn:aws:sagemaker:${scope.region}:${scope.accountId}:inference-component/${name.toLowerCase()}`;
}

/**
 * DescribeEndpoint's answer. Copies count as instances, one each up to MaxInstanceCount: the host
 * places no copies on instances.
 */
export function describeRealtimeEndpoint(
  endpoint: RealtimeEndpoint,
  scope: ArnScope,
): Record<string, unknown> {
  const { config } = endpoint;
  const components = [...endpoint.components.values()];
  const instances = (count: (component: InferenceComponent) => number) =>
    Math.min(
      components.reduce((total, component) => total + count(component), 0),
      config.maxInstances,
    );
  const seconds = endpoint.createdAt / 1000;
  return {
    EndpointName: config.name,
    EndpointArn: endpointArn(scope, config.name),
    EndpointConfigName: config.name,
    ProductionVariants: [
      {
        VariantName: config.variantName,
        CurrentWeight: 1,
        DesiredWeight: 1,
        CurrentInstanceCount: instances((component) => component.currentCopyCount),
        DesiredInstanceCount: instances((component) => component.desiredCopyCount),
        ManagedInstanceScaling: {
          Status: 'ENABLED',
          MinInstanceCount: config.minInstances,
          MaxInstanceCount: config.maxInstances,
        },
        RoutingConfig: { RoutingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
      },
    ],
    EndpointStatus: 'InService',
    CreationTime: seconds,
    LastModifiedTime: seconds,
  };
}

/** DescribeInferenceComponent's answer. */
export function describeInferenceComponent(
  endpoint: RealtimeEndpoint,
  component: InferenceComponent,
  scope: ArnScope,
): Record<string, unknown> {
  return {
    ...summarize(endpoint, component, scope),
    ...optional('FailureReason', component.failureReason),
    Specification: component.config.specification,
    RuntimeConfig: {
      DesiredCopyCount: component.desiredCopyCount,
      CurrentCopyCount: component.currentCopyCount,
    },
  };
}

/** ListInferenceComponents' answer over every real-time endpoint; NextToken is an offset. */
export function listInferenceComponents(
  endpoints: Iterable<RealtimeEndpoint>,
  input: ListInferenceComponentsInput,
  scope: ArnScope,
): Record<string, unknown> {
  const entries = [...endpoints]
    .flatMap((endpoint) => [...endpoint.components.values()].map((component) => ({ endpoint, component })))
    .filter(
      ({ endpoint, component }) =>
        (input.endpointNameEquals === undefined || endpoint.config.name === input.endpointNameEquals) &&
        (input.variantNameEquals === undefined || endpoint.config.variantName === input.variantNameEquals) &&
        (input.statusEquals === undefined || component.status() === input.statusEquals) &&
        (input.nameContains === undefined || component.name.includes(input.nameContains)),
    );
  const key = ({ component }: (typeof entries)[number]): string | number =>
    input.sortBy === 'Name'
      ? component.name
      : input.sortBy === 'Status'
        ? component.status()
        : component.createdAt;
  // A stable sort: components created in the same millisecond keep their registration order.
  entries.sort((a, b) => {
    const order = key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
    return input.sortOrder === 'Ascending' ? order : -order;
  });
  const start = input.nextToken === undefined ? 0 : Number(input.nextToken);
  if (!Number.isInteger(start) || start < 0 || start > entries.length) {
    throw new AwsError(400, 'ValidationException', 'The NextToken is not valid.', 'json');
  }
  const page = entries.slice(start, start + input.maxResults);
  const next = start + page.length;
  return {
    InferenceComponents: page.map(({ endpoint, component }) => summarize(endpoint, component, scope)),
    ...(next < entries.length ? { NextToken: String(next) } : {}),
  };
}

/** ListInferenceComponents' entry, and the head of DescribeInferenceComponent's answer. */
function summarize(
  endpoint: RealtimeEndpoint,
  component: InferenceComponent,
  scope: ArnScope,
): Record<string, unknown> {
  return {
    InferenceComponentName: component.name,
    InferenceComponentArn: componentArn(scope, component.name),
    EndpointName: endpoint.config.name,
    EndpointArn: endpointArn(scope, endpoint.config.name),
    VariantName: endpoint.config.variantName,
    InferenceComponentStatus: component.status(),
    CreationTime: component.createdAt / 1000,
    LastModifiedTime: component.lastModifiedAt / 1000,
  };
}
