/**
 * The platform's own functions: the public routes, the jobs routes (which list, show and cancel the
 * jobs of every family), the REST API's key authorizer, the reconciler that closes the jobs of an
 * execution that ended without saying so, and the secret that signs list cursors. What it acts on
 * across families (the executions a cancel stops, the machines the reconciler hears of) the stack
 * derives from the other families (lib/synthforge-stack.ts).
 */
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { platformFamily } from '../../contracts/families/platform.ts';
import { DOCS_ASSETS } from '../../lambdas/docs/pages.ts';
import { SynthForgeFunction } from '../constructs/synthforge-function.ts';
import { accessPolicyOf, iam5Resource, type NagAcknowledgement } from '../nag.ts';
import { REPO_ROOT } from '../paths.ts';
import {
  API_FUNCTION,
  type CancellableExecutions,
  type FamilyConstruct,
  type FamilyRegistration,
  keepLogicalId,
  type SharedInfrastructure,
} from './family.ts';

const NAG_REASONS = {
  cursorSecretRotation:
    'The secret only signs short-lived pagination cursors (tamper evidence); the tenant binding of a cursor does not depend on it. Rotating it would invalidate every cursor in flight, and it is read once per cold start, so it is not rotated.',
} as const;

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

/** What a function that serves list routes needs to sign and check their cursors. */
export interface ListCursors {
  readonly environment: { readonly CURSOR_SECRET_ARN: string };
  /** Lets `fn` read the secret. */
  allow(fn: SynthForgeFunction): void;
}

export class PlatformFamily extends Construct implements FamilyConstruct<typeof platformFamily> {
  readonly manifest = platformFamily;
  readonly routeHandlers: { readonly public: SynthForgeFunction; readonly jobs: SynthForgeFunction };
  readonly stateMachines = {};
  readonly cancellable: readonly CancellableExecutions[] = [];
  /** The REQUEST authorizer: API key → tenant (and the tenant's usage-plan key). */
  readonly authorizer: SynthForgeFunction;
  /** Closes the jobs of an execution that failed, timed out or was aborted (any family's machine). */
  readonly reconciler: SynthForgeFunction;
  /**
   * HMAC key for list cursors, read once per cold start by the list routes (jobs, batches, training). A
   * random value generated at deploy time: it never appears in the template or the environment.
   */
  readonly cursorSecret: Secret;
  readonly listCursors: ListCursors;
  /** What `allowCancelling` let the jobs function stop. */
  #stoppable: readonly CancellableExecutions[] = [];

  constructor(scope: Construct, id: string, props: SharedInfrastructure) {
    super(scope, id);
    const { config, data, events, defaults } = props;

    this.cursorSecret = new Secret(this, 'CursorSecret', {
      description: 'Signs the pagination cursors of the SynthForge API',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: props.removalPolicy,
    });
    const secretArn = this.cursorSecret.secretArn;
    this.listCursors = {
      environment: { CURSOR_SECRET_ARN: secretArn },
      allow: (fn) =>
        fn.allow({
          sid: 'ReadCursorSecret',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [secretArn],
        }),
    };

    const publicFn = new SynthForgeFunction(this, 'Public', {
      ...API_FUNCTION,
      defaults,
      entry: 'lambdas/handlers/api/public.ts',
      description: 'API: service root, health, OpenAPI document, Swagger UI and ReDoc',
      copyFiles: docsAssetFiles(),
    });

    const jobs = new SynthForgeFunction(this, 'Jobs', {
      ...API_FUNCTION,
      defaults,
      entry: 'lambdas/handlers/api/jobs.ts',
      description: 'API: list, get and cancel jobs, job logs, usage',
      // No outputs bucket here: the one result these routes link, a completed inference job's answer,
      // is granted with its bucket by the inference family (lib/families/inference.ts).
      environment: {
        STATE_TABLE: data.stateTable.tableName,
        EVENT_BUS_NAME: events.bus.eventBusName,
        ...this.listCursors.environment,
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
    this.listCursors.allow(jobs);
    this.routeHandlers = { public: publicFn, jobs };

    this.authorizer = new SynthForgeFunction(this, 'Authorizer', {
      ...API_FUNCTION,
      defaults,
      // One GetItem: a slow authorizer only delays the 401.
      timeout: Duration.seconds(10),
      entry: 'lambdas/handlers/authorizer.ts',
      description: 'API: REQUEST authorizer, API key to tenant',
      environment: {
        KEYS_TABLE: data.keysTable.tableName,
        KEY_CACHE_TTL_SECONDS: String(config.api.keyCacheTtlSeconds),
      },
    });
    data.allowKeysTable(this.authorizer, ['dynamodb:GetItem']);

    this.reconciler = new SynthForgeFunction(this, 'Reconciler', {
      entry: 'lambdas/handlers/reconciler.ts',
      description: 'Fails a job and its open items when its execution failed, timed out or was aborted',
      memorySize: 1024,
      timeout: Duration.minutes(5),
      environment: { STATE_TABLE: data.stateTable.tableName, EVENT_BUS_NAME: events.bus.eventBusName },
      defaults,
      deadLetterQueue: events.deadLetterQueue,
    });
    // Its log group was the generation workflow's (Workflows/Reconciler) and is retained.
    keepLogicalId(this.reconciler.logGroup, 'WorkflowsReconcilerLogsAE2266D6');
    // A job's items (a batch's jobs) are read with Query on gsi1, failed with UpdateItem, logged with BatchWriteItem.
    data.allowStateTable(this.reconciler, [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
    ]);
    events.allowPublish(this.reconciler);
  }

  /** `DELETE /jobs/{id}` cancels a job of any family: the jobs function may stop these executions. */
  allowCancelling(executions: readonly CancellableExecutions[]): void {
    if (executions.length === 0) return;
    this.routeHandlers.jobs.allow({
      sid: 'StopExecutions',
      actions: ['states:StopExecution'],
      resources: executions.map((execution) => execution.executionArns),
    });
    this.#stoppable = executions;
  }

  nagAcknowledgements(): NagAcknowledgement[] {
    return [
      ...this.#stoppable.map(({ executionArns, reason }) => ({
        scope: accessPolicyOf(this.routeHandlers.jobs),
        id: iam5Resource(Stack.of(this), executionArns),
        reason,
      })),
      { scope: this.cursorSecret, id: 'AwsSolutions-SMG4', reason: NAG_REASONS.cursorSecretRotation },
    ];
  }
}

export const platform: FamilyRegistration = {
  manifest: platformFamily,
  // The construct the API's functions and the cursor secret were created in before lib/families/.
  id: 'ApiHandlers',
  build: (scope, id, context) => new PlatformFamily(scope, id, context),
};
