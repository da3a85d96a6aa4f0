/**
 * Where each EMD model stands now (`GET /api/emd/status`): its endpoint and inference component as
 * SageMaker describes them, reduced to one state a caller can act on: ready (answers now), warming
 * (answers at `estimated_ready_at`), scaled to zero (the next call wakes it), failed, not deployed.
 */
import type { EmdModelStatus } from '../../../contracts/inference.ts';
import { LOCAL_VISION_MODEL } from '../../../contracts/inference-models.ts';
import { withoutAwsIdentifiers } from '../errors.ts';
import type { Clock } from '../ports.ts';
import { estimatedReadyAt } from './calls.ts';
import type { ComponentState, ComponentStatusPort, SageMakerRuntimeModel } from './ports.ts';

/** Component states in which its copies answer (an update keeps serving on the old copies). */
const SERVING = new Set(['InService', 'Updating']);

export async function emdModelStatus(
  model: SageMakerRuntimeModel,
  deps: {
    components: ComponentStatusPort;
    clock: Clock;
    log: (message: string, details: Record<string, unknown>) => void;
  },
): Promise<EmdModelStatus> {
  const base = {
    model_key: model.key,
    model_id: model.modelId,
    ...(model.emulated ? { answered_by: LOCAL_VISION_MODEL } : {}),
  };
  const deployment = model.deployment;
  if (deployment === undefined) {
    return {
      ...base,
      deployed: false,
      state: 'not_deployed',
      message:
        "not deployed in this stage: add it to the stage's inference models and deploy (see the README)",
    };
  }
  const deployed = {
    ...base,
    deployed: true,
    endpoint_name: deployment.endpointName,
    component_name: deployment.componentName,
    instance_type: deployment.instanceType,
  };
  let state: ComponentState | undefined;
  try {
    state = await deps.components.describe(deployment);
  } catch (error) {
    // The raw error goes to the log only: SageMaker's AccessDeniedException names the role and account.
    deps.log('could not describe an inference component', { model_key: model.key, error: String(error) });
    return {
      ...deployed,
      state: 'unknown',
      message: `its state could not be read: ${withoutAwsIdentifiers(String(error))}`,
    };
  }
  if (state === undefined) {
    return {
      ...deployed,
      state: 'not_deployed',
      message: `endpoint ${deployment.endpointName} or component ${deployment.componentName} does not exist (yet)`,
    };
  }
  const now = deps.clock.now();
  const described = {
    ...deployed,
    ...(state.endpointStatus ? { endpoint_status: state.endpointStatus } : {}),
    ...(state.componentStatus ? { component_status: state.componentStatus } : {}),
    copies: { desired: state.desiredCopies, current: state.currentCopies },
    ...(state.instances ? { instances: state.instances } : {}),
  };
  if (state.componentStatus === 'Failed' || state.endpointStatus === 'Failed') {
    if (state.failureReason) {
      deps.log('an inference component failed', { model_key: model.key, reason: state.failureReason });
    }
    return {
      ...described,
      state: 'failed',
      message: state.failureReason
        ? withoutAwsIdentifiers(state.failureReason)
        : 'the endpoint or component failed',
    };
  }
  if (state.currentCopies >= 1 && SERVING.has(state.componentStatus ?? '')) {
    return { ...described, state: 'ready' };
  }
  if (state.desiredCopies > state.currentCopies) {
    const readyAt = estimatedReadyAt(now, deployment.wakeSeconds, state);
    return { ...described, state: 'warming', estimated_ready_at: readyAt.toISOString() };
  }
  if (state.desiredCopies === 0 && state.currentCopies === 0) {
    return {
      ...described,
      state: 'scaled_to_zero',
      message: 'the next call wakes it (503 until it answers)',
    };
  }
  return {
    ...described,
    state: 'unknown',
    message: `component ${state.componentStatus ?? 'without a status'} with ${state.currentCopies} copies`,
  };
}
