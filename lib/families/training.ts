/**
 * Seed 002's family (contracts/families/training.ts): the training workflow, which runs each run as a
 * SageMaker training job (lib/constructs/training-workflow.ts), and the function behind the training
 * routes, which starts, shows, lists and cancels runs.
 */
import { Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { trainingFamily } from '../../contracts/families/training.ts';
import type { LambdaStateMachine } from '../constructs/lambda-state-machine.ts';
import { SynthForgeFunction } from '../constructs/synthforge-function.ts';
import { TrainingWorkflow } from '../constructs/training-workflow.ts';
import { accessPolicyOf, iam5Resource, type NagAcknowledgement } from '../nag.ts';
import {
  API_FUNCTION,
  type CancellableExecutions,
  type FamilyConstruct,
  type FamilyRegistration,
  keepLogicalId,
  type SharedInfrastructure,
} from './family.ts';
import { type ListCursors, PlatformFamily } from './platform.ts';

const NAG_REASONS = {
  stopTrainingExecutions:
    'Cancelling a training run stops its execution (which stops its SageMaker training job), whose name is the task id, known only at run time; the resource is limited to executions of the one training state machine.',
  trainingJobs:
    'Step Functions creates, waits on (describe, tags) and stops the training job of each run, named sf-<task id>-<attempt> at run time; the statement allows only those training actions, only on training jobs named sf-* in this account and region.',
  trainingInputs:
    "SageMaker reads a run's inputs under tenant-prefixed keys chosen at run time: the manifest <tenant>/training/<task>/manifest.json and the result archives <tenant>/jobs/<job>/result.zip it lists, or a dataset folder <tenant>/datasets/..., and the checkpoints <tenant>/training/runs/<name>/checkpoints/ it resumes; the statements allow only GetObject on keys of those shapes in the one outputs bucket.",
  trainingOutputs:
    "SageMaker writes a run's model under <tenant>/training/<task>/output/ (in a folder it names after the training job) and syncs its checkpoints to <tenant>/training/runs/<name>/checkpoints/, both chosen at run time; the statements allow only PutObject/AbortMultipartUpload there and DeleteObject on checkpoints only, in the one outputs bucket.",
  trainingRegistryAndMetrics:
    'ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource-level permissions, so AWS requires Resource "*"; the image is pulled from its one repository only, and metrics are limited by condition to the /aws/sagemaker/TrainingJobs namespace.',
  trainingLogs:
    "SageMaker writes each training job's logs to a stream it names after the job in the account's one /aws/sagemaker/TrainingJobs log group; the statement is limited to that log group and its streams.",
  trainingResults:
    "The training routes and the RecordTraining step read a run's live progress (<tenant>/training/runs/<name>/checkpoints/progress.json) and its model (<tenant>/training/<task>/output/...) under keys chosen at run time, and the API writes a run's manifest (<tenant>/training/<task>/manifest.json); each statement allows one action on keys of those shapes only, in the one outputs bucket.",
} as const;

export interface TrainingFamilyProps extends SharedInfrastructure {
  /** The platform's cursor secret: the training routes list runs. */
  readonly listCursors: ListCursors;
}

export class TrainingFamily extends Construct implements FamilyConstruct<typeof trainingFamily> {
  readonly manifest = trainingFamily;
  /** The training machine, its two steps, and what its training jobs need. */
  readonly workflow: TrainingWorkflow;
  readonly routeHandlers: { readonly training: SynthForgeFunction };
  readonly stateMachines: { readonly training: LambdaStateMachine };
  readonly cancellable: readonly CancellableExecutions[];

  constructor(scope: Construct, id: string, props: TrainingFamilyProps) {
    super(scope, id);
    const { config, defaults } = props;

    // 'Default' leaves no trace in logical ids: the workflow's resources keep the ids they had when it
    // was the stack's own `TrainingWorkflow` construct (its volume key and execution log group are
    // retained, the log group is named, its machine runs).
    this.workflow = new TrainingWorkflow(this, 'Default', {
      data: props.data,
      events: props.events,
      config: config.training,
      defaults,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    // Not `Training`: its role would be `TrainingRole`, the logical id of the workflow's SageMaker role.
    const training = new SynthForgeFunction(this, 'TrainingApi', {
      ...API_FUNCTION,
      defaults,
      entry: 'lambdas/handlers/api/training.ts',
      description: 'API: training runs (seed 002): start, status with live progress, list, cancel',
      environment: {
        ...this.workflow.submitterEnvironment({ resultUrlTtlSeconds: config.resultUrlTtlSeconds }),
        IDEMPOTENCY_TTL_SECONDS: String(config.idempotencyTtlSeconds),
        ...props.listCursors.environment,
      },
    });
    keepLogicalId(training.logGroup, 'ApiHandlersTrainingLogs6D589812');
    this.workflow.allowSubmit(training);
    training.allow({
      sid: 'StopTrainingExecutions',
      actions: ['states:StopExecution'],
      resources: [this.workflow.machine.executionArns],
    });
    props.listCursors.allow(training);

    this.routeHandlers = { training };
    this.stateMachines = { training: this.workflow.machine };
    this.cancellable = [
      { executionArns: this.workflow.machine.executionArns, reason: NAG_REASONS.stopTrainingExecutions },
    ];
  }

  /**
   * The machine's training jobs, the SageMaker role's inputs and outputs, and the functions that read
   * (and, for the API, write the manifest of) a run's objects.
   */
  nagAcknowledgements(): NagAcknowledgement[] {
    const stack = Stack.of(this);
    const { workflow } = this;
    const api = this.routeHandlers.training;
    const list: NagAcknowledgement[] = [
      {
        scope: accessPolicyOf(api),
        id: iam5Resource(stack, workflow.machine.executionArns),
        reason: NAG_REASONS.stopTrainingExecutions,
      },
      {
        scope: workflow.trainingJobsPolicy,
        id: iam5Resource(stack, workflow.trainingJobsArn),
        reason: NAG_REASONS.trainingJobs,
      },
    ];
    const trainingRole = workflow.trainingRolePolicy;
    for (const [objects, reason] of [
      [workflow.archiveObjectsArn, NAG_REASONS.trainingInputs],
      [workflow.manifestObjectsArn, NAG_REASONS.trainingInputs],
      [workflow.datasetObjectsArn, NAG_REASONS.trainingInputs],
      [workflow.checkpointObjectsArn, `${NAG_REASONS.trainingInputs} ${NAG_REASONS.trainingOutputs}`],
      [workflow.modelObjectsArn, NAG_REASONS.trainingOutputs],
    ] as const) {
      list.push({ scope: trainingRole, id: iam5Resource(stack, objects), reason });
    }
    list.push(
      {
        scope: trainingRole,
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: NAG_REASONS.trainingRegistryAndMetrics,
      },
      {
        scope: trainingRole,
        id: iam5Resource(stack, workflow.trainingLogStreamsArn),
        reason: NAG_REASONS.trainingLogs,
      },
    );
    const readers: [SynthForgeFunction, string[]][] = [
      [workflow.recordTraining, [workflow.progressObjectsArn, workflow.modelObjectsArn]],
      [api, [workflow.manifestObjectsArn, workflow.progressObjectsArn, workflow.modelObjectsArn]],
    ];
    for (const [fn, objects] of readers) {
      for (const resource of objects) {
        list.push({
          scope: accessPolicyOf(fn),
          id: iam5Resource(stack, resource),
          reason: NAG_REASONS.trainingResults,
        });
      }
    }
    return list;
  }
}

export const training: FamilyRegistration = {
  manifest: trainingFamily,
  // The construct the training workflow was created in before lib/families/.
  id: 'TrainingWorkflow',
  build: (scope, id, context) =>
    new TrainingFamily(scope, id, {
      ...context,
      listCursors: context.families.require(PlatformFamily, 'training').listCursors,
    }),
};
