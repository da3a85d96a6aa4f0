import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { KEYS_TABLE, STATE_TABLE } from '../../../lambdas/adapters/dynamo/tables.ts';
import { TTL_ATTRIBUTE } from '../../../lib/constructs/data.ts';
import {
  buildTestStack,
  policyStatements,
  referencedId,
  resourcesOfType,
  type TestStack,
} from '../stack-fixture.ts';

let built: TestStack;
let tables: ReturnType<typeof resourcesOfType>;
let buckets: ReturnType<typeof resourcesOfType>;

beforeAll(() => {
  built = buildTestStack({ resultRetentionDays: 21, noncurrentVersionRetentionDays: 5 });
  tables = resourcesOfType(built.template, 'AWS::DynamoDB::Table');
  buckets = resourcesOfType(built.template, 'AWS::S3::Bucket');
});

describe('tables', () => {
  it('are exactly the state and keys tables, created from the shared layouts', () => {
    const { stateTable, keysTable } = built.stack.data;
    expect(Object.keys(tables).sort()).toEqual([built.idOf(keysTable), built.idOf(stateTable)].sort());

    built.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: STATE_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: STATE_TABLE.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: STATE_TABLE.globalSecondaryIndexes.map((gsi) =>
        Match.objectLike({
          IndexName: gsi.indexName,
          KeySchema: [
            { AttributeName: gsi.partitionKey, KeyType: 'HASH' },
            { AttributeName: gsi.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        }),
      ),
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    });
    built.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: KEYS_TABLE.partitionKey, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: Match.absent(),
    });
  });

  it('give the state table its batch index and its kind index', () => {
    const state = tables[built.idOf(built.stack.data.stateTable)];
    const indexes = state?.Properties.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown }[];
    expect(indexes.map((index) => [index.IndexName, index.KeySchema])).toEqual([
      [
        'gsi1',
        [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
      ],
      [
        'gsi2',
        [
          { AttributeName: 'gsi2pk', KeyType: 'HASH' },
          { AttributeName: 'gsi2sk', KeyType: 'RANGE' },
        ],
      ],
    ]);
    expect(state?.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'gsi2pk', AttributeType: 'S' },
        { AttributeName: 'gsi2sk', AttributeType: 'S' },
      ]),
    );
  });

  it('let every function that may Query the state table read it with BatchGetItem too, and no other', () => {
    const stateTable = built.idOf(built.stack.data.stateTable);
    const tableStatements = policyStatements(built.template)
      .filter(({ statement }) => referencedId(statement.Resource) === stateTable)
      .map(({ statement }) => [statement.Action].flat());
    const querying = tableStatements.filter((actions) => actions.includes('dynamodb:Query'));
    const others = tableStatements.filter((actions) => !actions.includes('dynamodb:Query'));

    expect(querying.length).toBeGreaterThan(0);
    expect(others.length).toBeGreaterThan(0);
    for (const actions of querying) expect(actions).toContain('dynamodb:BatchGetItem');
    for (const actions of others) expect(actions).not.toContain('dynamodb:BatchGetItem');
  });

  it('have point-in-time recovery, on-demand billing, and SSE with the rotating customer-managed key', () => {
    const keyId = built.idOf(built.stack.data.tableKey);
    for (const table of Object.values(tables)) {
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
        DeletionProtectionEnabled: true,
      });
      const sse = table.Properties.SSESpecification as { KMSMasterKeyId: unknown };
      expect(referencedId(sse.KMSMasterKeyId)).toBe(keyId);
      expect(table.DeletionPolicy).toBe('Retain');
    }
    built.template.hasResource('AWS::KMS::Key', {
      Properties: { EnableKeyRotation: true },
      DeletionPolicy: 'Retain',
    });
  });
});

describe('buckets', () => {
  it('every bucket blocks public access, is encrypted, and denies requests without TLS', () => {
    const policies = Object.values(resourcesOfType(built.template, 'AWS::S3::BucketPolicy'));
    expect(Object.keys(buckets)).toHaveLength(2);
    for (const [id, bucket] of Object.entries(buckets)) {
      expect(bucket.Properties).toMatchObject({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      });
      expect(bucket.DeletionPolicy).toBe('RetainExceptOnCreate');
      const policy = policies.find((candidate) => referencedId(candidate.Properties.Bucket) === id);
      const statements = policy?.Properties.PolicyDocument.Statement as Record<string, unknown>[];
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Principal: { AWS: '*' },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
      );
    }
  });

  it('the outputs bucket is versioned, expires results and old versions, and logs access to the log bucket', () => {
    const outputs = buckets[built.idOf(built.stack.data.outputsBucket)];
    const logs = built.idOf(built.stack.data.accessLogsBucket);
    expect(outputs?.Properties).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: { DestinationBucketName: { Ref: logs }, LogFilePrefix: 'outputs/' },
    });
    // The second rule, on the model endpoints' staging prefix, is theirs (model-endpoints.test.ts).
    const rules = outputs?.Properties.LifecycleConfiguration.Rules as Record<string, unknown>[];
    expect(rules.filter((rule) => rule.Prefix === undefined)).toEqual([
      {
        Id: 'expire-results',
        Status: 'Enabled',
        ExpirationInDays: 21,
        NoncurrentVersionExpiration: { NoncurrentDays: 5 },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      },
    ]);
    expect(rules.map((rule) => rule.Prefix)).toEqual([undefined, '_endpoints/']);
  });

  it('the access-log bucket takes logs through its bucket policy (no ACLs) and expires them', () => {
    const logs = built.idOf(built.stack.data.accessLogsBucket);
    expect(buckets[logs]?.Properties).toMatchObject({
      LifecycleConfiguration: { Rules: [expect.objectContaining({ ExpirationInDays: 90 })] },
    });
    expect(buckets[logs]?.Properties.AccessControl).toBeUndefined();
    built.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logs },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': '123456789012' } }),
          }),
        ]),
      },
    });
  });
});

describe('removal policy', () => {
  it('destroy removes tables, buckets, key, logs, secret and queue, and lifts deletion protection', () => {
    const { template } = buildTestStack({ removalPolicy: 'destroy' });
    for (const type of [
      'AWS::DynamoDB::Table',
      'AWS::S3::Bucket',
      'AWS::KMS::Key',
      'AWS::Logs::LogGroup',
      'AWS::SecretsManager::Secret',
      'AWS::SQS::Queue',
    ]) {
      for (const resource of Object.values(resourcesOfType(template, type))) {
        expect(resource.DeletionPolicy, type).toBe('Delete');
      }
    }
    for (const table of Object.values(resourcesOfType(template, 'AWS::DynamoDB::Table'))) {
      expect(table.Properties.DeletionProtectionEnabled).toBe(false);
    }
  });
});
