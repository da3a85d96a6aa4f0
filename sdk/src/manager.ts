/**
 * The SDK's front door, the facade of seed 004 (`Manager`): made with a base URL and key, it offers
 * health, recent jobs, batches and training runs, sessions, and avatarization runners (`createRunner`).
 */
import { Limit } from '../../contracts/common.ts';
import type { Routes } from '../../contracts/routes.ts';
import { ApiClient, type ApiClientOptions } from './api-client.ts';
import { defaultSetName, Runner } from './avatars/runner.ts';
import { Batch, cancelJob } from './batch.ts';
import type { BatchListItem, Job, TrainingTask } from './resources.ts';
import type { CallOptions, QueryOf, ResponseOf } from './route-types.ts';
import { Session } from './session.ts';

/** The most items one list page holds (the contract's bound on `limit`). */
const MAX_PAGE_SIZE = Limit.unwrap().maxValue ?? 100;

/** Filters of `recentJobs`: those of `GET /api/v1/jobs`, paging aside. */
export type RecentJobsFilter = Omit<QueryOf<Routes['listJobs']>, 'limit' | 'cursor'>;

/** Filters of `recentBatches`: those of `GET /api/v1/batches`, paging aside. */
export type RecentBatchesFilter = Omit<QueryOf<Routes['listBatches']>, 'limit' | 'cursor'>;

/** Filters of `recentTraining`: those of `GET /api/v1/train/jobs`, paging aside. */
export type RecentTrainingFilter = Omit<QueryOf<Routes['listTrainingJobs']>, 'limit' | 'cursor'>;

/** High-level access to SynthForge. `new Manager({ baseUrl, apiKey })`. */
export class Manager {
  /** The low-level client, for anything the manager does not wrap. */
  readonly client: ApiClient;

  constructor(options: ApiClientOptions | ApiClient) {
    this.client = options instanceof ApiClient ? options : new ApiClient(options);
  }

  /** Liveness of the API. */
  health(options?: CallOptions): Promise<ResponseOf<Routes['health']>> {
    return this.client.health(options);
  }

  /** The `limit` newest jobs of every kind (batches included), optionally filtered; pages are followed. */
  async recentJobs(limit = 20, filter: RecentJobsFilter = {}, options?: CallOptions): Promise<Job[]> {
    return collectPages(limit, (pageSize, cursor) =>
      this.client
        .listJobs({ ...filter, limit: pageSize, ...(cursor ? { cursor } : {}) }, options)
        .then((page) => ({ items: page.jobs, next: page.next_cursor })),
    );
  }

  /** The `limit` newest batches, optionally in a time range; pages are followed. */
  async recentBatches(
    limit = 20,
    filter: RecentBatchesFilter = {},
    options?: CallOptions,
  ): Promise<BatchListItem[]> {
    return collectPages(limit, (pageSize, cursor) =>
      this.client
        .listBatches({ ...filter, limit: pageSize, ...(cursor ? { cursor } : {}) }, options)
        .then((page) => ({ items: page.batches, next: page.next_cursor })),
    );
  }

  /** The `limit` newest training runs, optionally of one status; pages are followed. */
  async recentTraining(
    limit = 20,
    filter: RecentTrainingFilter = {},
    options?: CallOptions,
  ): Promise<TrainingTask[]> {
    return collectPages(limit, (pageSize, cursor) =>
      this.client
        .listTrainingJobs({ ...filter, limit: pageSize, ...(cursor ? { cursor } : {}) }, options)
        .then((page) => ({ items: page.jobs, next: page.next_cursor })),
    );
  }

  /** A session for one generator (reads its description). */
  session(generator: string, options?: CallOptions): Promise<Session> {
    return Session.create(this.client, generator, options);
  }

  /**
   * Cancels a job; a batch id cancels the batch's open jobs. A job that already ended is a 409
   * `SynthForgeError`, unless this call's own retried request is what cancelled it.
   */
  cancelJob(id: string, options?: CallOptions): Promise<Job> {
    return cancelJob(this.client, id, options);
  }

  /**
   * A Runner for one set of tables to avatarize (seed 004): add tables, advise or set parameters,
   * run, read the results. Default set name: `synthforge_ts_<8 hex>`. Nothing is sent until a table is added.
   */
  createRunner(setName: string = defaultSetName()): Runner {
    return new Runner(this.client, setName);
  }

  /** A batch submitted earlier, by id (nothing is read until it is used). */
  batch(id: string): Batch {
    return new Batch(this.client, id);
  }
}

/** Reads pages until `limit` items are in hand or the list ends. */
async function collectPages<T>(
  limit: number,
  readPage: (
    pageSize: number,
    cursor: string | undefined,
  ) => Promise<{ items: T[]; next: string | undefined }>,
): Promise<T[]> {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a whole number of at least 1, got ${limit}`);
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await readPage(Math.min(MAX_PAGE_SIZE, limit - items.length), cursor);
    items.push(...page.items);
    cursor = page.next;
  } while (cursor && items.length < limit);
  return items.slice(0, limit);
}
