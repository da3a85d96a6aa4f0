/**
 * Seed 004's family (contracts/families/avatars.ts): Octopize's avatar method as a graph of jobs over
 * a set of YAML resources. The function behind the avatars routes keeps the sets, presigns the
 * uploads and the results, and starts one execution of the avatars machine per job; the machine
 * (statemachines/avatars.asl.json) waits for the job's parents (a task token its parents send back),
 * runs the engine where the job's tables fit (the runner chosen when the job was created), and wakes
 * the job's dependants:
 *
 * - in a function of 4 GB (Run) or of 10 GB (RunLarge);
 * - above that, as a SageMaker Processing job on the avatarizer image (containers/avatarizer), between
 *   PrepareProcessing (the job's spec and the manifest of its inputs under
 *   `<tenant>/avatars/processing/<job>/`) and RecordProcessing (the job completed from the outcome the
 *   container left among its results). The image has no public build: only a stage that sets
 *   `avatars.processingImage` gets the execution role SageMaker assumes and the machine's permission
 *   to run `sfa-*` processing jobs; elsewhere the API refuses such jobs with the limit, and the two
 *   steps and the Process state are there but never reached.
 *
 * Every object is in the outputs bucket, SSE-S3 (lib/constructs/data.ts): no key to grant for them.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import {
  Policy,
  PolicyStatement,
  type PolicyStatementProps,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { avatarsFamily } from '../../contracts/families/avatars.ts';
import { defaultComputeSettings } from '../../lambdas/domain/avatars/execution.ts';
import { PROCESSING_JOB_NAME_PREFIX } from '../../lambdas/domain/avatars/processing.ts';
import type { AvatarsConfig } from '../config.ts';
import { type Data, JOB_SUBMISSION_ACTIONS } from '../constructs/data.ts';
import { type LambdaStateMachine, lambdaStateMachine } from '../constructs/lambda-state-machine.ts';
import { SynthForgeFunction } from '../constructs/synthforge-function.ts';
import { type EcrImage, ecrImageOf } from '../ecr-image.ts';
import { accessPolicyOf, iam5Resource, type NagAcknowledgement } from '../nag.ts';
import { sageMakerSyncJobStatements } from '../sagemaker-sync-jobs.ts';
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
  prepareObjects:
    "PrepareProcessing sizes the objects an avatar job reads (HeadObject, which GetObject allows) under keys chosen at run time: its set's copy (<tenant>/avatars/sets/<set>/jobs/<job>.json), its tables (<tenant>/avatars/files/<file>) and its parents' results (<tenant>/avatars/results/<parent>/...), and writes the job's spec and manifest under <tenant>/avatars/processing/<job>/; the statements allow GetObject on those three shapes and PutObject on the processing one only, in the one outputs bucket.",
  recordObjects:
    "RecordProcessing reads the outcome a processing job left among its results (<tenant>/avatars/results/<job>/_outcome.json), gives each result file its content type back by copying it onto itself, removes the outcome (and the results of a job cancelled meanwhile) and the job's spec and manifest (<tenant>/avatars/processing/<job>/), all keys chosen at run time; the statements allow Get/Put/DeleteObject on results and DeleteObject on the processing shape only, in the one outputs bucket.",
  processingJobs:
    'Step Functions creates, waits on (describe, tags) and stops the SageMaker Processing job of each avatar job too large for Lambda, named sfa-<job id>-<attempt> at run time; the statement allows only those processing actions, only on processing jobs named sfa-* in this account and region.',
  processingInputs:
    "SageMaker downloads a processing job's spec and manifest (<tenant>/avatars/processing/<job>/) and the objects the manifest lists, the job's tables (<tenant>/avatars/files/<file>) and its parents' results (<tenant>/avatars/results/<parent>/...), under keys chosen at run time; the statements allow GetObject on those three shapes only, in the one outputs bucket.",
  processingOutputs:
    "SageMaker uploads the container's results folder to the job's results (<tenant>/avatars/results/<job>/...), a key chosen at run time; the statement allows only PutObject/AbortMultipartUpload there (and GetObject, for the parents' results a job reads), in the one outputs bucket.",
  processingRegistryAndMetrics:
    'ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource-level permissions, so AWS requires Resource "*"; the image is pulled from its one repository only, and metrics are limited by condition to the /aws/sagemaker/ProcessingJobs namespace.',
  processingLogs:
    "SageMaker writes each processing job's logs to a stream it names after the job in the account's one /aws/sagemaker/ProcessingJobs log group; the statement is limited to that log group and its streams.",
} as const;

/** Where SageMaker writes every processing job's logs and metrics (one group for the account). */
export const PROCESSING_JOBS_LOG_GROUP = '/aws/sagemaker/ProcessingJobs';
export const PROCESSING_JOBS_METRIC_NAMESPACE = '/aws/sagemaker/ProcessingJobs';

/**
 * What the avatars machine's Process state is given in a stage without `avatars.processingImage`:
 * values of the right shape that say why (the state is never reached there, and no role may be
 * passed). The role ARN stays an ARN, as SageMaker's RoleArn is one, so that the definition
 * validates whatever Step Functions checks of it.
 */
export const NO_PROCESSING_IMAGE = {
  roleName: 'none-avatars.processingImage-is-not-set',
  imageUri: 'none: avatars.processingImage is not set',
} as const;

/** The function timeouts of the steps around a processing job, within their Task states' (120, 300 s). */
export const PREPARE_PROCESSING_TIMEOUT = Duration.seconds(60);
export const RECORD_PROCESSING_TIMEOUT = Duration.seconds(240);

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
  readonly prepareProcessing: SynthForgeFunction;
  readonly recordProcessing: SynthForgeFunction;
  readonly release: SynthForgeFunction;
}

/** What running avatar jobs as SageMaker Processing jobs takes, in a stage with the avatarizer image. */
export interface AvatarProcessing {
  /** The stage's `avatars.processingImage` and the repository it is pulled from. */
  readonly image: EcrImage;
  /** The execution role SageMaker assumes to run a processing job, and its one policy. */
  readonly role: Role;
  readonly rolePolicy: Policy;
  /** The machine role's statements that run processing jobs (SageMaker, the event rule, PassRole). */
  readonly jobsPolicy: Policy;
  /** `processing-job/sfa-*`: the processing jobs the machine may act on. */
  readonly jobsArn: string;
  /** `/aws/sagemaker/ProcessingJobs:*`: the streams of the processing jobs' log group. */
  readonly logStreamsArn: string;
}

export class AvatarsFamily extends Construct implements FamilyConstruct<typeof avatarsFamily> {
  readonly manifest = avatarsFamily;
  readonly routeHandlers: { readonly avatars: SynthForgeFunction };
  readonly stateMachines: { readonly avatars: LambdaStateMachine };
  readonly cancellable: readonly CancellableExecutions[];
  readonly tasks: AvatarTasks;
  /** The target of the AvatarJobsEnded rule: wakes the dependants of a job that ended outside its steps. */
  readonly wakeOnEnd: SynthForgeFunction;
  /** `<tenant>/avatars/files/*`, `.../sets/*`, `.../results/*`, `.../processing/*` in the outputs bucket. */
  readonly objectArns: {
    readonly files: string;
    readonly sets: string;
    readonly results: string;
    readonly processing: string;
  };
  /** Only in a stage with `avatars.processingImage`. */
  readonly processing: AvatarProcessing | undefined;

  constructor(scope: Construct, id: string, props: AvatarsFamilyProps) {
    super(scope, id);
    const { config, data, events, defaults } = props;
    const bucket = data.outputsBucket;
    this.objectArns = {
      files: bucket.arnForObjects('*/avatars/files/*'),
      sets: bucket.arnForObjects('*/avatars/sets/*'),
      results: bucket.arnForObjects('*/avatars/results/*'),
      processing: bucket.arnForObjects('*/avatars/processing/*'),
    };
    const { files, sets, results, processing } = this.objectArns;

    // The runtime builds the steps' dependencies together, the blob store included: every step is
    // given the bucket's name, and only the steps that read or write objects (Run, PrepareProcessing,
    // RecordProcessing) and the API are granted any. The bus is for the steps that move a job (their
    // Job State Change events).
    const tableEnvironment = { STATE_TABLE: data.stateTable.tableName, OUTPUTS_BUCKET: bucket.bucketName };
    const stepEnvironment = { ...tableEnvironment, EVENT_BUS_NAME: events.bus.eventBusName };
    // A processing job's StoppingCondition, which PrepareProcessing puts in its request.
    const processingEnvironment = {
      AVATAR_PROCESSING_MAX_RUNTIME_SECONDS: String(config.avatars.processingMaxRuntimeHours * 3600),
    };

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

    // A job cancelled or failed outside its execution's own steps (the generic DELETE /jobs/{id},
    // the reconciler) reaches no Release step: its state change event wakes its waiting dependants,
    // which would otherwise decide only when their 15-minute wait times out. Later than that, the
    // wait has timed out anyway.
    const wakeOnEnd = new SynthForgeFunction(this, 'WakeDependantsOfEndedJobs', {
      entry: 'lambdas/handlers/avatar-job-ended.ts',
      description: 'Avatars: wakes the jobs waiting on an avatar job cancelled or failed outside its steps',
      memorySize: 512,
      timeout: Duration.seconds(55),
      environment: tableEnvironment,
      defaults,
    });
    data.allowStateTable(wakeOnEnd, ['dynamodb:GetItem', 'dynamodb:Query']);
    events.forwardJobStateChanges(
      'AvatarJobsEnded',
      {
        description:
          'Every state change of an avatar job: a cancelled or failed one wakes the jobs waiting on it',
        kinds: ['avatars'],
        maxEventAge: Duration.minutes(15),
      },
      wakeOnEnd,
    );
    this.wakeOnEnd = wakeOnEnd;

    // SendTaskSuccess has no resource type (AWS requires "*"): the token is what names the step it
    // completes. It could not name the machine anyway: the machine names these functions, so a
    // reference back from their policies would be a dependency cycle.
    for (const fn of [decide, awaitParents, release, wakeOnEnd]) {
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

    // The steps around a processing job run no engine: small functions. They exist in every stage,
    // as the machine's definition names them whatever the configuration says. Prepare moves the job
    // to running, sizes its inputs (HeadObject) and writes its spec and manifest.
    const prepareProcessing = new SynthForgeFunction(this, 'PrepareAvatarProcessing', {
      entry: 'lambdas/handlers/workflow/prepare-avatar-processing.ts',
      description:
        "Avatars workflow: begins a job too large for Lambda and answers its processing job's request",
      memorySize: 512,
      timeout: PREPARE_PROCESSING_TIMEOUT,
      environment: { ...stepEnvironment, ...processingEnvironment },
      defaults,
    });
    data.allowStateTable(prepareProcessing, [
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
    ]);
    events.allowPublish(prepareProcessing);
    prepareProcessing.allow({
      sid: 'AvatarObjectsRead',
      actions: ['s3:GetObject'],
      resources: [files, sets, results],
    });
    prepareProcessing.allow({
      sid: 'ProcessingInputsWrite',
      actions: ['s3:PutObject'],
      resources: [processing],
    });
    // A table deleted since the job was created fails the job as missing, not as AccessDenied.
    prepareProcessing.allow({
      sid: 'MissingObjectsAre404',
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
    });

    // Record reads the outcome, copies each result onto itself (SageMaker uploads them untyped: the
    // copy gives each its content type back), deletes the outcome, and the spec and the manifest.
    // It may take a while on large results (server-side copies): 4 minutes, within the state's 300 s.
    const recordProcessing = new SynthForgeFunction(this, 'RecordAvatarProcessing', {
      entry: 'lambdas/handlers/workflow/record-avatar-processing.ts',
      description: "Avatars workflow: completes (or fails) a job from its processing job's outcome",
      memorySize: 1024,
      timeout: RECORD_PROCESSING_TIMEOUT,
      environment: { ...stepEnvironment, ...processingEnvironment },
      defaults,
    });
    data.allowStateTable(recordProcessing, [
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
    ]);
    events.allowPublish(recordProcessing);
    recordProcessing.allow({
      sid: 'ProcessingResults',
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      resources: [results],
    });
    recordProcessing.allow({
      sid: 'ProcessingInputsDelete',
      actions: ['s3:DeleteObject'],
      resources: [processing],
    });
    // A missing outcome is "the job said nothing" (a 404), not AccessDenied.
    recordProcessing.allow({
      sid: 'MissingObjectsAre404',
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
    });
    this.tasks = { decide, awaitParents, run, runLarge, prepareProcessing, recordProcessing, release };

    const stack = Stack.of(this);
    const processingSetup = this.#processingSetup(config.avatars, data);
    const machine = lambdaStateMachine(this, {
      machine: 'avatars',
      taskOf: {
        DecideAvatarJobFunctionArn: decide,
        AwaitAvatarParentsFunctionArn: awaitParents,
        RunAvatarJobFunctionArn: run,
        RunLargeAvatarJobFunctionArn: runLarge,
        PrepareAvatarProcessingFunctionArn: prepareProcessing,
        RecordAvatarProcessingFunctionArn: recordProcessing,
        ReleaseAvatarDependantsFunctionArn: release,
        FailJobFunctionArn: props.failJob,
      },
      services: processingSetup
        ? {
            AvatarProcessingRoleArn: processingSetup.role.roleArn,
            AvatarizerImageUri: processingSetup.image.uri,
          }
        : {
            AvatarProcessingRoleArn: stack.formatArn({
              service: 'iam',
              region: '',
              resource: 'role',
              resourceName: NO_PROCESSING_IMAGE.roleName,
            }),
            AvatarizerImageUri: NO_PROCESSING_IMAGE.imageUri,
          },
      // Without the image the machine may run no processing job at all (and pass no role).
      serviceStatements: processingSetup?.statements ?? [],
      stage: defaults.stage,
      logSuffix: 'avatars',
      description: 'avatars workflow: one avatar job, once the jobs it depends on have finished (seed 004)',
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      ids: { servicePolicy: 'RunProcessingJobs', output: 'AvatarsStateMachineArn' },
    });
    if (processingSetup) {
      // SageMaker checks the role's permissions when the job starts: they must be in place first.
      machine.stateMachine.node.addDependency(processingSetup.rolePolicy);
      this.processing = {
        image: processingSetup.image,
        role: processingSetup.role,
        rolePolicy: processingSetup.rolePolicy,
        jobsPolicy: machine.servicePolicy as Policy,
        jobsArn: processingSetup.jobsArn,
        logStreamsArn: processingSetup.logStreamsArn,
      };
      // What the API chooses the processing runner by, and tells the job (lambdas/families/avatars/
      // runtime.ts). Without it, jobs too large for Lambda are refused with the limit and a hint.
      api.addEnvironment('AVATAR_PROCESSING_INSTANCE_TYPE', config.avatars.processingInstanceType);
      api.addEnvironment(
        'AVATAR_PROCESSING_MAX_RUNTIME_SECONDS',
        processingEnvironment.AVATAR_PROCESSING_MAX_RUNTIME_SECONDS,
      );
    } else {
      this.processing = undefined;
    }
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
    const { decide, awaitParents, run, runLarge, prepareProcessing, recordProcessing, release } = this.tasks;
    const api = this.routeHandlers.avatars;
    const { files, sets, results, processing } = this.objectArns;
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
    for (const resource of [files, sets, results, processing]) {
      list.push({
        scope: accessPolicyOf(prepareProcessing),
        id: iam5Resource(stack, resource),
        reason: NAG_REASONS.prepareObjects,
      });
    }
    for (const resource of [results, processing]) {
      list.push({
        scope: accessPolicyOf(recordProcessing),
        id: iam5Resource(stack, resource),
        reason: NAG_REASONS.recordObjects,
      });
    }
    for (const fn of [decide, awaitParents, release, this.wakeOnEnd]) {
      list.push({
        scope: accessPolicyOf(fn),
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: NAG_REASONS.wakeWaitingJobs,
      });
    }
    if (this.processing) {
      const { rolePolicy, jobsPolicy, jobsArn, logStreamsArn } = this.processing;
      list.push(
        { scope: jobsPolicy, id: iam5Resource(stack, jobsArn), reason: NAG_REASONS.processingJobs },
        {
          scope: rolePolicy,
          id: iam5Resource(stack, processing),
          reason: NAG_REASONS.processingInputs,
        },
        { scope: rolePolicy, id: iam5Resource(stack, files), reason: NAG_REASONS.processingInputs },
        {
          scope: rolePolicy,
          id: iam5Resource(stack, results),
          reason: `${NAG_REASONS.processingInputs} ${NAG_REASONS.processingOutputs}`,
        },
        {
          scope: rolePolicy,
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason: NAG_REASONS.processingRegistryAndMetrics,
        },
        { scope: rolePolicy, id: iam5Resource(stack, logStreamsArn), reason: NAG_REASONS.processingLogs },
      );
    }
    return list;
  }

  /**
   * In a stage with `avatars.processingImage`: the role SageMaker assumes to run a processing job
   * (and its one policy), and what the machine's role needs to run `sfa-*` processing jobs with it.
   * The role, assumable only by SageMaker on behalf of this account, reads only a job's spec, its
   * manifest and the objects a manifest may list (tables, parents' results), writes only results,
   * pulls only the avatarizer image, and writes only the processing jobs' log group and metrics.
   */
  #processingSetup(config: AvatarsConfig, data: Data) {
    if (config.processingImage === undefined) return undefined;
    const stack = Stack.of(this);
    const bucket = data.outputsBucket;
    const { files, results, processing } = this.objectArns;
    const image = ecrImageOf(stack, config.processingImage);
    if (!image) throw new Error(`avatars.processingImage: ${config.processingImage} is not an ECR image URI`);

    const role = new Role(this, 'ProcessingRole', {
      assumedBy: new ServicePrincipal('sagemaker.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'SageMaker execution role of SynthForge avatar processing jobs',
    });
    const rolePolicy = new Policy(this, 'ProcessingRoleAccess', { roles: [role] });
    const allow = (statement: PolicyStatementProps & { sid: string }) =>
      rolePolicy.addStatements(new PolicyStatement(statement));

    // Inputs: the spec (an S3Prefix input) and the manifest, and what a manifest lists: the job's
    // tables and its parents' results, every one under <tenant>/avatars/ (PrepareProcessing checks).
    allow({ sid: 'ReadInputs', actions: ['s3:GetObject'], resources: [processing, files, results] });
    // SageMaker lists an S3Prefix input; a manifest's entries are listed under the same shapes the
    // role may read anyway, so listing there names nothing it could not already read.
    allow({
      sid: 'ListInputs',
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: {
        StringLike: { 's3:prefix': ['*/avatars/processing/*', '*/avatars/files/*', '*/avatars/results/*'] },
      },
    });
    // Outputs: the results folder, uploaded when the container exits (multipart for a large file).
    allow({
      sid: 'WriteResults',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: [results],
    });
    allow({
      sid: 'PullAvatarizerImage',
      actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      resources: [image.repositoryArn],
    });
    // ECR's registry token has no resource: AWS allows only "*".
    allow({ sid: 'AuthenticateToEcr', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] });
    // SageMaker's documented permissions, on the account's one processing log group (streams are
    // named after each job); it usually exists already, hence CreateLogGroup on it only.
    const logGroupArn = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: PROCESSING_JOBS_LOG_GROUP,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const logStreamsArn = `${logGroupArn}:*`;
    allow({
      sid: 'WriteProcessingLogs',
      actions: [
        'logs:CreateLogGroup',
        'logs:CreateLogStream',
        'logs:DescribeLogStreams',
        'logs:PutLogEvents',
      ],
      resources: [logGroupArn, logStreamsArn],
    });
    // PutMetricData has no resource: the namespace condition is what narrows it.
    allow({
      sid: 'PublishProcessingMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': PROCESSING_JOBS_METRIC_NAMESPACE } },
    });
    // No KMS statement: the outputs bucket is SSE-S3 (S3 encrypts and decrypts with its own key), and
    // the Process state names no volume key (SageMaker's own encrypts the ML storage volume).

    const jobsArn = stack.formatArn({
      service: 'sagemaker',
      resource: 'processing-job',
      resourceName: `${PROCESSING_JOB_NAME_PREFIX}*`,
    });
    const statements = sageMakerSyncJobStatements(stack, { kind: 'Processing', jobsArn, role });
    return { image, role, rolePolicy, jobsArn, logStreamsArn, statements };
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
