// dynalite and s3rver ship no types; these cover the part of their APIs the local platform uses.

declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** LevelDB directory; in memory when absent. */
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
  }

  function dynalite(options?: DynaliteOptions): Server;
  export default dynalite;
}

declare module 's3rver' {
  import type { AddressInfo } from 'node:net';
  import type { Readable } from 'node:stream';

  /** An object as s3rver's controllers hand it to the store: the body is the request stream. */
  export interface S3rverObject {
    bucket: string;
    key: string;
    content: Readable | Buffer;
    metadata: Record<string, string>;
  }

  /** s3rver's lib/stores/filesystem.js: the methods the local platform replaces or wraps. */
  export interface FilesystemStore {
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
    putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
    putPart(
      bucket: string,
      uploadId: string,
      partNumber: number,
      content: Readable,
    ): Promise<{ size: number; md5: string }>;
    putBucket(...args: unknown[]): Promise<unknown>;
    copyObject(...args: unknown[]): Promise<unknown>;
    putMetadata(...args: unknown[]): Promise<unknown>;
    initiateUpload(...args: unknown[]): Promise<unknown>;
    putObjectMultipart(...args: unknown[]): Promise<unknown>;
    putSubresource(...args: unknown[]): Promise<unknown>;
    getMetadata(...args: unknown[]): Promise<unknown>;
  }

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
  }

  class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    /** The store its controllers read and write through (the same object as `context.store`). */
    readonly store: FilesystemStore;
  }
  export default S3rver;
}
