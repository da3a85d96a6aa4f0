/**
 * Where a tenant's avatar objects live, each key under the tenant like every key: the tables it
 * uploads, its sets' YAML, and each job's results.
 */
export const avatarKeys = {
  /** A table uploaded with `POST /avatars/upload-url`, named in a schema's `data.file`. */
  file: (tenant: string, file: string) => `${tenant}/avatars/files/${file}`,
  /** A set's YAML as it was put, and as parsed (what jobs read). */
  resources: (tenant: string, setName: string) => `${tenant}/avatars/sets/${setName}/resources.yaml`,
  parsed: (tenant: string, setName: string) => `${tenant}/avatars/sets/${setName}/resources.json`,
  /**
   * The set as a job was created with: the job runs what was checked when it was created, whatever
   * is put under the set's name meanwhile.
   */
  jobSet: (tenant: string, setName: string, jobId: string) =>
    `${tenant}/avatars/sets/${setName}/jobs/${jobId}.json`,
  /**
   * What a job run as a SageMaker Processing job is given: its spec (`job/job.json`, the plan and
   * where each input lands) and the manifest of the objects it reads.
   */
  processing: (tenant: string, jobId: string, file: string) =>
    `${tenant}/avatars/processing/${jobId}/${file}`,
  /** A job's results folder; each result file is named as the client names it. */
  result: (tenant: string, jobId: string, file: string) => `${tenant}/avatars/results/${jobId}/${file}`,
};

/** A table's name as the client escapes it in file names (`results_organizer.py`). */
export const escapedTableName = (table: string) =>
  table
    .replaceAll('.', '_dot_')
    .replaceAll('/', '_slash_')
    .replaceAll('&', '_ampersand_')
    .replaceAll('+', '_plus_');
