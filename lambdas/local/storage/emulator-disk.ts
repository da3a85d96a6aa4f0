/**
 * What the emulators do when their disk fails them. Out of the box, s3rver and dynalite end the
 * process on a write that finds the disk full: s3rver pipes the request into a file write stream
 * with no 'error' listener, and dynalite rethrows any store error it cannot answer from inside a
 * callback. Both then leave the data folder as the crash found it. The guards here turn such a
 * failure into an error answer (which the SDK raises, and a job fails with), and make a store that
 * cannot open fail the start once, with a message that says why.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import dynalite from 'dynalite';
import type { FilesystemStore } from 's3rver';
import { diskFullCode, diskFullMessage } from '../disk-space.ts';

const require = createRequire(import.meta.url);

// s3rver answers an S3Error as it is (code, message, status); any other error as a 500 with a
// canned message. Its metadata file keeps only these headers besides x-amz-meta-*.
const S3Error = require('s3rver/lib/models/error') as new (
  code: string,
  message: string,
) => Error & { status: number };
const { ALLOWED_METADATA } = require('s3rver/lib/models/object') as { ALLOWED_METADATA: string[] };

/**
 * HTTP's 507 Insufficient Storage, which real S3 never answers: the SDK does not retry it (a full
 * disk stays full), and its code is the error's name, so a job fails with `InsufficientStorage`.
 */
const INSUFFICIENT_STORAGE = 507;

/** The store methods that write, besides the two replaced below; a full disk fails each with the answer. */
const WRITING_METHODS = [
  'putBucket',
  'copyObject',
  'putMetadata',
  'initiateUpload',
  'putObjectMultipart',
  'putSubresource',
  // Reads write too: a missing .md5 file is computed and stored on the first read.
  'getMetadata',
] as const;

/**
 * Makes s3rver's store safe on a full disk. An object is written to a staging file beside it and
 * renamed into place with its checksum and metadata only once all of it is on disk: a write that
 * fails leaves the previous version (a completed result) intact and removes what it wrote, so the
 * space comes back. A write that finds the disk full is answered as a 507 naming `folder`; any
 * other failure as s3rver answers it (a 500).
 */
export function guardS3Store(store: FilesystemStore, folder: string): void {
  const answer = (error: unknown, what: string): unknown => {
    const code = diskFullCode(error);
    if (!code) return error;
    const answered = new S3Error('InsufficientStorage', diskFullMessage(folder, code, what));
    answered.status = INSUFFICIENT_STORAGE;
    return answered;
  };

  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    const metadataPath = store.getResourcePath(object.bucket, object.key, 'metadata.json');
    const staged = {
      object: stagingPath(objectPath),
      md5: stagingPath(objectPath),
      metadata: stagingPath(metadataPath),
    };
    try {
      await mkdir(dirname(objectPath), { recursive: true });
      const written = await writeBody(staged.object, object.content);
      await writeFile(staged.md5, written.md5);
      await writeFile(staged.metadata, JSON.stringify(storedMetadata(object.metadata), null, 2));
      // Renames take no space: once the body and its two small files are written, the disk cannot
      // fail the object any more.
      await rename(staged.md5, `${objectPath}.md5`);
      await rename(staged.metadata, metadataPath);
      await rename(staged.object, objectPath);
      return written;
    } catch (error) {
      await Promise.all(Object.values(staged).map((path) => rm(path, { force: true })));
      throw answer(error, `S3 could not store ${object.bucket}/${object.key}`);
    }
  };

  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const partPath = join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
    const staged = stagingPath(partPath);
    try {
      await mkdir(dirname(partPath), { recursive: true });
      const written = await writeBody(staged, content);
      await writeFile(`${partPath}.md5`, written.md5);
      await rename(staged, partPath);
      return written;
    } catch (error) {
      await rm(staged, { force: true });
      throw answer(error, `S3 could not store part ${partNumber} of an upload to ${bucket}`);
    }
  };

  for (const method of WRITING_METHODS) {
    const original = store[method] as (...args: unknown[]) => Promise<unknown>;
    store[method] = async (...args: unknown[]) => {
      try {
        return await original.apply(store, args);
      } catch (error) {
        throw answer(error, `S3 could not write (${method})`);
      }
    };
  }
}

/** Beside the final file, so that the rename stays on one file system; never a name s3rver lists. */
const stagingPath = (path: string) => `${path}.${randomUUID()}.staged`;

/** The metadata s3rver keeps for an object (as its own putMetadata does). */
function storedMetadata(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(metadata).filter(
      ([name]) => ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-'),
    ),
  );
}

/**
 * Writes a request body to `path`, with its size and MD5. After a failed write the rest of the body
 * is still read and dropped, so that the client gets the error as an answer, not a reset connection.
 */
async function writeBody(
  path: string,
  content: AsyncIterable<Buffer> | Buffer,
): Promise<{ size: number; md5: string }> {
  const hash = createHash('md5');
  let size = 0;
  let failure: unknown;
  const file = await open(path, 'wx');
  try {
    for await (const chunk of Buffer.isBuffer(content) ? [content] : content) {
      hash.update(chunk);
      size += chunk.length;
      if (failure !== undefined) continue;
      try {
        // A write may take only part of a chunk (the disk filled up under it): the rest is retried.
        for (let offset = 0; offset < chunk.length; )
          offset += (await file.write(chunk, offset)).bytesWritten;
      } catch (error) {
        failure = error;
      }
    }
  } finally {
    await file.close();
  }
  if (failure !== undefined) throw failure;
  return { size, md5: hash.digest('hex') };
}

/** The part of dynalite's store (dynalite/db) the guard uses: its LevelDB, wrapped with callbacks. */
export interface DynaliteStore {
  db: DynaliteLevel;
}

type Callback = (error: Error | null | undefined, ...results: unknown[]) => void;

interface DynaliteLevel {
  put(...args: unknown[]): unknown;
  get(...args: unknown[]): unknown;
  del(...args: unknown[]): unknown;
  batch(...args: unknown[]): unknown;
  createKeyStream(...args: unknown[]): NodeJS.EventEmitter;
  createValueStream(...args: unknown[]): NodeJS.EventEmitter;
  open(): Promise<void>;
  close(): Promise<void>;
}

const dynaliteDb = require('dynalite/db') as { create(options: unknown): DynaliteStore };

/**
 * dynalite, with its store in hand: dynalite builds the store inside `dynalite()` and keeps it to
 * itself, so `create` is intercepted for that one synchronous call. The store's failures are then
 * answered instead of thrown (see guardDynaliteStore).
 */
export function createDynalite(
  options: Parameters<typeof dynalite>[0],
  folder: string,
): { server: Server; store: DynaliteStore } {
  const create = dynaliteDb.create;
  let store: DynaliteStore | undefined;
  dynaliteDb.create = (storeOptions) => {
    store = create(storeOptions);
    return store;
  };
  let server: Server;
  try {
    server = dynalite(options);
  } finally {
    dynaliteDb.create = create;
  }
  if (!store)
    throw new Error('dynalite no longer builds its store through dynalite/db: update emulator-disk.ts');
  guardDynaliteStore(store, folder);
  return { server, store };
}

/**
 * dynalite answers a store error that carries `statusCode` and `body`, and throws any other from
 * inside a callback, which ends the process. Every error of the store is given both here: a
 * DynamoDB InternalServerError (500, which the SDK retries: space freed by a failed S3 write comes
 * back within a moment) whose message names the full disk when that is the cause.
 */
export function guardDynaliteStore(store: DynaliteStore, folder: string): void {
  const db = store.db;
  const answerable = (error: unknown): unknown => {
    if (!(error instanceof Error) || 'statusCode' in error) return error;
    const code = diskFullCode(error);
    const message = code
      ? diskFullMessage(folder, code, 'DynamoDB could not write')
      : `DynamoDB's store failed: ${error.message}`;
    return Object.assign(error, {
      statusCode: 500,
      body: { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message },
    });
  };
  for (const method of ['put', 'get', 'del', 'batch'] as const) {
    const original = db[method];
    db[method] = (...args: unknown[]) => {
      const callback = args.at(-1);
      if (typeof callback !== 'function') {
        return (original.apply(db, args) as Promise<unknown>).catch((error: unknown) => {
          throw answerable(error);
        });
      }
      const answering: Callback = (error, ...results) =>
        (callback as Callback)(error ? (answerable(error) as Error) : error, ...results);
      return original.apply(db, [...args.slice(0, -1), answering]);
    };
  }
  // Scans and queries read through streams, whose 'error' reaches the same callback: the error is
  // made answerable before the listeners dynalite attached see it.
  for (const method of ['createKeyStream', 'createValueStream'] as const) {
    const original = db[method];
    db[method] = (...args: unknown[]) => original.apply(db, args).prependListener('error', answerable);
  }
}

/**
 * Opens dynalite's LevelDB, or fails with why it cannot be: left to itself, a store that failed to
 * open answers every request with "Database is closed", thrown where nothing can catch it.
 */
export async function openDynaliteStore(
  store: DynaliteStore,
  directory: string,
  folder: string,
): Promise<void> {
  try {
    await store.db.open();
  } catch (error) {
    const code = diskFullCode(error);
    const cause = (error as Error).cause as (Error & { code?: string }) | undefined;
    const message = code
      ? diskFullMessage(folder, code, `DynamoDB's data in ${directory} could not be opened`)
      : cause?.code === 'LEVEL_LOCKED'
        ? `DynamoDB's data in ${directory} is in use by another process: is another platform running on this data folder?`
        : `DynamoDB's data in ${directory} could not be opened: ${(cause ?? (error as Error)).message}`;
    throw new Error(message, { cause: error });
  }
}
