/**
 * Seed 004's family (contracts/families/avatars.ts): Octopize's avatar method as a graph of jobs over
 * a set of YAML resources. The function behind the avatars routes keeps the sets, presigns the
 * uploads and the results, and starts one execution of the avatars machine per job; the machine
 * (statemachines/avatars.asl.json) waits for the job's parents (a task token its parents send back),
 * runs the engine in a function of 4 GB or of 10 GB (the runner chosen when the job was created), and
 * wakes the job's dependants.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { avatarsFamily } from '../../contracts/families/avatars.ts';
import { defaultComputeSettings } from '../../lambdas/domain/avatars/execution.ts';
import { JOB_SUBMISSION_ACTIONS } from '../constructs/data.ts';
import { type LambdaStateMachine, lambdaStateMachine } from '../constructs/lambda-state-machine.ts';
import { SynthForgeFunction } from '../constructs/synthforge-function.ts';
import { accessPolicyOf, iam5Resource, type NagAcknowledgement } from '../nag.ts';
import {
  API_FUNCTION,
  type CancellableExecutions,
  type FamilyConstruct,
  type FamilyRegistration,
  type SharedInfrastructure,
} from './family.ts';
import { GenerationFamily } from './generation.ts';
import { type ListCursors, PlatformFamily } from './platform.ts';

const NAG_REASONS = {
  apiObjects:
    "A tenant's avatar objects are under keys chosen at run time: <tenant>/avatars/files/<file> (the tables it uploads with a PUT this function presigns, and whose size it reads), <tenant>/avatars/sets/<set>/ (a set's YAML as put and as parsed) and <tenant>/avatars/results/<job>/ (the results this function presigns for download); the statements allow GetObject on those three shapes and PutObject on uploads and sets only, in the one outputs bucket.",
  runObjects:
    "An avatar job reads its set (<tenant>/avatars/sets/<set>/resources.json), its tables (<tenant>/avatars/files/<file>) and its parents' results (<tenant>/avatars/results/<parent>/...), and writes its own under <tenant>/avatars/results/<job>/, all keys chosen at run time; the statements allow GetObject on those three shapes and PutObject on results only, in the one outputs bucket.",
  wakeWaitingJobs:
    'states:SendTaskSuccess supports no resource-level permission (the Service Authorization Reference lists no resource type for it), so AWS requires Resource "*". The statement allows that one action only, and a call completes nothing without a task token: only the avatars machine\'s AwaitParents step issues the tokens these functions send back, each kept on its tenant\'s job record.',
  stopAvatarExecutions:
    'Cancelling an avatar job stops its execution and those of the jobs that depend on it, each named after its job id, known only at run time; the resource is limited to executions of the one avatars state machine.',
} as const;

/** The memory of the two functions that run the engine: the sizes the API chooses a job's runner by. */
export const AVATAR_RUNNER_MEMORY_MB = defaultComputeSettings('lambda').memoryMb;

/** The engine's time limit: Lambda's own, the Run states' TimeoutSeconds in the ASL. */
export const RUN_AVATAR_JOB_TIMEOUT = Duration.minutes(15);

export interface AvatarsFamilyProps extends SharedInfrastructure {
  /** Generation's FailJob: the avatars machine records with it a failure Run could not record. */
  readonly failJob: SynthForgeFunction;
  /** The platform's cursor secret: the avatars routes list jobs. */
  readonly listCursors: ListCursors;
}

/** The avatars machine's own steps, by what each does (FailJob is generation's). */
export interface AvatarTasks {
  readonly decide: SynthForgeFunction;
  readonly awaitParents: SynthForgeFunction;
  readonly run: SynthForgeFunction;
  readonly runLarge: SynthForgeFunction;
  readonly release: SynthForgeFunction;
}

export class AvatarsFamily extends Construct implements FamilyConstruct<typeof avatarsFamily> {
  readonly manifest = avatarsFamily;
  readonly routeHandlers: { readonly avatars: SynthForgeFunction };
  readonly stateMachines: { readonly avatars: LambdaStateMachine };
  readonly cancellable: readonly CancellableExecutions[];
  readonly tasks: AvatarTasks;
  /** `<tenant>/avatars/files/*`, `.../sets/*`, `.../results/*` in the outputs bucket. */
  readonly objectArns: { readonly files: string; readonly sets: string; readonly results: string };

  constructor(scope: Construct, id: string, props: AvatarsFamilyProps) {
    super(scope, id);
    const { config, data, events, defaults } = props;
    const bucket = data.outputsBucket;
    this.objectArns = {
      files: bucket.arnForObjects('*/avatars/files/*'),
      sets: bucket.arnForObjects('*/avatars/sets/*'),
      results: bucket.arnForObjects('*/avatars/results/*'),
    };
    const { files, sets, results } = this.objectArns;

    // The runtime builds the steps' dependencies together, the blob store included: every step is
    // given the bucket's name, and only the Run steps (and the API) are granted its objects. The bus
    // is for the steps that move a job (their Job State Change events).
    const tableEnvironment = { STATE_TABLE: data.stateTable.tableName, OUTPUTS_BUCKET: bucket.bucketName };
    const stepEnvironment = { ...tableEnvironment, EVENT_BUS_NAME: events.bus.eventBusName };

    const api = new SynthForgeFunction(this, 'AvatarsApi', {
      ...API_FUNCTION,
      defaults,
      entry: 'lambdas/handlers/api/avatars.ts',
      description: "API: avatarization (seed 004): a set's YAML resources, uploads, jobs, results, cancel",
      environment: {
        ...stepEnvironment,
        // Presigned uploads and result links.
        RESULT_URL_TTL_SECONDS: String(config.resultUrlTtlSeconds),
        IDEMPOTENCY_TTL_SECONDS: String(config.idempotencyTtlSeconds),
        ...props.listCursors.environment,
      },
    });
    // Jobs, their log and idempotency records; a cancel reads the tenant's open jobs (Query) to
    // cancel the dependants of the job with it.
    data.allowStateTable(api, JOB_SUBMISSION_ACTIONS);
    events.allowPublish(api);
    props.listCursors.allow(api);
    // Sets are put and read back; an upload is presigned (PUT), and its size read (HeadObject, which
    // GetObject allows) when a job names it; results are presigned for download.
    api.allow({ sid: 'AvatarObjectsRead', actions: ['s3:GetObject'], resources: [files, sets, results] });
    api.allow({ sid: 'AvatarObjectsWrite', actions: ['s3:PutObject'], resources: [files, sets] });
    // Without ListBucket, S3 answers 403 for a key that does not exist: a set never put, a table not
    // uploaded yet would be a 500 instead of the 404 / 400 that says so. Listing names nothing the
    // function cannot already read; the code never lists.
    api.allow({ sid: 'MissingObjectsAre404', actions: ['s3:ListBucket'], resources: [bucket.bucketArn] });

    // Lambda timeouts stay within the ASL's TimeoutSeconds of the Task that invokes them (60 s for
    // Decide and Release). Decide fails a job whose parent failed (parent_error), which publishes its
    // change and wakes its own dependants as Release does; AwaitParents keeps its token on the job
    // and wakes itself when its parents ended meanwhile; Release reads the tenant's open jobs.
    const decide = new SynthForgeFunction(this, 'DecideAvatarJob', {
      entry: 'lambdas/handlers/workflow/decide-avatar-job.ts',
      description: 'Avatars workflow: whether a job runs, waits for its parents, or ends parent_error',
      memorySize: 512,
      timeout: Duration.seconds(55),
      environment: stepEnvironment,
      defaults,
    });
    data.allowStateTable(decide, [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
    ]);
    events.allowPublish(decide);

    const awaitParents = new SynthForgeFunction(this, 'AwaitAvatarParents', {
      entry: 'lambdas/handlers/workflow/await-avatar-parents.ts',
      description: "Avatars workflow: keeps the waiting step's task token on the job for its parents",
      memorySize: 512,
      timeout: Duration.seconds(25),
      environment: tableEnvironment,
      defaults,
    });
    data.allowStateTable(awaitParents, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);

    const release = new SynthForgeFunction(this, 'ReleaseAvatarDependants', {
      entry: 'lambdas/handlers/workflow/release-avatar-dependants.ts',
      description: 'Avatars workflow: wakes the jobs that wait on this one',
      memorySize: 512,
      timeout: Duration.seconds(55),
      environment: tableEnvironment,
      defaults,
    });
    data.allowStateTable(release, ['dynamodb:Query']);

    // SendTaskSuccess has no resource type (AWS requires "*"): the token is what names the step it
    // completes. It could not name the machine anyway: the machine names these functions, so a
    // reference back from their policies would be a dependency cycle.
    for (const fn of [decide, awaitParents, release]) {
      fn.allow({ sid: 'WakeWaitingJobs', actions: ['states:SendTaskSuccess'], resources: ['*'] });
    }

    // The same engine in two sizes: a job runs in the smaller one its tables fit
    // (lambdas/domain/avatars/execution.ts chooseCompute, from these very sizes). Tables, results and
    // the working set stay in memory; nothing is written to /tmp.
    const runner = (runnerId: string, memorySize: number, size: string) => {
      const fn = new SynthForgeFunction(this, runnerId, {
        entry: 'lambdas/handlers/workflow/run-avatar-job.ts',
        description: `Avatars workflow: the avatar engine on a job's tables, results to S3 (${size})`,
        memorySize,
        timeout: RUN_AVATAR_JOB_TIMEOUT,
        environment: stepEnvironment,
        defaults,
      });
      // The job moves to running and completed (or failed), with its progress and log lines.
      data.allowStateTable(fn, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem']);
      events.allowPublish(fn);
      fn.allow({ sid: 'AvatarObjectsRead', actions: ['s3:GetObject'], resources: [files, sets, results] });
      fn.allow({ sid: 'AvatarResultsWrite', actions: ['s3:PutObject'], resources: [results] });
      // A set or table deleted since the job was created is then a clear failure, not AccessDenied.
      fn.allow({ sid: 'MissingObjectsAre404', actions: ['s3:ListBucket'], resources: [bucket.bucketArn] });
      return fn;
    };
    const run = runner('RunAvatarJob', AVATAR_RUNNER_MEMORY_MB.standard, 'standard');
    const runLarge = runner('RunLargeAvatarJob', AVATAR_RUNNER_MEMORY_MB.large, 'large tables');
    this.tasks = { decide, awaitParents, run, runLarge, release };

    const machine = lambdaStateMachine(this, {
      machine: 'avatars',
      taskOf: {
        DecideAvatarJobFunctionArn: decide,
        AwaitAvatarParentsFunctionArn: awaitParents,
        RunAvatarJobFunctionArn: run,
        RunLargeAvatarJobFunctionArn: runLarge,
        ReleaseAvatarDependantsFunctionArn: release,
        FailJobFunctionArn: props.failJob,
      },
      stage: defaults.stage,
      logSuffix: 'avatars',
      description: 'avatars workflow: one avatar job, once the jobs it depends on have finished (seed 004)',
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      ids: { output: 'AvatarsStateMachineArn' },
    });
    api.addEnvironment('AVATARS_STATE_MACHINE_ARN', machine.stateMachine.stateMachineArn);
    api.allow({
      sid: 'StartAvatarExecutions',
      actions: ['states:StartExecution'],
      resources: [machine.stateMachine.stateMachineArn],
    });
    // `DELETE /jobs/{name}` of the avatars routes cancels the job's dependants with it.
    api.allow({
      sid: 'StopAvatarExecutions',
      actions: ['states:StopExecution'],
      resources: [machine.executionArns],
    });

    this.routeHandlers = { avatars: api };
    this.stateMachines = { avatars: machine };
    this.cancellable = [{ executionArns: machine.executionArns, reason: NAG_REASONS.stopAvatarExecutions }];
  }

  nagAcknowledgements(): NagAcknowledgement[] {
    const stack = Stack.of(this);
    const { decide, awaitParents, run, runLarge, release } = this.tasks;
    const api = this.routeHandlers.avatars;
    const { files, sets, results } = this.objectArns;
    const list: NagAcknowledgement[] = [
      {
        scope: accessPolicyOf(api),
        id: iam5Resource(stack, this.stateMachines.avatars.executionArns),
        reason: NAG_REASONS.stopAvatarExecutions,
      },
    ];
    const objects: [SynthForgeFunction, string][] = [
      [api, NAG_REASONS.apiObjects],
      [run, NAG_REASONS.runObjects],
      [runLarge, NAG_REASONS.runObjects],
    ];
    for (const [fn, reason] of objects) {
      for (const resource of [files, sets, results]) {
        list.push({ scope: accessPolicyOf(fn), id: iam5Resource(stack, resource), reason });
      }
    }
    for (const fn of [decide, awaitParents, release]) {
      list.push({
        scope: accessPolicyOf(fn),
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: NAG_REASONS.wakeWaitingJobs,
      });
    }
    return list;
  }
}

export const avatars: FamilyRegistration = {
  manifest: avatarsFamily,
  id: 'Avatars',
  build: (scope, id, context) =>
    new AvatarsFamily(scope, id, {
      ...context,
      failJob: context.families.require(GenerationFamily, 'avatars').workflow.tasks.failJob,
      listCursors: context.families.require(PlatformFamily, 'avatars').listCursors,
    }),
};
