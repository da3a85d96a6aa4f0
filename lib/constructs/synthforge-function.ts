/**
 * The project's Lambda defaults, in one place: Node 24 on arm64, ESM bundled by the local esbuild,
 * X-Ray, JSON logs into a log group with a retention, and a role that starts with nothing but
 * "write my own log group". Every other permission is an explicit statement added with `allow`.
 */
import { dirname, isAbsolute, join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  type IRole,
  Policy,
  PolicyStatement,
  type PolicyStatementProps,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import {
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import {
  type ICommandHooks,
  LogLevel,
  NodejsFunction,
  OutputFormat,
  SourceMapMode,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { REPO_ROOT } from '../paths.ts';

/** Settings every function of a stage shares. */
export interface FunctionDefaults {
  /** The stage name, given to the handler as `STAGE`. */
  readonly stage: string;
  /** Retention of each function's log group. */
  readonly logRetention: RetentionDays;
  /**
   * What deleting the stack does to the log groups.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export interface SynthForgeFunctionProps {
  /** The handler module, relative to the repository root (it exports `handler`). */
  readonly entry: string;
  /** What the function does, for the console. */
  readonly description: string;
  /** Memory in MB; always explicit. */
  readonly memorySize: number;
  /** Always explicit; at most 28 s for a function behind API Gateway. */
  readonly timeout: Duration;
  /**
   * The variables this handler reads, besides `STAGE`, `POWERTOOLS_SERVICE_NAME`,
   * `POWERTOOLS_METRICS_NAMESPACE` and `NODE_OPTIONS`, which every function gets.
   * @default - none
   */
  readonly environment?: Record<string, string>;
  readonly defaults: FunctionDefaults;
  /**
   * Where failed asynchronous invocations go (functions invoked by EventBridge).
   * @default - none (the caller handles failures, e.g. Step Functions' Retry/Catch)
   */
  readonly deadLetterQueue?: IQueue;
  /**
   * Files the handler reads at run time, copied next to the bundle: path in the bundle → path
   * relative to the repository root.
   * @default - none
   */
  readonly copyFiles?: Readonly<Record<string, string>>;
  /**
   * Packages installed next to the bundle instead of inlined (native code, model files esbuild
   * cannot bundle), at the lockfile's versions and for Lambda's platform (linux, arm64, glibc).
   * @default - none: everything is bundled
   */
  readonly nodeModules?: readonly string[];
}

/** The Powertools service and CloudWatch metrics namespace of every function. */
export const POWERTOOLS_SERVICE_NAME = 'synthforge';
export const POWERTOOLS_METRICS_NAMESPACE = 'SynthForge';

/**
 * esbuild's output is ESM, but some dependencies still call `require` for Node built-ins. The import
 * is aliased: bundled code may import `createRequire` itself, and the banner is not renamed.
 */
export const REQUIRE_SHIM =
  "import { createRequire as __synthforgeCreateRequire } from 'node:module'; const require = __synthforgeCreateRequire(import.meta.url);";

/**
 * How every function is bundled, as plain data: the construct hands it to NodejsFunction and
 * `npm run bench` builds the same bundles from it.
 */
export const LAMBDA_BUNDLE = {
  format: 'esm',
  target: 'node24',
  mainFields: ['module', 'main'],
  banner: REQUIRE_SHIM,
  // Less than half the code for Node to parse at every cold start (the bundles' largest import cost);
  // the source maps keep stack traces pointing at the TypeScript.
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  // Modules swapped for what a Lambda function actually runs (each file says why); paths from the
  // repository root, where the stack and the bench run esbuild.
  alias: {
    '@aws-sdk/credential-provider-node': './lambdas/shared/lambda-credentials.ts',
    '@aws-sdk/token-providers': './lambdas/shared/lambda-token-providers.ts',
  },
} as const;

/**
 * A Lambda function with SynthForge's defaults.
 *
 * - `nodejs24.x` on arm64 (Graviton): cheaper per GB-s and nothing here ships native x86 code.
 * - ESM bundle built by the local esbuild (never Docker), `mainFields: ['module', 'main']` so
 *   packages resolve to their ESM builds (and esbuild can drop what a function never calls), a
 *   `createRequire` banner, minified, with source maps without `sourcesContent` (smaller bundles;
 *   with `--enable-source-maps` the stack traces still point at the TypeScript). The AWS SDK is
 *   bundled too: the versions tested offline are the ones that run.
 * - X-Ray active tracing; JSON logs at INFO into a log group of its own with the stage's retention.
 * - Its own role, created next to it, allowed only to write that log group; `allow` adds the rest.
 *
 * The role and the log group are siblings (`<id>Role`, `<id>Logs`) because they must exist before
 * the function does.
 */
export class SynthForgeFunction extends NodejsFunction {
  /** The execution role (X-Ray and log writes only, until `allow` adds statements). */
  readonly executionRole: IRole;
  /** Memory in MB, as configured. */
  readonly memoryMb: number;
  /** The handler module, relative to the repository root. */
  readonly entryModule: string;
  #access?: Policy;

  constructor(scope: Construct, id: string, props: SynthForgeFunctionProps) {
    const removalPolicy = props.defaults.removalPolicy ?? RemovalPolicy.RETAIN;
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.defaults.logRetention,
      removalPolicy,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.entry}`,
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'WriteOwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );

    super(scope, id, {
      entry: join(REPO_ROOT, props.entry),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      tracing: Tracing.ACTIVE,
      awsSdkConnectionReuse: false,
      environment: {
        ...props.environment,
        STAGE: props.defaults.stage,
        POWERTOOLS_SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE,
        NODE_OPTIONS: '--enable-source-maps',
      },
      ...(props.deadLetterQueue ? { deadLetterQueue: props.deadLetterQueue } : {}),
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: LAMBDA_BUNDLE.target,
        mainFields: [...LAMBDA_BUNDLE.mainFields],
        banner: LAMBDA_BUNDLE.banner,
        externalModules: [],
        minify: LAMBDA_BUNDLE.minify,
        sourceMap: LAMBDA_BUNDLE.sourceMap,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: LAMBDA_BUNDLE.sourcesContent,
        logLevel: LogLevel.WARNING,
        esbuildArgs: {
          '--alias': Object.entries(LAMBDA_BUNDLE.alias).map(([module, path]) => `${module}=${path}`),
        },
        ...(props.copyFiles || props.nodeModules?.length
          ? { commandHooks: bundlingHooks(props.copyFiles ?? {}, (props.nodeModules?.length ?? 0) > 0) }
          : {}),
        ...(props.nodeModules && props.nodeModules.length > 0
          ? {
              nodeModules: [...props.nodeModules],
              // npm installs the binaries of the platform it is told, not the one it runs on.
              environment: { npm_config_cpu: 'arm64', npm_config_os: 'linux', npm_config_libc: 'glibc' },
            }
          : {}),
      },
    });
    this.executionRole = role;
    this.memoryMb = props.memorySize;
    this.entryModule = props.entry;
  }

  /**
   * The policy that holds this function's own statements (everything `allow` adds), apart from the
   * role's default policy, which CDK fills with X-Ray and the dead-letter queue.
   */
  get accessPolicy(): Policy | undefined {
    return this.#access;
  }

  /** Adds one explicit statement to this function's access policy. `sid` names the intent. */
  allow(statement: PolicyStatementProps & { sid: string }): this {
    if (!this.#access) {
      this.#access = new Policy(this, 'Access', { roles: [this.executionRole] });
      // The first invocation must find its permissions in place.
      this.node.addDependency(this.#access);
    }
    this.#access.addStatements(new PolicyStatement(statement));
    return this;
  }
}

/**
 * Bundling hooks that copy `files` (bundle path → repository path) into the bundle and, when packages
 * were installed beside it, drop their source maps and type declarations: Lambda takes 250 MB
 * unzipped, and the bundled vision models (TensorFlow.js above all) come to 417 MB with them, 206 MB
 * without (measured on the validation function).
 */
function bundlingHooks(files: Readonly<Record<string, string>>, installed: boolean): ICommandHooks {
  const quote = (path: string) => `'${path.replace(/'/g, `'\\''`)}'`;
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir, outputDir) => [
      ...(installed
        ? [
            `find ${quote(join(outputDir, 'node_modules'))} \\( -name '*.map' -o -name '*.d.ts' \\) -type f -delete`,
          ]
        : []),
      ...Object.entries(files).flatMap(([target, source]) => {
        if (isAbsolute(target) || target.split('/').includes('..')) {
          throw new Error(`copyFiles: ${target} must be a relative path inside the bundle`);
        }
        const destination = join(outputDir, target);
        return [
          `mkdir -p ${quote(dirname(destination))}`,
          `cp ${quote(join(inputDir, source))} ${quote(destination)}`,
        ];
      }),
    ],
  };
}

/** A function's timeout must leave API Gateway's 29 s integration timeout a margin. */
export const API_FUNCTION_MAX_TIMEOUT = Duration.seconds(28);
