/**
 * Seed 000's family (contracts/families/generation.ts): the generator catalogue and the batches
 * routes, and the batch workflow (lib/constructs/workflows.ts) that runs a batch of procedural
 * generation jobs. Its batch steps (start, fail a job, finish) are shared with the image machine.
 */
import { Construct } from 'constructs';
import { generationFamily } from '../../contracts/families/generation.ts';
import { JOB_SUBMISSION_ACTIONS } from '../constructs/data.ts';
import type { LambdaStateMachine } from '../constructs/lambda-state-machine.ts';
import { SynthForgeFunction } from '../constructs/synthforge-function.ts';
import { Workflows } from '../constructs/workflows.ts';
import { type NagAcknowledgement, SHARED_NAG_REASONS } from '../nag.ts';
import {
  API_FUNCTION,
  type CancellableExecutions,
  type FamilyConstruct,
  type FamilyRegistration,
  keepLogicalId,
  type SharedInfrastructure,
} from './family.ts';
import { type ListCursors, PlatformFamily } from './platform.ts';

export interface GenerationFamilyProps extends SharedInfrastructure {
  /** The platform's cursor secret: the batches routes list batches. */
  readonly listCursors: ListCursors;
}

export class GenerationFamily extends Construct implements FamilyConstruct<typeof generationFamily> {
  readonly manifest = generationFamily;
  /** The batch machine and its four task functions. */
  readonly workflow: Workflows;
  readonly routeHandlers: { readonly generators: SynthForgeFunction; readonly batches: SynthForgeFunction };
  readonly stateMachines: { readonly generationBatch: LambdaStateMachine };
  readonly cancellable: readonly CancellableExecutions[];

  constructor(scope: Construct, id: string, props: GenerationFamilyProps) {
    super(scope, id);
    const { config, data, events, defaults } = props;

    // 'Default' leaves no trace in logical ids: the workflow's resources keep the ids they had when it
    // was the stack's own `Workflows` construct (its execution log group is named, its machine runs).
    this.workflow = new Workflows(this, 'Default', {
      data,
      events,
      defaults,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    const generators = new SynthForgeFunction(this, 'Generators', {
      ...API_FUNCTION,
      defaults,
      entry: 'lambdas/handlers/api/generators.ts',
      description: 'API: generator catalogue, parameter validation and random parameters',
    });
    keepLogicalId(generators.logGroup, 'ApiHandlersGeneratorsLogs5251D1BE');

    const batches = new SynthForgeFunction(this, 'Batches', {
      ...API_FUNCTION,
      defaults,
      entry: 'lambdas/handlers/api/batches.ts',
      description: 'API: standard and preview jobs, batches, estimates and summaries',
      environment: {
        STATE_TABLE: data.stateTable.tableName,
        OUTPUTS_BUCKET: data.outputsBucket.bucketName,
        EVENT_BUS_NAME: events.bus.eventBusName,
        BATCH_MAX_CONCURRENCY: String(config.batchMaxConcurrency),
        RESULT_URL_TTL_SECONDS: String(config.resultUrlTtlSeconds),
        BATCH_STATE_MACHINE_ARN: this.workflow.batchStateMachine.stateMachineArn,
        IDEMPOTENCY_TTL_SECONDS: String(config.idempotencyTtlSeconds),
        // Batch estimates price the job worker's memory.
        WORKER_MEMORY_MB: String(this.workflow.tasks.runJob.memoryMb),
        // Past them, summaries say a result has expired.
        RESULT_RETENTION_DAYS: String(config.resultRetentionDays),
        ...props.listCursors.environment,
      },
    });
    keepLogicalId(batches.logGroup, 'ApiHandlersBatchesLogsCE08CAE5');
    // Jobs, their log and idempotency records; each request written before its job exists, results
    // read for their links.
    data.allowStateTable(batches, JOB_SUBMISSION_ACTIONS);
    data.allowOutputs(batches, ['s3:GetObject', 's3:PutObject']);
    events.allowPublish(batches);
    batches.allow({
      sid: 'StartBatchExecutions',
      actions: ['states:StartExecution'],
      resources: [this.workflow.batchStateMachine.stateMachineArn],
    });
    props.listCursors.allow(batches);

    this.routeHandlers = { generators, batches };
    this.stateMachines = { generationBatch: this.workflow.machine };
    this.cancellable = [
      { executionArns: this.workflow.machine.executionArns, reason: SHARED_NAG_REASONS.stopBatchExecutions },
    ];
  }

  /** None of its own: its result-object grants are acknowledged with every other (Data.outputsGrantees). */
  nagAcknowledgements(): NagAcknowledgement[] {
    return [];
  }
}

export const generation: FamilyRegistration = {
  manifest: generationFamily,
  // The construct the batch workflow was created in before lib/families/.
  id: 'Workflows',
  build: (scope, id, context) =>
    new GenerationFamily(scope, id, {
      ...context,
      listCursors: context.families.require(PlatformFamily, 'generation').listCursors,
    }),
};
