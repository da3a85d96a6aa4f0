/**
 * An EMD model's inference component and the endpoint that hosts it, as SageMaker's control plane
 * describes them now: copies wanted and running, the instances under them, when a wake started.
 */
import {
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  DescribeInferenceComponentCommand,
  type DescribeInferenceComponentCommandOutput,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import type {
  ComponentState,
  ComponentStatusPort,
  DeployedSageMakerModel,
} from '../../domain/inference/ports.ts';

export class SageMakerComponentStatus implements ComponentStatusPort {
  constructor(private readonly client: SageMakerClient) {}

  async describe(deployment: DeployedSageMakerModel['deployment']): Promise<ComponentState | undefined> {
    const [component, endpoint] = await Promise.all([
      missingAsUndefined(
        this.client.send(
          new DescribeInferenceComponentCommand({ InferenceComponentName: deployment.componentName }),
        ),
      ),
      missingAsUndefined(
        this.client.send(new DescribeEndpointCommand({ EndpointName: deployment.endpointName })),
      ),
    ]);
    if (component === undefined || endpoint === undefined) return undefined;
    const instances = instancesOf(endpoint, component.VariantName);
    const failureReason = component.FailureReason ?? endpoint.FailureReason;
    return {
      ...(endpoint.EndpointStatus === undefined ? {} : { endpointStatus: endpoint.EndpointStatus }),
      ...(component.InferenceComponentStatus === undefined
        ? {}
        : { componentStatus: component.InferenceComponentStatus }),
      desiredCopies: component.RuntimeConfig?.DesiredCopyCount ?? 0,
      currentCopies: component.RuntimeConfig?.CurrentCopyCount ?? 0,
      ...(instances === undefined ? {} : { instances }),
      ...(component.LastModifiedTime === undefined ? {} : { lastModified: component.LastModifiedTime }),
      ...(failureReason === undefined ? {} : { failureReason }),
    };
  }
}

/**
 * The instances of the component's variant: how many run, and the bounds managed instance scaling
 * keeps them in (an endpoint without it stays at its desired count).
 */
function instancesOf(
  endpoint: DescribeEndpointCommandOutput,
  variantName: string | undefined,
): ComponentState['instances'] {
  const variants = endpoint.ProductionVariants ?? [];
  const variant = variants.find((candidate) => candidate.VariantName === variantName) ?? variants[0];
  if (variant === undefined) return undefined;
  const current = variant.CurrentInstanceCount ?? 0;
  const fixed = variant.DesiredInstanceCount ?? current;
  return {
    current,
    min: variant.ManagedInstanceScaling?.MinInstanceCount ?? fixed,
    max: variant.ManagedInstanceScaling?.MaxInstanceCount ?? fixed,
  };
}

/** SageMaker says an endpoint or a component does not exist with a ValidationException "Could not find …". */
async function missingAsUndefined<
  T extends DescribeEndpointCommandOutput | DescribeInferenceComponentCommandOutput,
>(described: Promise<T>): Promise<T | undefined> {
  try {
    return await described;
  } catch (error) {
    const failure = error as { name?: string; message?: string };
    if (failure.name === 'ValidationException' && /could not find/i.test(failure.message ?? '')) {
      return undefined;
    }
    throw error;
  }
}
