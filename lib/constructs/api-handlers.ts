/**
 * The Lambda functions behind the REST API: one per route family, plus the key authorizer, each with
 * exactly the environment and permissions its routes need; and the secret that signs list cursors.
 */
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DOCS_ASSETS } from '../../lambdas/docs/pages.ts';
import type { RouteFamily } from '../api-routes.ts';
import { REPO_ROOT } from '../paths.ts';
import type { Data } from './data.ts';
import type { Events } from './events.ts';
import type { ImageWorkflow } from './image-workflow.ts';
import type { ModelEndpoints } from './model-endpoints.ts';
import {
  API_FUNCTION_MAX_TIMEOUT,
  type FunctionDefaults,
  SynthForgeFunction,
} from './synthforge-function.ts';
import type { TrainingWorkflow } from './training-workflow.ts';
import type { Workflows } from './workflows.ts';

/** Runtime settings the API handlers read from their environment. */
export interface ApiRuntimeSettings {
  /** Map iterations of a batch that run at once (`BATCH_MAX_CONCURRENCY`). */
  readonly batchMaxConcurrency: number;
  /** Lifetime of a presigned result URL (`RESULT_URL_TTL_SECONDS`). */
  readonly resultUrlTtlSeconds: number;
  /** How long an idempotency key is remembered (`IDEMPOTENCY_TTL_SECONDS`). */
  readonly idempotencyTtlSeconds: number;
  /** Memory of the job worker, which batch estimates price (`WORKER_MEMORY_MB`). */
  readonly workerMemoryMb: number;
  /** Days a result stays in the outputs bucket: past them summaries say so (`RESULT_RETENTION_DAYS`). */
  readonly resultRetentionDays: number;
}

export interface ApiHandlersProps {
  readonly data: Data;
  readonly events: Events;
  /** The batch workflow the submission routes start and the cancel route stops. */
  readonly workflows: Workflows;
  /** Text-to-image: the workflow `POST /generate` starts, and the endpoints it reads. */
  readonly images: {
    readonly workflow: ImageWorkflow;
    readonly endpoints: ModelEndpoints;
    /** How long `POST /generate` waits before answering 202. */
    readonly syncWaitSeconds: number;
    readonly defaultModelId?: string | undefined;
  };
  /** Seed 002: the workflow `POST /train` starts and its cancel stops. */
  readonly training: TrainingWorkflow;
  readonly settings: ApiRuntimeSettings;
  /** Seconds the key authorizer trusts a verified key (`KEY_CACHE_TTL_SECONDS`; the stage's `api.keyCacheTtlSeconds`). */
  readonly keyCacheTtlSeconds: number;
  readonly defaults: FunctionDefaults;
  /** What deleting the stack does to the cursor secret. */
  readonly removalPolicy: RemovalPolicy;
}

const API_MEMORY_MB = 1024;

/**
 * The Swagger UI and ReDoc files the public function serves under /docs/: `lambdas/docs/pages.ts`
 * reads them from `docs-assets/` next to the handler (bundle path → repository path).
 */
export function docsAssetFiles(): Record<string, string> {
  const resolve = createRequire(`${REPO_ROOT}/package.json`).resolve;
  return Object.fromEntries(
    Object.entries(DOCS_ASSETS).map(([name, asset]) => [
      `docs-assets/${name}`,
      relative(REPO_ROOT, resolve(asset.file)),
    ]),
  );
}

export class ApiHandlers extends Construct {
  /** The function that serves each route family. */
  readonly families: Readonly<Record<RouteFamily, SynthForgeFunction>>;
  /** The REQUEST authorizer: API key → tenant (and the tenant's usage-plan key). */
  readonly authorizer: SynthForgeFunction;
  /**
   * HMAC key for list cursors, read once per cold start by the list routes (jobs, batches, training). A
   * random value generated at deploy time: it never appears in the template or the environment.
   */
  readonly cursorSecret: Secret;

  constructor(scope: Construct, id: string, props: ApiHandlersProps) {
    super(scope, id);
    const { data, events, workflows, settings, defaults } = props;

    this.cursorSecret = new Secret(this, 'CursorSecret', {
      description: 'Signs the pagination cursors of the SynthForge API',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: props.removalPolicy,
    });

    const common = { memorySize: API_MEMORY_MB, timeout: API_FUNCTION_MAX_TIMEOUT, defaults };

    const publicFn = new SynthForgeFunction(this, 'Public', {
      ...common,
      entry: 'lambdas/handlers/api/public.ts',
      description: 'API: service root, health, OpenAPI document, Swagger UI and ReDoc',
      copyFiles: docsAssetFiles(),
    });

    const generators = new SynthForgeFunction(this, 'Generators', {
      ...common,
      entry: 'lambdas/handlers/api/generators.ts',
      description: 'API: generator catalogue, parameter validation and random parameters',
      // The catalogue lists the stage's models too; reading it touches no AWS service.
      environment: props.images.workflow.modelsEnvironment,
    });

    const { workflow: imageWorkflow, endpoints } = props.images;
    const images = new SynthForgeFunction(this, 'Images', {
      ...common,
      entry: 'lambdas/handlers/api/images.ts',
      description: 'API: text-to-image generation (seed 001), one image or a batch',
      environment: {
        ...imageWorkflow.submitterEnvironment({ ...settings, defaultModelId: props.images.defaultModelId }),
        IDEMPOTENCY_TTL_SECONDS: String(settings.idempotencyTtlSeconds),
        IMAGE_SYNC_WAIT_SECONDS: String(props.images.syncWaitSeconds),
      },
    });
    // The phase of a waiting job comes from DescribeEndpoint.
    imageWorkflow.allowSubmit(images);
    endpoints.grantDescribe(images);

    const batches = new SynthForgeFunction(this, 'Batches', {
      ...common,
      entry: 'lambdas/handlers/api/batches.ts',
      description: 'API: standard and preview jobs, batches, estimates and summaries',
      environment: {
        // A batch whose generators are models runs on the image workflow (batches/submission.ts).
        ...imageWorkflow.submitterEnvironment({ ...settings, defaultModelId: props.images.defaultModelId }),
        BATCH_STATE_MACHINE_ARN: workflows.batchStateMachine.stateMachineArn,
        IDEMPOTENCY_TTL_SECONDS: String(settings.idempotencyTtlSeconds),
        WORKER_MEMORY_MB: String(settings.workerMemoryMb),
        RESULT_RETENTION_DAYS: String(settings.resultRetentionDays),
        CURSOR_SECRET_ARN: this.cursorSecret.secretArn,
      },
    });
    imageWorkflow.allowSubmit(batches);
    batches.allow({
      sid: 'StartBatchExecutions',
      actions: ['states:StartExecution'],
      resources: [workflows.batchStateMachine.stateMachineArn],
    });
    this.#allowCursorSecret(batches);

    const jobs = new SynthForgeFunction(this, 'Jobs', {
      ...common,
      entry: 'lambdas/handlers/api/jobs.ts',
      description: 'API: list, get and cancel jobs, job logs, usage',
      // No outputs bucket: none of these routes reads a result (result links are the batches routes').
      environment: {
        STATE_TABLE: data.stateTable.tableName,
        EVENT_BUS_NAME: events.bus.eventBusName,
        CURSOR_SECRET_ARN: this.cursorSecret.secretArn,
      },
    });
    // Reads, cancels (UpdateItem + log lines); no submissions, so no idempotency records.
    data.allowStateTable(jobs, [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
    ]);
    events.allowPublish(jobs);
    // DELETE /jobs/{id} cancels a job of any family: a batch, an image batch or a training run.
    jobs.allow({
      sid: 'StopBatchExecutions',
      actions: ['states:StopExecution'],
      resources: [workflows.batchExecutionArns, imageWorkflow.executionArns, props.training.executionArns],
    });
    this.#allowCursorSecret(jobs);

    const trainingWorkflow = props.training;
    const training = new SynthForgeFunction(this, 'Training', {
      ...common,
      entry: 'lambdas/handlers/api/training.ts',
      description: 'API: training runs (seed 002): start, status with live progress, list, cancel',
      environment: {
        ...trainingWorkflow.submitterEnvironment(settings),
        IDEMPOTENCY_TTL_SECONDS: String(settings.idempotencyTtlSeconds),
        CURSOR_SECRET_ARN: this.cursorSecret.secretArn,
      },
    });
    trainingWorkflow.allowSubmit(training);
    training.allow({
      sid: 'StopTrainingExecutions',
      actions: ['states:StopExecution'],
      resources: [trainingWorkflow.executionArns],
    });
    this.#allowCursorSecret(training);

    this.authorizer = new SynthForgeFunction(this, 'Authorizer', {
      ...common,
      // One GetItem: a slow authorizer only delays the 401.
      timeout: Duration.seconds(10),
      entry: 'lambdas/handlers/authorizer.ts',
      description: 'API: REQUEST authorizer, API key to tenant',
      environment: {
        KEYS_TABLE: data.keysTable.tableName,
        KEY_CACHE_TTL_SECONDS: String(props.keyCacheTtlSeconds),
      },
    });
    data.allowKeysTable(this.authorizer, ['dynamodb:GetItem']);

    this.families = { public: publicFn, generators, batches, jobs, images, training };
  }

  #allowCursorSecret(fn: SynthForgeFunction): void {
    fn.allow({
      sid: 'ReadCursorSecret',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [this.cursorSecret.secretArn],
    });
  }
}
