/**
 * What the host's real-time routes (realtime-protocol.ts) do: find the endpoint or the inference
 * component a request names among the host's real-time endpoints, and answer as SageMaker does when
 * there is none. The endpoints themselves run the calls (realtime-endpoints.ts) and
 * realtime-descriptions.ts shapes what the Describe and List operations report.
 */
import type { InferenceComponent } from './inference-components.ts';
import {
  componentArn,
  describeInferenceComponent,
  listInferenceComponents,
} from './realtime-descriptions.ts';
import type { RealtimeEndpoint, RealtimeHost } from './realtime-endpoints.ts';
import type { RealtimeInvocation, RealtimeOperations } from './realtime-protocol.ts';
import { AwsError } from './wire-protocol.ts';

/** The host's real-time endpoints by name, and how it tells an asynchronous endpoint's name. */
export interface RealtimeRegistry {
  readonly endpoints: ReadonlyMap<string, RealtimeEndpoint>;
  isAsyncEndpoint(name: string): boolean;
  /** The host's state, account and region (its `stopping` refuses every request). */
  readonly host: RealtimeHost;
}

/** The component named `name` in any of the endpoints, with its endpoint; undefined when none has it. */
export function findComponent(
  endpoints: Iterable<RealtimeEndpoint>,
  name: string,
): { endpoint: RealtimeEndpoint; component: InferenceComponent } | undefined {
  for (const endpoint of endpoints) {
    const component = endpoint.component(name);
    if (component) return { endpoint, component };
  }
  return undefined;
}

export function realtimeOperations(registry: RealtimeRegistry): RealtimeOperations {
  const { endpoints, host } = registry;
  const invoked = (invocation: RealtimeInvocation) => {
    // As the calls the stop cuts off are answered (realtime-endpoints.ts): the endpoint exists still.
    if (host.stopping) throw new AwsError(503, 'ServiceUnavailable', 'The endpoint host is stopping.');
    const endpoint = endpoints.get(invocation.endpointName);
    if (endpoint) return endpoint;
    const name = invocation.endpointName;
    throw new AwsError(
      400,
      'ValidationError',
      registry.isAsyncEndpoint(name)
        ? `Endpoint ${name} is an asynchronous endpoint here: invoke it with InvokeEndpointAsync.`
        : `Endpoint ${name} of account ${host.accountId} not found.`,
    );
  };
  const component = (name: string) => {
    const found = findComponent(endpoints.values(), name);
    if (found) return found;
    const arn = componentArn(host, name);
    throw new AwsError(400, 'ValidationException', `Could not find inference component "${arn}".`, 'json');
  };
  return {
    invokeEndpoint: (invocation) => invoked(invocation).invoke(invocation),
    invokeEndpointWithResponseStream: (invocation) => invoked(invocation).invokeStream(invocation),
    describeInferenceComponent: (name) => {
      const found = component(name);
      return describeInferenceComponent(found.endpoint, found.component, host);
    },
    listInferenceComponents: (input) => listInferenceComponents(endpoints.values(), input, host),
    updateInferenceComponentRuntimeConfig: (name, copyCount) => {
      const found = component(name);
      const max = found.component.config.maxCopies;
      if (copyCount > max) {
        throw new AwsError(
          400,
          'ValidationException',
          `CopyCount ${copyCount} is above the ${max} copies inference component ${name} may scale to here.`,
          'json',
        );
      }
      found.component.setDesired(copyCount);
      return { InferenceComponentArn: componentArn(host, name) };
    },
  };
}
