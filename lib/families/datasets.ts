/**
 * Seed 001's other half (contracts/families/datasets.ts): three API functions (validation, which
 * calls Rekognition and Comprehend; profiles; exports, which write to the stage's export buckets),
 * RunDatasetJob, the datasets machine's step, and the machine. Each function gets only its grants.
 *
 * The functions decode images with sharp, and with `detectors: bundled` the two that check privacy
 * (validation, RunDatasetJob) run face-api and Tesseract: those packages hold native code and model
 * files that esbuild cannot inline, so they are installed next to the bundles that need them, for
 * Lambda's platform (linux, arm64), when the stack is synthesized.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { datasetsFamily } from '../../contracts/families/datasets.ts';
import { JOB_SUBMISSION_ACTIONS } from '../constructs/data.ts';
import { type LambdaStateMachine, lambdaStateMachine } from '../constructs/lambda-state-machine.ts';
import { SynthForgeFunction } from '../constructs/synthforge-function.ts';
import { accessPolicyOf, iam5Resource, type NagAcknowledgement } from '../nag.ts';
import { BUNDLED_MODEL_MODULES, NATIVE_MODULES } from './datasets-packages.ts';
import {
  API_FUNCTION,
  type CancellableExecutions,
  type FamilyConstruct,
  type FamilyRegistration,
  type SharedInfrastructure,
} from './family.ts';
import { GenerationFamily } from './generation.ts';
import { PlatformFamily } from './platform.ts';

const NAG_REASONS = {
  tenantImages:
    "An image path or dataset names any key under the caller's tenant prefix (its generated images, its jobs' results, its uploads), chosen at run time: the functions read objects of the one outputs bucket, and the domain refuses any key outside the caller's tenant before reading (lambdas/domain/datasets/paths.ts).",
  tenantListing:
    "A dataset named by a prefix is listed under the caller's tenant prefix, chosen at run time; ListBucket is on the one outputs bucket.",
  datasetObjects:
    "A dataset job's progress and answer (<tenant>/dataset-jobs/<job>/...), the privacy gates (<tenant>/dataset-jobs/privacy-gates/...), profiles (<tenant>/profiles/<name>.json) and JSONL exports (<tenant>/exports/...) are keys of the caller's tenant and the job or name, chosen at run time; each statement allows only those key shapes in the one outputs bucket.",
  detectors:
    'Rekognition DetectFaces and DetectText and Comprehend DetectPiiEntities support no resource-level permissions, so AWS requires Resource "*"; the statement allows those three read-only calls only.',
  exportBuckets:
    "An export writes any key under the user's prefix of a bucket the stage lists (datasets.exportBuckets), chosen by the request: the statement names those buckets only.",
  stopDatasetExecutions:
    'Cancelling a dataset job stops its execution, whose name is the job id, known only at run time; the resource is limited to executions of the one datasets state machine.',
} as const;

export interface DatasetsFamilyProps extends SharedInfrastructure {
  /** Generation's FailJob: the datasets machine records with it what RunDatasetJob could not. */
  readonly failJob: SynthForgeFunction;
  /** The platform: its jobs function links a completed dataset job's answer. */
  readonly platform: PlatformFamily;
}

export class DatasetsFamily extends Construct implements FamilyConstruct<typeof datasetsFamily> {
  readonly manifest = datasetsFamily;
  readonly routeHandlers: {
    readonly validation: SynthForgeFunction;
    readonly profiles: SynthForgeFunction;
    readonly exports: SynthForgeFunction;
  };
  readonly stateMachines: { readonly datasets: LambdaStateMachine };
  readonly cancellable: readonly CancellableExecutions[];
  readonly runDatasetJob: SynthForgeFunction;
  readonly #acknowledged: { fn: SynthForgeFunction; arn: string; reason: string }[] = [];

  constructor(scope: Construct, id: string, props: DatasetsFamilyProps) {
    super(scope, id);
    const { config, data, events, defaults } = props;
    const settings = config.datasets;
    // Each function gets the settings its handler reads (lambdas/families/datasets/runtime.ts reads
    // a missing one as its default): the detectors where privacy is checked, the export settings
    // where exports are checked or written.
    const core = {
      STATE_TABLE: data.stateTable.tableName,
      OUTPUTS_BUCKET: data.outputsBucket.bucketName,
      EVENT_BUS_NAME: events.bus.eventBusName,
    };
    const submits = { ...core, IDEMPOTENCY_TTL_SECONDS: String(config.idempotencyTtlSeconds) };
    const detectors = { DATASETS_DETECTORS: settings.detectors };
    const publicRead = { DATASETS_ALLOW_PUBLIC_READ: String(settings.allowPublicRead) };
    const exportChecks = {
      ...publicRead,
      // No buckets: no variable (CloudFormation refuses an empty value), read as none.
      ...(settings.exportBuckets.length > 0
        ? { DATASETS_EXPORT_BUCKETS: settings.exportBuckets.join(',') }
        : {}),
      ...(Object.keys(settings.exportBucketTenants).length > 0
        ? { DATASETS_EXPORT_BUCKET_TENANTS: JSON.stringify(settings.exportBucketTenants) }
        : {}),
      DATASETS_REQUIRE_PRIVACY_VALIDATION: String(settings.requirePrivacyValidation),
      DATASETS_SYNC_EXPORT_LIMIT: String(settings.syncExportLimit),
      // The link to a JSONL export answered within the request.
      RESULT_URL_TTL_SECONDS: String(config.resultUrlTtlSeconds),
    };
    // sharp decodes images in every function (their runtime builds the decoder); only the functions
    // that check privacy load the bundled models.
    const decodes = [...NATIVE_MODULES];
    const detects = [...NATIVE_MODULES, ...(settings.detectors === 'bundled' ? BUNDLED_MODEL_MODULES : [])];
    const api = (
      name: string,
      entry: string,
      description: string,
      environment: Record<string, string>,
      nodeModules: string[],
    ) =>
      new SynthForgeFunction(this, name, {
        ...API_FUNCTION,
        // Decoding a 16 MP image takes 64 MB per copy; the bundled models take some 300 MB.
        memorySize: 2048,
        defaults,
        entry,
        description,
        environment,
        nodeModules,
      });
    const validation = api(
      'Validation',
      'lambdas/handlers/api/validation.ts',
      "API: an image's quality and privacy, a dataset's validation (seed 001)",
      { ...submits, ...detectors },
      detects,
    );
    const profiles = api(
      'Profiles',
      'lambdas/handlers/api/profiles.ts',
      'API: image profiles (seed 001)',
      submits,
      decodes,
    );
    const exportsFn = api(
      'Exports',
      'lambdas/handlers/api/exports.ts',
      'API: JSONL and S3 exports (seed 001)',
      { ...submits, ...exportChecks },
      decodes,
    );
    this.runDatasetJob = new SynthForgeFunction(this, 'RunDatasetJob', {
      memorySize: 3008,
      // A slice stops taking images after 10 minutes (run-job.ts): one image more fits the rest.
      timeout: Duration.minutes(15),
      defaults,
      entry: 'lambdas/handlers/workflow/run-dataset-job.ts',
      description:
        "Datasets workflow: a dataset's validation, a profile or an export, a slice at a time (seed 001)",
      // A job's export was checked by the exports API when it was accepted; writing it still
      // refuses public_read unless the stage allows it.
      environment: { ...core, ...detectors, ...publicRead },
      nodeModules: detects,
    });
    const all = [validation, profiles, exportsFn, this.runDatasetJob];

    // Jobs are stored, read, moved and logged; a batch's images are read through the batch index.
    for (const fn of [validation, profiles, exportsFn]) data.allowStateTable(fn, JOB_SUBMISSION_ACTIONS);
    data.allowStateTable(this.runDatasetJob, [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
    ]);
    for (const fn of all) events.allowPublish(fn);

    const tenantObjects = data.outputsBucket.arnForObjects('*');
    for (const fn of all) {
      this.#allow(
        fn,
        { sid: 'TenantImages', actions: ['s3:GetObject'], resources: [tenantObjects] },
        NAG_REASONS.tenantImages,
      );
      fn.allow({
        sid: 'TenantListing',
        actions: ['s3:ListBucket'],
        resources: [data.outputsBucket.bucketArn],
      });
    }
    const datasetObjects = data.outputsBucket.arnForObjects('*/dataset-jobs/*');
    const profileObjects = data.outputsBucket.arnForObjects('*/profiles/*');
    const exportObjects = data.outputsBucket.arnForObjects('*/exports/*');
    this.#allow(
      this.runDatasetJob,
      {
        sid: 'DatasetObjects',
        actions: ['s3:PutObject'],
        resources: [datasetObjects, profileObjects, exportObjects],
      },
      NAG_REASONS.datasetObjects,
    );
    this.#allow(
      exportsFn,
      { sid: 'JsonlExports', actions: ['s3:PutObject'], resources: [exportObjects] },
      NAG_REASONS.datasetObjects,
    );

    if (settings.detectors === 'aws') {
      for (const fn of [validation, this.runDatasetJob]) {
        fn.allow({
          sid: 'PrivacyDetectors',
          actions: ['rekognition:DetectFaces', 'rekognition:DetectText', 'comprehend:DetectPiiEntities'],
          resources: ['*'],
        });
        this.#acknowledged.push({ fn, arn: '*', reason: NAG_REASONS.detectors });
      }
    }
    if (settings.exportBuckets.length > 0) {
      // One statement for all the stage's buckets: a Sid made of each bucket's name could repeat.
      const partition = Stack.of(this).partition;
      const objects = settings.exportBuckets.map((bucket) => `arn:${partition}:s3:::${bucket}/*`);
      for (const fn of [exportsFn, this.runDatasetJob]) {
        this.#allow(
          fn,
          {
            sid: 'ExportBuckets',
            // The canned ACL public-read is sent only where the stage allows public_read.
            actions: ['s3:PutObject', ...(settings.allowPublicRead ? ['s3:PutObjectAcl'] : [])],
            resources: objects,
          },
          NAG_REASONS.exportBuckets,
        );
      }
    }

    // `GET /jobs/{id}` links a completed dataset job's answer: the jobs function signs the link.
    const { jobs } = props.platform.routeHandlers;
    jobs.addEnvironment('OUTPUTS_BUCKET', data.outputsBucket.bucketName);
    jobs.addEnvironment('RESULT_URL_TTL_SECONDS', String(config.resultUrlTtlSeconds));
    this.#allow(
      jobs,
      {
        sid: 'DatasetJobResults',
        actions: ['s3:GetObject'],
        resources: [data.outputsBucket.arnForObjects('*/dataset-jobs/*/result.json'), profileObjects],
      },
      NAG_REASONS.datasetObjects,
    );

    const machine = lambdaStateMachine(this, {
      machine: 'datasets',
      taskOf: { RunDatasetJobFunctionArn: this.runDatasetJob, FailJobFunctionArn: props.failJob },
      stage: defaults.stage,
      logSuffix: 'datasets',
      description: "datasets workflow: a dataset's validation, a profile or an export (seed 001)",
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      ids: { output: 'DatasetsStateMachineArn' },
    });
    for (const fn of [validation, profiles, exportsFn]) {
      fn.addEnvironment('DATASETS_STATE_MACHINE_ARN', machine.stateMachine.stateMachineArn);
      fn.allow({
        sid: 'StartDatasetExecutions',
        actions: ['states:StartExecution'],
        resources: [machine.stateMachine.stateMachineArn],
      });
    }

    this.routeHandlers = { validation, profiles, exports: exportsFn };
    this.stateMachines = { datasets: machine };
    this.cancellable = [{ executionArns: machine.executionArns, reason: NAG_REASONS.stopDatasetExecutions }];
  }

  /** A statement whose wildcard resources cdk-nag reports, with the reason it is acknowledged. */
  #allow(
    fn: SynthForgeFunction,
    statement: { sid: string; actions: string[]; resources: string[] },
    reason: string,
  ) {
    fn.allow(statement);
    for (const arn of statement.resources) this.#acknowledged.push({ fn, arn, reason });
  }

  nagAcknowledgements(): NagAcknowledgement[] {
    const stack = Stack.of(this);
    return this.#acknowledged
      .filter(({ arn }) => arn.includes('*'))
      .map(({ fn, arn, reason }) => ({
        scope: accessPolicyOf(fn),
        id: arn === '*' ? 'AwsSolutions-IAM5[Resource::*]' : iam5Resource(stack, arn),
        reason,
      }));
  }
}

export const datasets: FamilyRegistration = {
  manifest: datasetsFamily,
  id: 'Datasets',
  build: (scope, id, context) =>
    new DatasetsFamily(scope, id, {
      ...context,
      failJob: context.families.require(GenerationFamily, 'datasets').workflow.tasks.failJob,
      platform: context.families.require(PlatformFamily, 'datasets'),
    }),
};
