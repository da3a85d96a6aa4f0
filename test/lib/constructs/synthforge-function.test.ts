import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainingConfigSchema, trainingSettingsOf } from '../../../contracts/training.ts';
import { DOCS_ASSETS } from '../../../lambdas/docs/pages.ts';
import { REQUIRE_SHIM, SynthForgeFunction } from '../../../lib/constructs/synthforge-function.ts';
import { AvatarsFamily } from '../../../lib/families/avatars.ts';
import { DatasetsFamily } from '../../../lib/families/datasets.ts';
import { InferenceFamily } from '../../../lib/families/inference.ts';
import { docsAssetFiles } from '../../../lib/families/platform.ts';
import {
  buildTestStack,
  type CfnJson,
  referencedId,
  resourcesOfType,
  type Statement,
  type TestStack,
} from '../stack-fixture.ts';

let built: TestStack;
let functions: ReturnType<typeof resourcesOfType>;

beforeAll(() => {
  built = buildTestStack({ logRetentionDays: 60 });
  functions = resourcesOfType(built.template, 'AWS::Lambda::Function');
});

const COMMON_ENV = ['NODE_OPTIONS', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME', 'STAGE'];

describe('every function', () => {
  it('is one of the stack’s thirty-six, on nodejs24.x arm64 with X-Ray, explicit memory and timeout', () => {
    expect(Object.keys(functions).sort()).toEqual(built.stack.functions.map((fn) => built.idOf(fn)).sort());
    expect(Object.keys(functions)).toHaveLength(36);
    for (const [id, fn] of Object.entries(functions)) {
      expect(fn.Properties, id).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN' },
      });
      expect(fn.Properties.MemorySize, id).toEqual(expect.any(Number));
      expect(fn.Properties.Timeout, id).toEqual(expect.any(Number));
    }
  });

  it('logs to a log group of its own with the stage retention', () => {
    const groups = resourcesOfType(built.template, 'AWS::Logs::LogGroup');
    const seen = new Set<string>();
    for (const [id, fn] of Object.entries(functions)) {
      const groupId = referencedId((fn.Properties.LoggingConfig as { LogGroup: unknown }).LogGroup) as string;
      expect(groups[groupId]?.Properties.RetentionInDays, id).toBe(60);
      expect(seen.has(groupId), `${id} shares a log group`).toBe(false);
      seen.add(groupId);
    }
  });

  it('has a role of its own, which may write only its own log group before `allow` adds anything', () => {
    const roles = new Set(Object.values(functions).map((fn) => referencedId(fn.Properties.Role)));
    expect(roles.size).toBe(Object.keys(functions).length);
    const roleResources = resourcesOfType(built.template, 'AWS::IAM::Role');
    for (const roleId of roles) {
      expect(roleResources[roleId as string]?.Properties.ManagedPolicyArns, roleId).toBeUndefined();
    }
    const resources = built.template.toJSON().Resources as Record<string, { Properties: CfnJson }>;
    for (const fn of built.stack.functions) {
      const defaultPolicy = fn.executionRole.node.findChild('DefaultPolicy').node.defaultChild;
      const statements = resources[built.stack.getLogicalId(defaultPolicy as never)]?.Properties
        .PolicyDocument.Statement as Statement[];
      const logs = statements.find((statement) => statement.Sid === 'WriteOwnLogGroup');
      expect(logs?.Action).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(referencedId(logs?.Resource)).toBe(built.idOf(fn.logGroup));
      // Besides its log group: X-Ray (added by CDK for tracing) and, for the functions EventBridge
      // invokes (reconciler, WebSocket push), their dead-letter queue.
      const others = statements
        .filter((statement) => statement !== logs)
        .map((statement) => statement.Action);
      const allowedOthers = [['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], 'sqs:SendMessage'];
      for (const actions of others) expect(allowedOthers, fn.node.path).toContainEqual(actions);
    }
  });

  it('gets the common environment plus exactly the variables its handler reads', () => {
    const { routeHandlers, webSocket } = built.stack;
    const { platform, generation, images, training } = built.families;
    const avatars = built.stack.families.require(AvatarsFamily, 'the tests');
    const datasets = built.stack.families.require(DatasetsFamily, 'the tests');
    const imageTask = [
      'EVENT_BUS_NAME',
      'IMAGE_MODELS',
      'IMAGE_REQUEST_TTL_SECONDS',
      'OUTPUTS_BUCKET',
      'STATE_TABLE',
    ];
    const expected = new Map<SynthForgeFunction, string[]>([
      [routeHandlers.public, []],
      // The catalogue lists the stage's models; nothing else.
      [routeHandlers.generators, ['IMAGE_MODELS']],
      [
        routeHandlers.images,
        [
          'BATCH_MAX_CONCURRENCY',
          'EVENT_BUS_NAME',
          'IDEMPOTENCY_TTL_SECONDS',
          'IMAGE_MODELS',
          'IMAGE_STATE_MACHINE_ARN',
          'IMAGE_SYNC_WAIT_SECONDS',
          'OUTPUTS_BUCKET',
          // Seed 001's per-minute limits (lib/rate-limits.ts): it serves the generation routes.
          'RATE_LIMITS',
          'RESULT_URL_TTL_SECONDS',
          'STATE_TABLE',
        ],
      ],
      [images.workflow.invokeModel, imageTask],
      [images.workflow.notifications, imageTask],
      // A batch whose generators are models starts the image workflow: its models and machine too.
      [
        routeHandlers.batches,
        [
          'BATCH_MAX_CONCURRENCY',
          'BATCH_STATE_MACHINE_ARN',
          'CURSOR_SECRET_ARN',
          'EVENT_BUS_NAME',
          'IDEMPOTENCY_TTL_SECONDS',
          'IMAGE_MODELS',
          'IMAGE_STATE_MACHINE_ARN',
          'OUTPUTS_BUCKET',
          'RESULT_RETENTION_DAYS',
          'RESULT_URL_TTL_SECONDS',
          'STATE_TABLE',
          'WORKER_MEMORY_MB',
        ],
      ],
      [
        routeHandlers.jobs,
        // The results the jobs routes read are a completed inference or dataset job's answer, which
        // the job view links: the outputs bucket and the link's lifetime. A cancel stops its
        // execution by ARN, so no state machine ARN.
        ['CURSOR_SECRET_ARN', 'EVENT_BUS_NAME', 'OUTPUTS_BUCKET', 'RESULT_URL_TTL_SECONDS', 'STATE_TABLE'],
      ],
      [
        routeHandlers.training,
        [
          'CURSOR_SECRET_ARN',
          'EVENT_BUS_NAME',
          'IDEMPOTENCY_TTL_SECONDS',
          'OUTPUTS_BUCKET',
          'RESULT_URL_TTL_SECONDS',
          'STATE_TABLE',
          'TRAINING_SETTINGS',
          'TRAINING_STATE_MACHINE_ARN',
        ],
      ],
      // The blobs adapter needs the bucket even for PrepareTraining, which names the job's S3 URIs.
      [
        training.workflow.prepareTraining,
        ['EVENT_BUS_NAME', 'OUTPUTS_BUCKET', 'STATE_TABLE', 'TRAINING_SETTINGS', 'TRAINING_VOLUME_KEY_ARN'],
      ],
      [
        training.workflow.recordTraining,
        ['EVENT_BUS_NAME', 'OUTPUTS_BUCKET', 'STATE_TABLE', 'TRAINING_SETTINGS'],
      ],
      [platform.authorizer, ['KEYS_TABLE', 'KEY_CACHE_TTL_SECONDS']],
      [generation.workflow.tasks.startBatch, ['EVENT_BUS_NAME', 'STATE_TABLE']],
      [generation.workflow.tasks.runJob, ['EVENT_BUS_NAME', 'OUTPUTS_BUCKET', 'STATE_TABLE']],
      [generation.workflow.tasks.failJob, ['EVENT_BUS_NAME', 'STATE_TABLE']],
      [generation.workflow.tasks.finishBatch, ['EVENT_BUS_NAME', 'STATE_TABLE']],
      [platform.reconciler, ['EVENT_BUS_NAME', 'STATE_TABLE']],
      [webSocket.authorizer, ['KEYS_TABLE']],
      // $connect and $disconnect touch the connection records only.
      [webSocket.connections, ['STATE_TABLE']],
      // What ImageService.generate reads (as the images API), and where to post back.
      [
        webSocket.messages,
        [
          'BATCH_MAX_CONCURRENCY',
          'EVENT_BUS_NAME',
          'IMAGE_MODELS',
          'IMAGE_STATE_MACHINE_ARN',
          'OUTPUTS_BUCKET',
          // A generate message counts against seed 001's generation limit.
          'RATE_LIMITS',
          'RESULT_URL_TTL_SECONDS',
          'STATE_TABLE',
          'WEBSOCKET_CALLBACK_URL',
        ],
      ],
      // Reads jobs and subscriptions, presigns results, posts: no workflow, no bus, no models.
      [webSocket.push, ['OUTPUTS_BUCKET', 'RESULT_URL_TTL_SECONDS', 'STATE_TABLE', 'WEBSOCKET_CALLBACK_URL']],
      // The models, the call deadline, usage items and presigned uploads; the buffered routes also
      // start an `"async": true` request's job (its machine, the bus for a job that cannot start),
      // and keep their Idempotency-Key records.
      [
        routeHandlers.inference,
        [
          'EVENT_BUS_NAME',
          'IDEMPOTENCY_TTL_SECONDS',
          'INFERENCE_DEADLINE_MS',
          'INFERENCE_MODELS',
          'INFERENCE_STATE_MACHINE_ARN',
          'OUTPUTS_BUCKET',
          'RESULT_URL_TTL_SECONDS',
          'STATE_TABLE',
        ],
      ],
      // The stream: the models, the deadline, its request's frames and its usage; it presigns nothing.
      [
        routeHandlers.inferenceStream,
        ['INFERENCE_DEADLINE_MS', 'INFERENCE_MODELS', 'OUTPUTS_BUCKET', 'STATE_TABLE'],
      ],
      // An async job's call: the models and its deadline, the job, its request and answer.
      [
        built.stack.families.require(InferenceFamily, 'the tests').runInference,
        [
          'EVENT_BUS_NAME',
          'INFERENCE_ASYNC_DEADLINE_MS',
          'INFERENCE_MODELS',
          'OUTPUTS_BUCKET',
          'STATE_TABLE',
        ],
      ],
      // Sets, uploads, jobs (started on the avatars machine, listed with cursors) and result links.
      [
        avatars.routeHandlers.avatars,
        [
          'AVATARS_STATE_MACHINE_ARN',
          'CURSOR_SECRET_ARN',
          'EVENT_BUS_NAME',
          'IDEMPOTENCY_TTL_SECONDS',
          'OUTPUTS_BUCKET',
          'RESULT_URL_TTL_SECONDS',
          'STATE_TABLE',
        ],
      ],
      // The avatars runtime builds every step's blob store, so each gets the bucket; the steps that
      // move a job publish its change.
      [avatars.tasks.decide, ['EVENT_BUS_NAME', 'OUTPUTS_BUCKET', 'STATE_TABLE']],
      [avatars.tasks.awaitParents, ['OUTPUTS_BUCKET', 'STATE_TABLE']],
      [avatars.tasks.run, ['EVENT_BUS_NAME', 'OUTPUTS_BUCKET', 'STATE_TABLE']],
      [avatars.tasks.runLarge, ['EVENT_BUS_NAME', 'OUTPUTS_BUCKET', 'STATE_TABLE']],
      // And a processing job's time limit (the stage's avatars.processingMaxRuntimeHours).
      [
        avatars.tasks.prepareProcessing,
        ['AVATAR_PROCESSING_MAX_RUNTIME_SECONDS', 'EVENT_BUS_NAME', 'OUTPUTS_BUCKET', 'STATE_TABLE'],
      ],
      [
        avatars.tasks.recordProcessing,
        ['AVATAR_PROCESSING_MAX_RUNTIME_SECONDS', 'EVENT_BUS_NAME', 'OUTPUTS_BUCKET', 'STATE_TABLE'],
      ],
      [avatars.tasks.release, ['OUTPUTS_BUCKET', 'STATE_TABLE']],
      [avatars.wakeOnEnd, ['OUTPUTS_BUCKET', 'STATE_TABLE']],
      // The dataset routes read images (the bucket), submit jobs (the table, the bus, the datasets
      // machine, Idempotency-Key records); validation checks privacy with the stage's detectors and
      // counts against seed 001's validation limit.
      [
        datasets.routeHandlers.validation,
        [
          'DATASETS_DETECTORS',
          'DATASETS_STATE_MACHINE_ARN',
          'EVENT_BUS_NAME',
          'IDEMPOTENCY_TTL_SECONDS',
          'OUTPUTS_BUCKET',
          'RATE_LIMITS',
          'STATE_TABLE',
        ],
      ],
      [
        datasets.routeHandlers.profiles,
        [
          'DATASETS_STATE_MACHINE_ARN',
          'EVENT_BUS_NAME',
          'IDEMPOTENCY_TTL_SECONDS',
          'OUTPUTS_BUCKET',
          'STATE_TABLE',
        ],
      ],
      // Checks an export's request (public_read, the privacy gate; the stage's export buckets,
      // left out when it lists none), writes a small one within the request and counts against
      // seed 001's export limit.
      [
        datasets.routeHandlers.exports,
        [
          'DATASETS_ALLOW_PUBLIC_READ',
          'DATASETS_REQUIRE_PRIVACY_VALIDATION',
          'DATASETS_STATE_MACHINE_ARN',
          'DATASETS_SYNC_EXPORT_LIMIT',
          'RESULT_URL_TTL_SECONDS',
          'EVENT_BUS_NAME',
          'IDEMPOTENCY_TTL_SECONDS',
          'OUTPUTS_BUCKET',
          'RATE_LIMITS',
          'STATE_TABLE',
        ],
      ],
      // A job's validation (the detectors) or export (public_read); it starts no job.
      [
        datasets.runDatasetJob,
        [
          'DATASETS_ALLOW_PUBLIC_READ',
          'DATASETS_DETECTORS',
          'EVENT_BUS_NAME',
          'OUTPUTS_BUCKET',
          'STATE_TABLE',
        ],
      ],
    ]);
    expect(expected.size).toBe(built.stack.functions.length);
    for (const [fn, vars] of expected) {
      const env = functions[built.idOf(fn)]?.Properties.Environment.Variables as Record<string, unknown>;
      expect(Object.keys(env).sort(), fn.node.path).toEqual([...vars, ...COMMON_ENV].sort());
      expect(env).toMatchObject({
        STAGE: 'test',
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'synthforge',
        POWERTOOLS_METRICS_NAMESPACE: 'SynthForge',
      });
    }
    // The stage's training settings (the test stage names none: the defaults), without the image and
    // the prices, as the functions parse them.
    const settings = trainingSettingsOf(TrainingConfigSchema.parse({}));
    for (const fn of [
      routeHandlers.training,
      training.workflow.prepareTraining,
      training.workflow.recordTraining,
    ]) {
      const env = functions[built.idOf(fn)]?.Properties.Environment.Variables as Record<string, string>;
      expect(JSON.parse(env.TRAINING_SETTINGS as string), fn.node.path).toEqual(settings);
    }
    const batchesEnv = functions[built.idOf(routeHandlers.batches)]?.Properties.Environment.Variables;
    expect(batchesEnv).toMatchObject({
      BATCH_MAX_CONCURRENCY: '8',
      RESULT_URL_TTL_SECONDS: '900',
      IDEMPOTENCY_TTL_SECONDS: '86400',
      RESULT_RETENTION_DAYS: '30',
      WORKER_MEMORY_MB: String(
        functions[built.idOf(generation.workflow.tasks.runJob)]?.Properties.MemorySize,
      ),
    });
  });

  it('sizes the worker for rendering: run-job has 2048 MB and 900 s', () => {
    expect(functions[built.idOf(built.families.generation.workflow.tasks.runJob)]?.Properties).toMatchObject({
      MemorySize: 2048,
      Timeout: 900,
    });
  });
});

describe('bundling', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'synthforge-bundle-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));
  let bundleDir: string;

  beforeAll(() => {
    const app = new App({ outdir, builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'Bundle');
    new SynthForgeFunction(stack, 'Public', {
      entry: 'lambdas/handlers/api/public.ts',
      description: 'bundling check',
      memorySize: 256,
      timeout: Duration.seconds(5),
      defaults: { stage: 'test', logRetention: RetentionDays.ONE_DAY },
      copyFiles: docsAssetFiles(),
    });
    const assembly = app.synth();
    const assetDirs = readdirSync(assembly.directory).filter((name) => name.startsWith('asset.'));
    expect(assetDirs).toHaveLength(1);
    bundleDir = join(assembly.directory, assetDirs[0] as string);
  });

  it('bundles with the local esbuild (no Docker) into ESM with a require shim and external source maps', () => {
    expect(readdirSync(bundleDir).sort()).toEqual(['docs-assets', 'index.mjs', 'index.mjs.map']);
    const code = readFileSync(join(bundleDir, 'index.mjs'), 'utf8');
    expect(code.split('\n', 1)[0]).toBe(REQUIRE_SHIM);
    expect(code).toContain('//# sourceMappingURL=index.mjs.map');
    const map = JSON.parse(readFileSync(join(bundleDir, 'index.mjs.map'), 'utf8'));
    expect(map.sourcesContent).toBeUndefined();
  });

  it('copies the files the handler reads next to it', () => {
    expect(readdirSync(join(bundleDir, 'docs-assets')).sort()).toEqual(Object.keys(DOCS_ASSETS).sort());
  });

  it('the bundle loads on Node 24 and serves a route and a docs asset', () => {
    const event = (path: string, resource: string, pathParameters: Record<string, string> | null) => ({
      httpMethod: 'GET',
      path,
      resource,
      pathParameters,
      headers: { host: 'example.test' },
      queryStringParameters: null,
      body: null,
      isBase64Encoded: false,
      requestContext: { requestId: 'r-1', stage: 'test', domainName: 'example.test' },
    });
    const script = `
      const { handler } = await import(${JSON.stringify(join(bundleDir, 'index.mjs'))});
      const context = { functionName: 'public', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 5000 };
      const out = [];
      for (const event of ${JSON.stringify([
        event('/health', '/health', null),
        event('/docs/swagger-ui.css', '/docs/{asset}', { asset: 'swagger-ui.css' }),
      ])}) {
        const response = await handler(event, context);
        out.push({ statusCode: response.statusCode, length: response.body.length });
      }
      console.log(JSON.stringify(out));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'eu-west-1',
        POWERTOOLS_TRACE_ENABLED: 'false',
        POWERTOOLS_METRICS_DISABLED: 'true',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        STAGE: 'test',
      },
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/error/i);
    const [health, css] = JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
    expect(health.statusCode).toBe(200);
    expect(css.statusCode).toBe(200);
    expect(css.length).toBeGreaterThan(10_000);
  });
});
