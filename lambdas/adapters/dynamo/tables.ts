/**
 * The DynamoDB table layouts, written once: the CDK data construct and the local platform both
 * create their tables from these definitions, and the adapters read their key names from here.
 *
 * State table (single-table design; every partition key starts with the tenant):
 *   job         pk = T#<tenant>             sk = JOB#<jobId>          (job ids are ULIDs: sk order = creation order)
 *   batch item  gsi1pk = T#<tenant>#B#<batchId>  gsi1sk = JOB#<jobId>   (jobs of a batch)
 *   job by kind gsi2pk = T#<tenant>#K#<kind>     gsi2sk = JOB#<jobId>   (every job)
 *   log entry   pk = T#<tenant>#L#<jobId>   sk = <at>#<seq>
 *   idempotency pk = T#<tenant>             sk = IDEM#<key>
 *   cold start  pk = T#<tenant>             sk = COLD#<endpointName>  (observed cold starts, a running mean)
 *   inference use     pk = T#<tenant>       sk = USE#<yyyy-mm-dd>#<modelKey> (model calls per UTC day)
 *   ws connection     pk = T#<tenant>       sk = WSC#<connectionId>        (expires with the connection, 2 h)
 *   ws subscription   pk = T#<tenant>       sk = WSS#<jobId>#<connectionId> (a connection waiting for a job)
 *   rate limit        pk = T#<tenant>       sk = RATE#<group>#<windowStart>  (requests in one minute; expires)
 *
 * Keys table: pk = KEY#<sha256>. It is looked up before the tenant is known, which is why it is a
 * table of its own that only the authorizer and the key tool may read.
 */
export interface IndexLayout {
  indexName: string;
  partitionKey: string;
  sortKey: string;
}

export interface TableLayout {
  partitionKey: string;
  sortKey?: string;
  globalSecondaryIndexes: IndexLayout[];
}

/** The jobs of one batch, oldest first by sort key. */
export const BATCH_INDEX: IndexLayout = { indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' };

/**
 * The jobs of one kind, so that listing the few batches of a tenant does not filter its many
 * generation jobs. Every job written since this index was added carries its keys; a job written
 * before it did not and is missing from kind lists (acceptable: no stack held jobs then).
 */
export const KIND_INDEX: IndexLayout = { indexName: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' };

/** Checked against TableLayout rather than typed as it, so that its sort key reads as the string it is. */
export const STATE_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  globalSecondaryIndexes: [BATCH_INDEX, KIND_INDEX],
} satisfies TableLayout;

export const KEYS_TABLE: TableLayout = {
  partitionKey: 'pk',
  globalSecondaryIndexes: [],
};

export const keys = {
  tenantPartition: (tenant: string) => `T#${tenant}`,
  job: (jobId: string) => `JOB#${jobId}`,
  batchPartition: (tenant: string, batchId: string) => `T#${tenant}#B#${batchId}`,
  kindPartition: (tenant: string, kind: string) => `T#${tenant}#K#${kind}`,
  logPartition: (tenant: string, jobId: string) => `T#${tenant}#L#${jobId}`,
  idempotency: (key: string) => `IDEM#${key}`,
  socketConnection: (connectionId: string) => `WSC#${connectionId}`,
  jobSubscribers: (jobId: string) => `WSS#${jobId}#`,
  jobSubscription: (jobId: string, connectionId: string) => `WSS#${jobId}#${connectionId}`,
  apiKey: (hash: string) => `KEY#${hash}`,
  coldStart: (endpointName: string) => `COLD#${endpointName}`,
  inferenceUsage: (day: string, modelKey: string) => `USE#${day}#${modelKey}`,
  /** `windowStart`: epoch seconds of the window's first second (a multiple of 60). */
  rateLimit: (group: string, windowStart: number) => `RATE#${group}#${windowStart}`,
};

/**
 * Every partition key starts with `T#<tenant>`, and `#` separates the parts that follow. A tenant with
 * a `#` in it could therefore name another tenant's partitions (tenant `a#L#x` is the log partition
 * of tenant `a`'s job `x`), so the adapters refuse such a tenant before building any key.
 */
export function assertStorableTenant(tenant: string): void {
  if (tenant.length === 0 || tenant.includes('#')) {
    throw new RangeError(`a tenant must be non-empty and contain no '#': ${JSON.stringify(tenant)}`);
  }
}
