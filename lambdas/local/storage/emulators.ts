import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import S3rver from 's3rver';
import { EMULATOR_CREDENTIALS } from '../../adapters/clients.ts';
import { ensureTable } from '../../adapters/dynamo/ensure-table.ts';
import { KEYS_TABLE, STATE_TABLE } from '../../adapters/dynamo/tables.ts';
import { closeServer, listen } from '../support/http.ts';
import { LOCAL_REGION } from '../support/local-aws.ts';
import { createDynalite, guardS3Store, openDynaliteStore } from './emulator-disk.ts';

export interface EmulatorOptions {
  /** Keep data under `<dataDir>/dynamodb` and `<dataDir>/s3`. Absent: DynamoDB in memory, S3 in a temp dir. */
  dataDir?: string;
  /** Absent or 0: a free port. */
  dynamoPort?: number;
  s3Port?: number;
  tableNames?: { state: string; keys: string };
  bucketName?: string;
}

export interface RunningEmulators {
  region: string;
  dynamoEndpoint: string;
  s3Endpoint: string;
  tableNames: { state: string; keys: string };
  bucketName: string;
  /** Where S3 keeps its objects: `<dataDir>/s3`, or a temp dir without a dataDir. */
  s3Directory: string;
  /** Stops both emulators; removes the temp directory when there is no dataDir. */
  stop(): Promise<void>;
}

/** Written to the data dir while the platform runs: how `npm run keys` reaches its emulators. */
export const ENDPOINTS_FILE = 'endpoints.json';

export type EmulatorEndpoints = Pick<
  RunningEmulators,
  'region' | 'dynamoEndpoint' | 's3Endpoint' | 'tableNames' | 'bucketName'
>;

export function describeEmulators(emulators: RunningEmulators): EmulatorEndpoints {
  const { region, dynamoEndpoint, s3Endpoint, tableNames, bucketName } = emulators;
  return { region, dynamoEndpoint, s3Endpoint, tableNames, bucketName };
}

const HOST = '127.0.0.1';
const DEFAULT_TABLE_NAMES = { state: 'synthforge-state', keys: 'synthforge-keys' };
const DEFAULT_BUCKET_NAME = 'synthforge-outputs';

/**
 * Starts dynalite and s3rver on 127.0.0.1 and creates the tables and the outputs bucket the adapters
 * expect. Idempotent over an existing dataDir: tables and bucket that exist are kept with their data.
 */
export async function startEmulators(options: EmulatorOptions = {}): Promise<RunningEmulators> {
  const tableNames = options.tableNames ?? DEFAULT_TABLE_NAMES;
  const bucketName = options.bucketName ?? DEFAULT_BUCKET_NAME;
  const s3Directory =
    options.dataDir === undefined
      ? await mkdtemp(join(tmpdir(), 'synthforge-s3-'))
      : join(options.dataDir, 's3');
  const dynamoDirectory = options.dataDir === undefined ? undefined : join(options.dataDir, 'dynamodb');
  // What a full disk's message names: the folder the user chose, or the temp dir S3 writes to.
  const folder = options.dataDir ?? s3Directory;

  const [dynamo, s3] = await Promise.allSettled([
    startDynalite(dynamoDirectory, options.dynamoPort ?? 0, folder),
    startS3rver(s3Directory, options.s3Port ?? 0, bucketName, folder),
  ]);
  const stop = async () => {
    await Promise.all([
      dynamo.status === 'fulfilled' ? dynamo.value.stop() : undefined,
      s3.status === 'fulfilled' ? s3.value.stop() : undefined,
    ]);
    if (options.dataDir === undefined) await rm(s3Directory, { recursive: true, force: true });
  };
  if (dynamo.status === 'rejected' || s3.status === 'rejected') {
    await stop();
    throw dynamo.status === 'rejected' ? dynamo.reason : (s3 as PromiseRejectedResult).reason;
  }

  const dynamoEndpoint = dynamo.value.endpoint;
  try {
    await createTables(dynamoEndpoint, tableNames);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    region: LOCAL_REGION,
    dynamoEndpoint,
    s3Endpoint: s3.value.endpoint,
    tableNames,
    bucketName,
    s3Directory,
    stop,
  };
}

interface StartedEmulator {
  endpoint: string;
  stop(): Promise<void>;
}

async function startDynalite(
  directory: string | undefined,
  port: number,
  folder: string,
): Promise<StartedEmulator> {
  if (directory !== undefined) await mkdir(directory, { recursive: true });
  // Tables become ACTIVE at once: the defaults of 500 ms only slow start-up down.
  const { server, store } = createDynalite(
    {
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
      ...(directory === undefined ? {} : { path: directory }),
    },
    folder,
  );
  if (directory !== undefined) await openDynaliteStore(store, directory, folder);
  await listen(server, port, HOST);
  return { endpoint: endpointOf(server.address() as AddressInfo), stop: () => closeServer(server) };
}

async function startS3rver(
  directory: string,
  port: number,
  bucketName: string,
  folder: string,
): Promise<StartedEmulator> {
  await mkdir(directory, { recursive: true });
  const s3rver = new S3rver({
    address: HOST,
    port,
    silent: true,
    directory,
    configureBuckets: [{ name: bucketName }],
  });
  guardS3Store(s3rver.store, folder);
  const address = await s3rver.run();
  return { endpoint: endpointOf(address), stop: () => s3rver.close() };
}

async function createTables(endpoint: string, tableNames: { state: string; keys: string }): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: EMULATOR_CREDENTIALS });
  try {
    await Promise.all([
      ensureTable(client, tableNames.state, STATE_TABLE),
      ensureTable(client, tableNames.keys, KEYS_TABLE),
    ]);
  } finally {
    client.destroy();
  }
}

function endpointOf(address: AddressInfo): string {
  return `http://${HOST}:${address.port}`;
}
