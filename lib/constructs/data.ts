/**
 * Where SynthForge keeps its state: the job-state and API-key tables (laid out by
 * `lambdas/adapters/dynamo/tables.ts`, the same definitions the local platform uses), the KMS key
 * that encrypts them, and the outputs bucket with its access-log bucket.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { KEYS_TABLE, STATE_TABLE, type TableLayout } from '../../lambdas/adapters/dynamo/tables.ts';
import type { SynthForgeFunction } from './synthforge-function.ts';

/**
 * The item attribute DynamoDB's TTL deletes expired items by. Only idempotency records, WebSocket
 * connections (with their subscriptions) and rate-limit counters set it: jobs and their logs are kept.
 */
export const TTL_ATTRIBUTE = 'ttl';

export type TableAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:Query'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:BatchWriteItem';

/**
 * What submitting a batch of jobs (of any family) does to the state table: creates jobs (PutItem),
 * transitions them (UpdateItem), logs (BatchWriteItem), keeps idempotency records
 * (PutItem/UpdateItem/DeleteItem) and reads them back (GetItem, Query).
 */
export const JOB_SUBMISSION_ACTIONS: readonly TableAction[] = [
  'dynamodb:GetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

export type OutputsAction = 's3:GetObject' | 's3:PutObject';

const WRITE_ACTIONS: ReadonlySet<TableAction> = new Set([
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
]);

export interface DataProps {
  /** What deleting the stack does to the tables, the key and the buckets. */
  readonly removalPolicy: RemovalPolicy;
  /** Days a result archive stays in the outputs bucket. */
  readonly resultRetentionDays: number;
  /**
   * Days a replaced or deleted result version is kept.
   * @default 7
   */
  readonly noncurrentVersionRetentionDays?: number;
  /**
   * Days S3 server access logs are kept.
   * @default 90
   */
  readonly accessLogRetentionDays?: number;
}

/**
 * Two tables and two buckets:
 *
 * - State table (jobs, batches, logs, idempotency records) and keys table (hashed API keys): on
 *   demand, point-in-time recovery, encrypted with a customer-managed key that rotates yearly, so
 *   that reading the data needs a grant on that key too; deletion protection while retained.
 * - Outputs bucket: result archives, versioned, SSE-S3 (results are handed out as presigned URLs;
 *   SSE-KMS would add a KMS call per download and nothing an attacker without the role lacks),
 *   public access blocked, TLS 1.2+ only, results expire, old versions and failed uploads are
 *   cleaned up, server access logs to the access-log bucket.
 */
export class Data extends Construct {
  /** Encrypts both tables. */
  readonly tableKey: Key;
  readonly stateTable: Table;
  readonly keysTable: Table;
  readonly outputsBucket: Bucket;
  readonly accessLogsBucket: Bucket;

  readonly #outputsGrantees: SynthForgeFunction[] = [];

  constructor(scope: Construct, id: string, props: DataProps) {
    super(scope, id);
    const destroyed = props.removalPolicy === RemovalPolicy.DESTROY;
    // A retained stage's tables are deletion-protected, and DynamoDB refuses to delete a protected
    // table: with RetainExceptOnCreate the rollback of a failed first create would try, fail, and
    // leave the stack in ROLLBACK_FAILED. So they keep plain Retain, and their key with them (a table
    // whose key is gone cannot be read). Their names are generated, so a retry never collides with
    // tables a failed create left behind; those are empty and cost nothing on demand.
    const tablePolicy = destroyed ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.tableKey = new Key(this, 'TableKey', {
      description: 'Encrypts the SynthForge state and keys tables',
      enableKeyRotation: true,
      removalPolicy: tablePolicy,
    });

    const tableDefaults = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.tableKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: !destroyed,
      removalPolicy: tablePolicy,
    };
    this.stateTable = tableFromLayout(this, 'StateTable', STATE_TABLE, {
      ...tableDefaults,
      timeToLiveAttribute: TTL_ATTRIBUTE,
    });
    this.keysTable = tableFromLayout(this, 'KeysTable', KEYS_TABLE, tableDefaults);

    this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(props.accessLogRetentionDays ?? 90),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: props.removalPolicy,
      // A throw-away stage must be deletable, and CloudFormation cannot delete a bucket that holds
      // objects: a custom resource empties it (every version) first.
      autoDeleteObjects: destroyed,
    });

    this.outputsBucket = new Bucket(this, 'Outputs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'outputs/',
      lifecycleRules: [
        {
          id: 'expire-results',
          expiration: Duration.days(props.resultRetentionDays),
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionRetentionDays ?? 7),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: destroyed,
    });
  }

  /** The ARNs of the state table's indexes (Query on an index needs the index ARN). */
  get stateTableIndexArns(): string[] {
    return STATE_TABLE.globalSecondaryIndexes.map(
      (gsi) => `${this.stateTable.tableArn}/index/${gsi.indexName}`,
    );
  }

  /**
   * Lets `fn` run exactly `actions` on the state table (and Query on its indexes), with the key.
   * Query comes with BatchGetItem: the job store reads a batch's members from the batch index and
   * then the jobs themselves from the table (strongly consistent, which an index cannot be).
   */
  allowStateTable(fn: SynthForgeFunction, actions: readonly TableAction[]): void {
    const granted: TableAction[] =
      actions.includes('dynamodb:Query') && !actions.includes('dynamodb:BatchGetItem')
        ? [...actions, 'dynamodb:BatchGetItem']
        : [...actions];
    this.#allowTable(fn, 'StateTable', this.stateTable, this.stateTableIndexArns, granted);
  }

  /** Lets `fn` run exactly `actions` on the keys table, with the key. */
  allowKeysTable(fn: SynthForgeFunction, actions: TableAction[]): void {
    this.#allowTable(fn, 'KeysTable', this.keysTable, [], actions);
  }

  /** Every object of the outputs bucket: the resource of each `allowOutputs` grant. */
  get outputObjectsArn(): string {
    return this.outputsBucket.arnForObjects('*');
  }

  /**
   * The functions `allowOutputs` granted, once each: their wildcard on the result objects is a
   * cdk-nag finding that lib/nag-acknowledgements.ts acknowledges on each of them.
   */
  get outputsGrantees(): readonly SynthForgeFunction[] {
    return this.#outputsGrantees;
  }

  /** Lets `fn` read and/or write result objects (any key: the tenant prefix is chosen at run time). */
  allowOutputs(fn: SynthForgeFunction, actions: OutputsAction[]): void {
    fn.allow({ sid: 'OutputObjects', actions, resources: [this.outputObjectsArn] });
    if (!this.#outputsGrantees.includes(fn)) this.#outputsGrantees.push(fn);
  }

  #allowTable(
    fn: SynthForgeFunction,
    sid: string,
    table: Table,
    indexArns: string[],
    actions: TableAction[],
  ): void {
    fn.allow({ sid, actions, resources: [table.tableArn] });
    if (actions.includes('dynamodb:Query') && indexArns.length > 0) {
      fn.allow({ sid: `${sid}Indexes`, actions: ['dynamodb:Query'], resources: indexArns });
    }
    const writes = actions.some((action) => WRITE_ACTIONS.has(action));
    fn.allow({
      sid: `${sid}Key`,
      actions: writes
        ? ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey']
        : ['kms:Decrypt', 'kms:DescribeKey'],
      resources: [this.tableKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
    });
  }
}

function tableFromLayout(
  scope: Construct,
  id: string,
  layout: TableLayout,
  props: Omit<ConstructorParameters<typeof Table>[2], 'partitionKey' | 'sortKey'>,
): Table {
  const table = new Table(scope, id, {
    ...props,
    partitionKey: { name: layout.partitionKey, type: AttributeType.STRING },
    ...(layout.sortKey ? { sortKey: { name: layout.sortKey, type: AttributeType.STRING } } : {}),
  });
  for (const gsi of layout.globalSecondaryIndexes) {
    table.addGlobalSecondaryIndex({
      indexName: gsi.indexName,
      partitionKey: { name: gsi.partitionKey, type: AttributeType.STRING },
      sortKey: { name: gsi.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
  }
  return table;
}
