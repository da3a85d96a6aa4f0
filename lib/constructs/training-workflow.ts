/**
 * The training workflow (seed 002): the state machine in `statemachines/training.asl.json`, its two
 * Lambda steps (PrepareTraining, RecordTraining), and what the SageMaker training job it runs with
 * `createTrainingJob.sync` needs: the trainer (AWS's PyTorch training image running our source in
 * script mode, or an image of your own), the execution role SageMaker assumes, and the KMS key of the
 * job's ML storage volume.
 *
 * No Docker anywhere: the image is AWS's Deep Learning Container (lib/pytorch-training-image.ts) and
 * the trainer's code a tar.gz built at synthesis (lib/trainer-source.ts) that `cdk deploy` uploads
 * as a file asset. `training.image` swaps in an image of your own (containers/trainer/Dockerfile);
 * the job then gets the same code channel and script-mode hyperparameters, which that image's entry
 * point ignores.
 *
 * Where a run's objects live (lambdas/domain/training/keys.ts), all in the outputs bucket:
 *
 * - inputs: `<tenant>/training/<task>/manifest.json` (a batch's result archives,
 *   `<tenant>/jobs/<job>/result.zip`) or a folder `<tenant>/datasets/...`;
 * - checkpoints, with the live `progress.json`: `<tenant>/training/runs/<name>/checkpoints/`;
 * - the model: `<tenant>/training/<task>/output/<training job>/output/model.tar.gz`.
 */
import { posix } from 'node:path';
import { ArnFormat, Aws, CfnMapping, Duration, type RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import {
  Policy,
  PolicyStatement,
  type PolicyStatementProps,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type TrainingConfig, type TrainingSettings, trainingSettingsOf } from '../../contracts/training.ts';
import { type EcrImage, ecrImageOf, regionalEcrImage } from '../ecr-image.ts';
import {
  PYTORCH_TRAINING_REGISTRIES,
  PYTORCH_TRAINING_REPOSITORY,
  pytorchTrainingTag,
  trainingProcessorFor,
} from '../pytorch-training-image.ts';
import { sageMakerSyncJobStatements } from '../sagemaker-sync-jobs.ts';
import { TRAINER_ENTRY_POINT, trainerSourceArchive } from '../trainer-source.ts';
import { type Data, JOB_SUBMISSION_ACTIONS } from './data.ts';
import type { Events } from './events.ts';
import { type LambdaStateMachine, lambdaStateMachine } from './lambda-state-machine.ts';
import { type FunctionDefaults, SynthForgeFunction } from './synthforge-function.ts';

/**
 * Every training job SynthForge starts is named `sf-<task id>-<attempt>`
 * (lambdas/domain/training/keys.ts `trainingJobName`): the state machine may act on these only.
 */
export const TRAINING_JOB_NAMES = 'sf-*';

/** Where SageMaker writes every training job's logs and metrics (one group for the account). */
export const TRAINING_JOBS_LOG_GROUP = '/aws/sagemaker/TrainingJobs';
export const TRAINING_JOBS_METRIC_NAMESPACE = '/aws/sagemaker/TrainingJobs';

/**
 * Where SageMaker puts the code channel in the container: `/opt/ml/input/data/<channel>/`, each
 * object under the channel's S3 prefix by its name. The SageMaker Python SDK does the same for
 * network-isolated script-mode jobs (`CONTAINER_CODE_CHANNEL_SOURCEDIR_PATH`).
 */
export const TRAINER_CODE_CHANNEL_DIRECTORY = '/opt/ml/input/data/code';

export interface TrainingWorkflowProps {
  /** The state table the steps record runs in, and the outputs bucket the runs read and write. */
  readonly data: Data;
  /** The bus the steps publish job state changes to. */
  readonly events: Events;
  /** The stage's `training` section: instances, limits, resumes and, optionally, the trainer image. */
  readonly config: TrainingConfig;
  readonly defaults: FunctionDefaults;
  /** Retention of the execution history log. */
  readonly logRetention: RetentionDays;
  /** What deleting the stack does to the volume key and the execution log group. */
  readonly removalPolicy: RemovalPolicy;
}

/** The trainer image and the repository it is pulled from. */
export type TrainerImage = EcrImage;

/** The trainer's source, as the code channel of every training job. */
export interface TrainerSource {
  /** The uploaded tar.gz (a file asset). */
  readonly asset: Asset;
  /** `s3://<assets bucket>/<hash>.gz`: the code channel's S3Uri. */
  readonly uri: string;
  /** Where the archive is inside the container: `sagemaker_submit_directory`. */
  readonly containerPath: string;
}

/**
 * Training runs as SageMaker training jobs, one Step Functions execution per task:
 *
 * - PrepareTraining and RecordTraining may read and update the state table and publish events;
 *   RecordTraining also reads the trainer's `progress.json` and heads the model it made;
 * - the training role, assumable only by SageMaker on behalf of this account, reads only a run's
 *   inputs (manifests, the archives they list, dataset folders, checkpoints), writes only its outputs
 *   (the model, checkpoints), pulls only the trainer image, writes only the training jobs' log group
 *   and metric namespace, and may create grants (for the volume) only on its own key;
 * - the state machine's role may create, describe, stop and tag only `sf-*` training jobs, keep the
 *   managed `.sync` event rule, and pass only the training role, only to SageMaker.
 */
export class TrainingWorkflow extends Construct {
  readonly prepareTraining: SynthForgeFunction;
  readonly recordTraining: SynthForgeFunction;
  /** The machine as lambdaStateMachine built it: its role, its invoke policy, its executions. */
  readonly machine: LambdaStateMachine;
  readonly stateMachine: StateMachine;
  /** The machine role's statements that run training jobs (SageMaker, the event rule, PassRole). */
  readonly trainingJobsPolicy: Policy;
  /** The ARN pattern of the training jobs the machine may act on (`training-job/sf-*`). */
  readonly trainingJobsArn: string;
  /** The execution role SageMaker assumes to run a training job. */
  readonly trainingRole: Role;
  /** The training role's statements. */
  readonly trainingRolePolicy: Policy;
  /** Encrypts the training jobs' ML storage volumes. */
  readonly volumeKey: Key;
  readonly trainerImage: TrainerImage;
  /** The trainer's code, uploaded by `cdk deploy` and handed to each job as its code channel. */
  readonly trainerSource: TrainerSource;
  /** `{ TRAINING_SETTINGS }`: the stage's settings as the functions read them. */
  readonly settingsEnvironment: { TRAINING_SETTINGS: string };

  /** `<tenant>/jobs/<job>/result.zip`: the result archives a manifest lists. */
  readonly archiveObjectsArn: string;
  /** `<tenant>/training/<task>/manifest.json`: the `train` channel of a run on a batch. */
  readonly manifestObjectsArn: string;
  /** `<tenant>/datasets/...`: a tenant's own dataset folders. */
  readonly datasetObjectsArn: string;
  /** `<tenant>/training/runs/<name>/checkpoints/...`: kept per run name, resumed by the next attempt. */
  readonly checkpointObjectsArn: string;
  /** The trainer's live progress in its checkpoint folder. */
  readonly progressObjectsArn: string;
  /** `<tenant>/training/<task>/output/...`: the models SageMaker uploads. */
  readonly modelObjectsArn: string;
  /** The account's `/aws/sagemaker/TrainingJobs` log group (SageMaker creates it; not this stack). */
  readonly trainingLogGroupArn: string;
  /** `/aws/sagemaker/TrainingJobs:*`: the streams of the training jobs' log group. */
  readonly trainingLogStreamsArn: string;
  /** The key prefixes (`s3:prefix`) SageMaker may list: dataset folders, checkpoints, manifests. */
  readonly listablePrefixes: readonly string[];

  readonly #data: Data;
  readonly #events: Events;

  constructor(scope: Construct, id: string, props: TrainingWorkflowProps) {
    super(scope, id);
    const { data, events, defaults, config } = props;
    const stack = Stack.of(this);
    const bucket = data.outputsBucket;
    this.#data = data;
    this.#events = events;

    this.archiveObjectsArn = bucket.arnForObjects('*/jobs/*/result.zip');
    this.manifestObjectsArn = bucket.arnForObjects('*/training/*/manifest.json');
    this.datasetObjectsArn = bucket.arnForObjects('*/datasets/*');
    this.checkpointObjectsArn = bucket.arnForObjects('*/training/runs/*/checkpoints/*');
    this.progressObjectsArn = bucket.arnForObjects('*/training/runs/*/checkpoints/progress.json');
    this.modelObjectsArn = bucket.arnForObjects('*/training/*/output/*');
    this.trainingLogGroupArn = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: TRAINING_JOBS_LOG_GROUP,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.trainingLogStreamsArn = `${this.trainingLogGroupArn}:*`;
    // The checkpoint URI has no trailing slash (SageMaker lists it as given), hence `checkpoints*`.
    this.listablePrefixes = ['*/datasets/*', '*/training/runs/*/checkpoints*', '*/training/*/manifest.json'];

    const settings = trainingSettingsOf(config);
    this.settingsEnvironment = { TRAINING_SETTINGS: JSON.stringify(settings satisfies TrainingSettings) };
    const environment = {
      STATE_TABLE: data.stateTable.tableName,
      EVENT_BUS_NAME: events.bus.eventBusName,
      OUTPUTS_BUCKET: bucket.bucketName,
      ...this.settingsEnvironment,
    };

    this.volumeKey = new Key(this, 'VolumeKey', {
      description: 'Encrypts the ML storage volumes of SynthForge training jobs',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    // Lambda timeouts stay within the ASL's TimeoutSeconds (120) of the Task that invokes them.
    // Table actions: get = GetItem, transition/update = UpdateItem, log = BatchWriteItem.
    this.prepareTraining = new SynthForgeFunction(this, 'PrepareTraining', {
      entry: 'lambdas/handlers/workflow/prepare-training.ts',
      description: "Training workflow: marks the task running and answers its training job's request",
      memorySize: 512,
      timeout: Duration.seconds(60),
      // The volume key comes with the job's request: only instance types without local storage take one.
      environment: { ...environment, TRAINING_VOLUME_KEY_ARN: this.volumeKey.keyArn },
      defaults,
    });
    data.allowStateTable(this.prepareTraining, [
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
    ]);
    events.allowPublish(this.prepareTraining);

    this.recordTraining = new SynthForgeFunction(this, 'RecordTraining', {
      entry: 'lambdas/handlers/workflow/record-training.ts',
      description: 'Training workflow: completes, fails or resumes the task from how its training job ended',
      memorySize: 512,
      timeout: Duration.seconds(60),
      environment,
      defaults,
    });
    data.allowStateTable(this.recordTraining, [
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
    ]);
    events.allowPublish(this.recordTraining);
    // The last progress, and the model's size (HeadObject is authorised by s3:GetObject).
    this.recordTraining.allow({
      sid: 'ReadTrainingResults',
      actions: ['s3:GetObject'],
      resources: [this.progressObjectsArn, this.modelObjectsArn],
    });

    this.trainerImage = this.#trainerImage(config);
    this.trainerSource = this.#trainerSource();
    const training = this.#trainingRole();
    this.trainingRole = training.role;
    this.trainingRolePolicy = training.policy;

    this.trainingJobsArn = stack.formatArn({
      service: 'sagemaker',
      resource: 'training-job',
      resourceName: TRAINING_JOB_NAMES,
    });
    const built = lambdaStateMachine(this, {
      machine: 'training',
      taskOf: {
        PrepareTrainingFunctionArn: this.prepareTraining,
        RecordTrainingFunctionArn: this.recordTraining,
      },
      services: {
        TrainingRoleArn: this.trainingRole.roleArn,
        TrainerImageUri: this.trainerImage.uri,
        TrainerEntryPoint: TRAINER_ENTRY_POINT,
        TrainerSourceUri: this.trainerSource.uri,
        TrainerSourcePath: this.trainerSource.containerPath,
      },
      serviceStatements: sageMakerSyncJobStatements(stack, {
        kind: 'Training',
        jobsArn: this.trainingJobsArn,
        role: this.trainingRole,
      }),
      stage: defaults.stage,
      logSuffix: 'training',
      description: 'training workflow: one training run as a SageMaker training job',
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      ids: { servicePolicy: 'RunTrainingJobs', output: 'TrainingStateMachineArn' },
    });
    this.machine = built;
    this.stateMachine = built.stateMachine;
    this.trainingJobsPolicy = built.servicePolicy as Policy;
    // SageMaker checks the role's permissions when the job starts: they must be in place first.
    this.stateMachine.node.addDependency(this.trainingRolePolicy);
  }

  /**
   * The environment of the function behind the training routes: where tasks, manifests and
   * executions go, the stage's settings, and how long a model link lives.
   */
  submitterEnvironment(settings: { resultUrlTtlSeconds: number }): Record<string, string> {
    return {
      STATE_TABLE: this.#data.stateTable.tableName,
      OUTPUTS_BUCKET: this.#data.outputsBucket.bucketName,
      EVENT_BUS_NAME: this.#events.bus.eventBusName,
      TRAINING_STATE_MACHINE_ARN: this.stateMachine.stateMachineArn,
      RESULT_URL_TTL_SECONDS: String(settings.resultUrlTtlSeconds),
      ...this.settingsEnvironment,
    };
  }

  /**
   * What starting and showing training runs takes: tasks, their log and idempotency records and the
   * lists by kind in the state table, the events, the manifest of a run on a batch, the live progress
   * and the model (for its link), and starting this workflow.
   */
  allowSubmit(fn: SynthForgeFunction): void {
    this.#data.allowStateTable(fn, JOB_SUBMISSION_ACTIONS);
    this.#events.allowPublish(fn);
    fn.allow({
      sid: 'WriteTrainingManifests',
      actions: ['s3:PutObject'],
      resources: [this.manifestObjectsArn],
    });
    fn.allow({
      sid: 'ReadTrainingResults',
      actions: ['s3:GetObject'],
      resources: [this.progressObjectsArn, this.modelObjectsArn],
    });
    fn.allow({
      sid: 'StartTrainingExecutions',
      actions: ['states:StartExecution'],
      resources: [this.stateMachine.stateMachineArn],
    });
  }

  /**
   * The image of `training.image` (an ECR URI), or else AWS's PyTorch training image of the stack's
   * region (no build, no Docker): CPU or GPU after the stage's training instance types.
   */
  #trainerImage(config: TrainingConfig): TrainerImage {
    const stack = Stack.of(this);
    if (config.image !== undefined) {
      const image = ecrImageOf(stack, config.image);
      if (!image) throw new Error(`training.image: ${config.image} is not an ECR image URI`);
      return image;
    }
    const tag = pytorchTrainingTag(
      trainingProcessorFor([config.instanceType, ...config.allowedInstanceTypes]),
    );
    return regionalEcrImage(stack, this.#registryAccount(), PYTORCH_TRAINING_REPOSITORY, tag);
  }

  /** The Deep Learning Containers account of the stack's region (a mapping when it has none yet). */
  #registryAccount(): string {
    const stack = Stack.of(this);
    if (Token.isUnresolved(stack.region)) {
      // An environment-agnostic stack: CloudFormation looks the region up at deploy time.
      const mapping = new CfnMapping(this, 'PyTorchTrainingRegistry', {
        mapping: Object.fromEntries(
          Object.entries(PYTORCH_TRAINING_REGISTRIES).map(([region, account]) => [region, { account }]),
        ),
      });
      return mapping.findInMap(Aws.REGION, 'account');
    }
    const account = PYTORCH_TRAINING_REGISTRIES[stack.region];
    if (account === undefined) {
      throw new Error(
        `training: AWS publishes no PyTorch training image in ${stack.region}; set training.image to an image of your own`,
      );
    }
    return account;
  }

  /** The trainer's source tar.gz as a file asset, and where a job finds it. */
  #trainerSource(): TrainerSource {
    const asset = new Asset(this, 'TrainerSource', { path: trainerSourceArchive() });
    return {
      asset,
      uri: asset.s3ObjectUrl,
      containerPath: posix.join(TRAINER_CODE_CHANNEL_DIRECTORY, posix.basename(asset.s3ObjectKey)),
    };
  }

  /** The role SageMaker assumes to run a training job, and its one policy. */
  #trainingRole(): { role: Role; policy: Policy } {
    const stack = Stack.of(this);
    const bucket = this.#data.outputsBucket;
    const role = new Role(this, 'TrainingRole', {
      assumedBy: new ServicePrincipal('sagemaker.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'SageMaker execution role of SynthForge training jobs',
    });
    const policy = new Policy(this, 'TrainingRoleAccess', { roles: [role] });
    const allow = (statement: PolicyStatementProps & { sid: string }) =>
      policy.addStatements(new PolicyStatement(statement));

    // Inputs: a manifest and the archives it lists, or a dataset folder; and the checkpoints an
    // attempt resumes. Tenant, task and run name are chosen at run time.
    allow({
      sid: 'ReadInputs',
      actions: ['s3:GetObject'],
      resources: [
        this.archiveObjectsArn,
        this.manifestObjectsArn,
        this.datasetObjectsArn,
        this.checkpointObjectsArn,
      ],
    });
    allow({
      sid: 'ListInputs',
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [...this.listablePrefixes] } },
    });
    // Outputs: the model (multipart for a large one) and the checkpoints SageMaker syncs as the
    // trainer writes them.
    allow({
      sid: 'WriteOutputs',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: [this.modelObjectsArn, this.checkpointObjectsArn],
    });
    // The checkpoint sync mirrors the local folder, where the trainer replaces its files atomically
    // (a temporary file renamed over the old one). The bucket is versioned: a deleted checkpoint stays
    // recoverable for the noncurrent-version retention.
    allow({
      sid: 'SyncCheckpoints',
      actions: ['s3:DeleteObject'],
      resources: [this.checkpointObjectsArn],
    });
    // The code channel: SageMaker lists the asset's key as a prefix and downloads that one object.
    // No KMS statement: the bootstrap's assets key (or the aws/s3 key) lets every principal of the
    // account decrypt through S3 (aws-cdk's bootstrap-template.yaml, FileAssetsBucketEncryptionKey).
    // A bootstrap with a key of your own (--bootstrap-kms-key-id) must allow the same.
    allow({
      sid: 'ReadTrainerSource',
      actions: ['s3:GetObject'],
      resources: [this.trainerSource.asset.bucket.arnForObjects(this.trainerSource.asset.s3ObjectKey)],
    });
    allow({
      sid: 'ListTrainerSource',
      actions: ['s3:ListBucket'],
      resources: [this.trainerSource.asset.bucket.bucketArn],
      conditions: { StringEquals: { 's3:prefix': this.trainerSource.asset.s3ObjectKey } },
    });
    allow({
      sid: 'PullTrainerImage',
      actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      resources: [this.trainerImage.repositoryArn],
    });
    // ECR's registry token has no resource: AWS allows only "*".
    allow({ sid: 'AuthenticateToEcr', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] });
    // SageMaker's documented training permissions, on the account's one training log group (streams
    // are named after each job); it usually exists already, hence CreateLogGroup on it only.
    allow({
      sid: 'WriteTrainingLogs',
      actions: [
        'logs:CreateLogGroup',
        'logs:CreateLogStream',
        'logs:DescribeLogStreams',
        'logs:PutLogEvents',
      ],
      resources: [this.trainingLogGroupArn, this.trainingLogStreamsArn],
    });
    // PutMetricData has no resource: the namespace condition is what narrows it.
    allow({
      sid: 'PublishTrainingMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': TRAINING_JOBS_METRIC_NAMESPACE } },
    });
    // A volume key in ResourceConfig needs kms:CreateGrant on it (SageMaker's CreateTrainingJob
    // execution-role permissions). The outputs bucket is SSE-S3: no key for the objects.
    allow({ sid: 'UseVolumeKey', actions: ['kms:CreateGrant'], resources: [this.volumeKey.keyArn] });
    return { role, policy };
  }
}
