/**
 * Seed 004's avatarization API over the one jobs engine: sets of YAML resources, uploads, and jobs
 * that form a graph. A job is stored and its execution started at once; the execution waits for the
 * job's parents (statemachines/avatars.asl.json), so that a job starts when every job it depends on
 * has finished and ends `parent_error` without running when one of them did not.
 */
import type {
  AvatarJob,
  AvatarJobList,
  AvatarJobRequest,
  AvatarResults,
  AvatarUploadRequest,
  AvatarUploadUrl,
} from '../../../contracts/avatars.ts';
import { JOB_ID_PATTERN } from '../../../contracts/vocabulary.ts';
import { DomainError, illegalState, invalidParameters, notFound } from '../errors.ts';
import type { JobsEngine } from '../jobs/engine.ts';
import { isJobOfKind } from '../jobs/model.ts';
import { storeAndStart } from '../jobs/start.ts';
import type { BlobStore, Clock } from '../ports.ts';
import {
  type AvatarComputeSettings,
  type AvatarWorkflow,
  chooseCompute,
  stageMaxInputBytes,
} from './execution.ts';
import { inputsOf } from './inputs.ts';
import type { AvatarJobRecord } from './job-record.ts';
import { avatarKeys } from './keys.ts';
import { parseResources } from './parse-resources.ts';
import { avatarJobPath, presentAvatarJob, WAITING_MESSAGE } from './present.ts';
import { type AvatarSet, documentsOf, parametersOf } from './resources.ts';
import { openAvatarJobsSince } from './workflow-tasks.ts';

export interface AvatarsServiceDeps {
  engine: JobsEngine;
  workflow: AvatarWorkflow;
  blobs: BlobStore;
  clock: Clock;
  newId: () => string;
  compute: AvatarComputeSettings;
  /** How long result and upload links live. */
  urlTtlSeconds: number;
  /** The largest table a presigned upload may be (what the link's user is told). */
  maxUploadBytes: number;
}

export class AvatarsService {
  constructor(private readonly deps: AvatarsServiceDeps) {}

  async putResources(tenant: string, setName: string, yaml: string) {
    const set = parseResources(yaml);
    const { blobs, clock } = this.deps;
    // The parsed form is what jobs read; it is written last, so that a set is either the old one or
    // the new one for a job created meanwhile (never a YAML without its parsed twin).
    await blobs.put(
      avatarKeys.resources(tenant, setName),
      new TextEncoder().encode(yaml),
      'application/yaml',
    );
    await blobs.put(
      avatarKeys.parsed(tenant, setName),
      new TextEncoder().encode(JSON.stringify(set)),
      'application/json',
    );
    return { set_name: setName, documents: documentsOf(set), updated_at: clock.now().toISOString() };
  }

  async getResources(tenant: string, setName: string): Promise<string> {
    const bytes = await this.deps.blobs.get(avatarKeys.resources(tenant, setName));
    if (!bytes) throw notFound('set', setName);
    return new TextDecoder().decode(bytes);
  }

  async uploadUrl(tenant: string, request: AvatarUploadRequest): Promise<AvatarUploadUrl> {
    const { blobs, clock, urlTtlSeconds } = this.deps;
    const url = await blobs.presignPut(
      avatarKeys.file(tenant, request.file),
      urlTtlSeconds,
      request.content_type,
    );
    return {
      file: request.file,
      url,
      method: 'PUT',
      headers: { 'content-type': request.content_type },
      expires_at: new Date(clock.now().getTime() + urlTtlSeconds * 1000).toISOString(),
      max_bytes: this.deps.maxUploadBytes,
    };
  }

  /**
   * Checks a job against its set, its parents and its files, and starts it. Everything that can be
   * known now is checked now (the document exists and has the kind asked, every parent is the
   * tenant's, every file was uploaded, a metrics job has avatars to measure), so that a job that is
   * created can run.
   */
  async createJob(tenant: string, request: AvatarJobRequest): Promise<AvatarJob> {
    const { engine, workflow, clock, newId } = this.deps;
    const set = await this.#set(tenant, request.set_name);
    const found = parametersOf(set, request.parameters_name);
    if (!found) {
      throw notFound('parameters', request.parameters_name);
    }
    if (request.kind && request.kind !== found.kind) {
      throw invalidParameters(
        `parameters ${request.parameters_name} run a ${found.kind} job, not a ${request.kind} job`,
        { parameters_name: request.parameters_name, kind: request.kind },
      );
    }
    const parents = await this.#parents(tenant, request.depends_on);
    const inputs = inputsOf(set, found, parents, tenant);
    const sizes = await Promise.all(
      inputs.files.map(async (file) => ({
        file,
        bytes: await this.deps.blobs.size(avatarKeys.file(tenant, file)),
      })),
    );
    const missing = sizes.find((entry) => entry.bytes === undefined);
    if (missing) {
      throw invalidParameters(
        `file ${missing.file} has not been uploaded: POST /api/v1/avatars/upload-url, then PUT it`,
        { file: missing.file },
      );
    }
    // A job reads its own files and, for metrics, its parents' avatars (about as large); a report
    // reads what the jobs it depends on read.
    const inputBytes =
      found.kind === 'report'
        ? Math.max(0, ...parents.map((parent) => parent.avatars.inputBytes ?? 0))
        : sizes.reduce((sum, entry) => sum + (entry.bytes ?? 0), 0) * (inputs.readsAvatars ? 2 : 1);
    const chosen = chooseCompute(this.deps.compute, inputBytes);
    if (!chosen) {
      const limit = stageMaxInputBytes(this.deps.compute);
      // Without an avatarizer image the stage has no runner above Lambda's: say how to get one.
      const hint = this.deps.compute.processing
        ? ''
        : ' (set avatars.processingImage in the stage configuration to run larger tables as SageMaker Processing jobs)';
      throw new DomainError(
        'PAYLOAD_TOO_LARGE',
        `the job reads ${(inputBytes / 1e6).toFixed(0)} MB of CSV; this stage runs at most ${(limit / 1e6).toFixed(0)} MB per job${hint}`,
        { input_bytes: inputBytes, limit_bytes: limit },
      );
    }
    const now = clock.now().toISOString();
    const id = newId();
    const job: AvatarJobRecord = {
      tenant,
      id,
      kind: 'avatars',
      name: `${request.set_name}/${request.parameters_name}`,
      status: 'pending',
      version: 0,
      progress: 0,
      ...(parents.length > 0 ? { message: WAITING_MESSAGE } : {}),
      params: {
        setName: request.set_name,
        parametersName: request.parameters_name,
        avatarKind: found.kind,
        dependsOn: parents.map((parent) => parent.id),
      },
      avatars: { compute: chosen.compute, inputBytes },
      createdAt: now,
      updatedAt: now,
    };
    await this.deps.blobs.put(
      avatarKeys.jobSet(tenant, request.set_name, id),
      new TextEncoder().encode(JSON.stringify(set)),
      'application/json',
    );
    const stored = await storeAndStart(
      { engine, workflow },
      {
        job,
        logLine: `${found.kind} job of set ${request.set_name} (${request.parameters_name}) created; ${chosen.compute.reason}`,
        input: { tenant, jobId: id, runner: chosen.runner },
        names: { job: 'the avatar job', workflow: 'the avatar workflow', idDetail: 'name' },
      },
    );
    return presentAvatarJob(stored);
  }

  /**
   * The tenant's avatar jobs, newest first. `kind` is the avatar kind, which the store does not index:
   * pages are read until `limit` jobs of that kind are found (or 20 pages), so that a page of other
   * kinds does not come back empty with a cursor.
   */
  async listJobs(
    tenant: string,
    query: { kind?: AvatarJob['kind']; limit: number; cursor?: string },
  ): Promise<AvatarJobList> {
    const jobs: AvatarJob[] = [];
    let cursor = query.cursor;
    for (let pages = 0; pages < 20; pages++) {
      const page = await this.deps.engine.store.list(tenant, {
        kind: 'avatars',
        limit: query.limit,
        ...(cursor ? { cursor } : {}),
      });
      jobs.push(
        ...page.items
          .filter((job): job is AvatarJobRecord => isJobOfKind(job, 'avatars'))
          .filter((job) => !query.kind || job.params.avatarKind === query.kind)
          .map(presentAvatarJob),
      );
      cursor = page.nextCursor;
      if (!cursor || jobs.length >= query.limit) break;
    }
    return { jobs, ...(cursor ? { next_cursor: cursor } : {}) };
  }

  async getJob(tenant: string, id: string): Promise<AvatarJob> {
    return presentAvatarJob(await this.#job(tenant, id));
  }

  /** Result key → presigned links, for a finished job (the client's `GET /results/{job_name}`). */
  async results(tenant: string, id: string): Promise<AvatarResults> {
    const job = await this.#job(tenant, id);
    if (job.status !== 'completed') {
      throw illegalState(`job ${id} has no results: it is ${presentAvatarJob(job).status}`, {
        name: id,
        status: presentAvatarJob(job).status,
      });
    }
    const { blobs, urlTtlSeconds } = this.deps;
    const entries = await Promise.all(
      Object.entries(job.avatars.outputs ?? {}).map(
        async ([key, objectKeys]) =>
          [
            key,
            await Promise.all(
              objectKeys.map((objectKey) =>
                blobs.presignGet(objectKey, urlTtlSeconds, objectKey.split('/').pop()),
              ),
            ),
          ] as const,
      ),
    );
    return Object.fromEntries(entries);
  }

  /**
   * Cancels a job and every job that depends on it, directly or not: a dependant of a cancelled job
   * could never run. The job itself must be open; its dependants that already ended stay as they are.
   */
  async cancel(tenant: string, id: string): Promise<AvatarJob> {
    const { engine } = this.deps;
    const job = await this.#job(tenant, id);
    const cancelled = await engine.cancel(tenant, id);
    const open = await openAvatarJobsSince(engine, tenant, job.createdAt);
    const toCancel = new Set<string>([id]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const job of open) {
        if (toCancel.has(job.id)) continue;
        if (job.params.dependsOn.some((parent) => toCancel.has(parent))) {
          toCancel.add(job.id);
          grew = true;
        }
      }
    }
    for (const job of open) {
      if (job.id === id || !toCancel.has(job.id)) continue;
      await engine.cancel(tenant, job.id).catch((error: unknown) => {
        // It ended meanwhile: nothing left to cancel.
        if (!(error instanceof DomainError) || error.code !== 'ILLEGAL_STATE') throw error;
      });
    }
    return presentAvatarJob(cancelled as AvatarJobRecord);
  }

  async #set(tenant: string, setName: string): Promise<AvatarSet> {
    const bytes = await this.deps.blobs.get(avatarKeys.parsed(tenant, setName));
    if (!bytes) {
      throw notFound('set', setName);
    }
    return JSON.parse(new TextDecoder().decode(bytes)) as AvatarSet;
  }

  async #job(tenant: string, id: string): Promise<AvatarJobRecord> {
    const job = await this.deps.engine.store.get(tenant, id);
    if (!job || !isJobOfKind(job, 'avatars')) throw notFound('job', id);
    return job;
  }

  /** The parents a request names (by name or by the Location its POST answered), each the tenant's. */
  async #parents(tenant: string, dependsOn: readonly string[]): Promise<AvatarJobRecord[]> {
    const ids = [...new Set(dependsOn.map((entry) => entry.split('/').pop() ?? entry))];
    const parents: AvatarJobRecord[] = [];
    for (const id of ids) {
      const job = JOB_ID_PATTERN.test(id) ? await this.deps.engine.store.get(tenant, id) : undefined;
      if (!job || !isJobOfKind(job, 'avatars')) throw notFound('job', id);
      parents.push(job);
    }
    return parents;
  }
}
