/**
 * The avatars client's `Runner` (seed 004): one set of tables, avatarized as a graph of jobs. Tables
 * are uploaded as they are added; `adviseParameters` asks the server for k and ncp; `run` puts the
 * set's YAML and creates `standard`, then `signal_metrics` and `privacy_metrics` on it, then `report`
 * on both, and waits for them; the results (avatars, metrics, report) are read from the jobs' links.
 * `Manager.createRunner(setName?)` makes one; `Runner.fromYaml` makes one from a saved set.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type {
  AvatarizationParametersInput,
  AvatarJobKind,
  AvatarResults,
} from '../../../contracts/avatars.ts';
import { AvatarizationParameters } from '../../../contracts/avatars.ts';
import { escapedTableName } from '../../../lambdas/domain/avatars/keys.ts';
import { ApiClient } from '../api-client.ts';
import { decodeText } from '../http.ts';
import type { Manager } from '../manager.ts';
import type { CallOptions } from '../route-types.ts';
import { parseCsv, rowsToCsv, type TableRows } from './csv.ts';
import { type AvatarJob, type AvatarWaitOptions, waitForAvatarJobs } from './wait.ts';
import {
  type AvatarColumnSpec,
  type AvatarSetSpec,
  comparisonDocuments,
  DOCUMENT_NAMES,
  documentsToYaml,
  isColumnType,
  setDocuments,
  setFromYaml,
  setToYaml,
} from './yaml-config.ts';

/** Options of `addTable`. */
export interface AddTableOptions extends CallOptions {
  /** Columns that identify a person (a patient number): left out of the avatars. */
  identifiers?: readonly string[];
  /** Column types forced instead of inferred: numeric, int, bool, category, datetime, datetime_tz. */
  types?: Readonly<Record<string, string>>;
}

/** A table's avatarization parameters, named as the client's `Runner.set_parameters` names them. */
export interface RunnerParameters {
  /** Neighbours each avatar is drawn from (default: the server's advice). */
  k?: number;
  /** Dimensions of the projection the neighbours are found in (default: the server's advice). */
  ncp?: number;
  use_categorical_reduction?: boolean;
  /** Column name → weight in the projection (positive). */
  column_weights?: Readonly<Record<string, number>>;
  /** Columns kept out of the projection and put back afterwards. */
  exclude_variable_names?: readonly string[];
  /** How excluded columns are put back: `row_order` (the default) or `coordinate_similarity`. */
  exclude_replacement_strategy?: 'row_order' | 'coordinate_similarity';
  imputation_method?: 'mean' | 'median' | 'mode' | 'knn' | 'fast_knn';
  imputation_k?: number;
  imputation_training_fraction?: number;
  /** The seed of the whole set (the avatarization and the metrics): the same seed, the same avatars. */
  seed?: number;
}

/** Metrics of one table as the server computes them: each metric's value, `targets`, and `met`. */
export interface AvatarMetrics {
  /** Metric name → its target (`'> 90'`, `'< 0.1'`). */
  targets: Record<string, string>;
  /** Metric name → whether its value meets the target (null: not computed). */
  met: Record<string, boolean | null>;
  metadata?: { table_name: string } & Record<string, unknown>;
  [metric: string]: unknown;
}

/** The advice of one table (`advice.json`). */
export interface TableAdvice {
  table_name: string;
  advice: {
    parameters: { k: number; ncp: number; use_categorical_reduction: boolean } & Record<string, unknown>;
    reasons?: Record<string, string>;
  };
}

/** The jobs `run()` created, as they ended. */
export interface RunJobs {
  standard: AvatarJob;
  signal_metrics: AvatarJob;
  privacy_metrics: AvatarJob;
  report: AvatarJob;
}

/** Another synthetic table of a table, measured as the avatars are (`compare`). */
export interface Comparison {
  privacy: AvatarMetrics;
  signal: AvatarMetrics;
  jobs: { privacy_metrics: AvatarJob; signal_metrics: AvatarJob };
}

/** Options of the Runner's waits: how to poll, for how long, and a signal that stops waiting. */
export type RunOptions = AvatarWaitOptions;

/** Options of `downloadReport`. */
export interface ReportOptions extends RunOptions {
  /** The table whose report is written to the file `path`; without it, every table's. */
  table?: string;
}

/** A set name as the client makes one (`<user>_python_<8 hex>`), with the SDK's marker. */
export function defaultSetName(): string {
  return `synthforge_ts_${randomBytes(4).toString('hex')}`;
}

/** The most characters of a table's name kept in its file's name; a longer one is shortened and hashed. */
const TABLE_IN_FILE_NAME = 60;
/** The most characters of a set's name kept in a file's name (a set name's most). */
const SET_IN_FILE_NAME = 128;
/** The suffix `fileNamePart` appends: a dash and 8 hex digits of a hash of the whole name. */
const HASH_SUFFIX = /-[0-9a-f]{8}$/;
/** A column name a schema may declare (contracts/avatars.ts `Name`). */
const DECLARABLE_COLUMN = /^[^\s/\\]{1,128}$/;

/**
 * A name as one part of an upload's file name. A name of letters, digits, `_` and `-` (and, with
 * `dots`, single dots between them), short enough, is kept as it is. Any other, and one that ends
 * like a hash suffix, has its other characters made `_`, is shortened, and gets a hash of the whole
 * name (`données` → `donn_es-<8 hex>`): a kept name never ends like that, so two names never share
 * a part (barring a 32-bit hash collision, which the Runner refuses by name).
 */
export function fileNamePart(name: string, maxLength: number, dots: boolean): string {
  const kept = dots ? /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/ : /^[A-Za-z0-9_-]+$/;
  if (name.length <= maxLength && kept.test(name) && !HASH_SUFFIX.test(name)) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, maxLength - 9)}-${hash}`;
}

/**
 * The file a set's table is uploaded as, `<set>.<table>.csv`: uploads are the tenant's, not the
 * set's, so the set's name keeps two sets' tables of one name apart. The set's part holds no dot,
 * so the first dot says where it ends: two (set, table) pairs never share a file.
 */
export function uploadFileName(setName: string, table: string): string {
  const set = fileNamePart(setName, SET_IN_FILE_NAME, false);
  return `${set}.${fileNamePart(table, TABLE_IN_FILE_NAME, true)}.csv`;
}

export class Runner {
  readonly client: ApiClient;
  #set: AvatarSetSpec;
  #jobs: Partial<Record<AvatarJobKind, AvatarJob>> = {};
  /** The tables of the last `run()`, which its report covers. */
  #runTables: string[] = [];
  #comparisons = 0;

  constructor(client: ApiClient | Manager, setName: string = defaultSetName(), set?: AvatarSetSpec) {
    this.client = client instanceof ApiClient ? client : client.client;
    this.#set = set
      ? structuredClone({ ...set, setName })
      : { setName, tables: [], parameters: {}, reportType: 'basic' };
  }

  /**
   * A Runner for a set saved with `toYaml` (or written by hand): its tables must have been
   * uploaded under the files it names. The set name is `setName`, else the YAML's AvatarMetadata's.
   */
  static fromYaml(manager: Manager | ApiClient, yaml: string, options: { setName?: string } = {}): Runner {
    const set = setFromYaml(yaml, options.setName);
    return new Runner(manager, set.setName, set);
  }

  get setName(): string {
    return this.#set.setName;
  }

  /** The tables' names, in the order they were added. */
  get tables(): string[] {
    return this.#set.tables.map((table) => table.name);
  }

  /** The jobs created so far (the last of each kind). */
  get jobs(): Readonly<Partial<Record<AvatarJobKind, AvatarJob>>> {
    return { ...this.#jobs };
  }

  /** A table's parameters as the set will send them; undefined when it has none yet. */
  parameters(table: string): AvatarizationParametersInput | undefined {
    this.#table(table);
    const parameters = this.#set.parameters[table];
    return parameters ? structuredClone(parameters) : undefined;
  }

  /**
   * Adds a table and uploads it: a CSV file's path (sent as it is; `,` `;` tab or `|` separated), or
   * rows (objects, or a header row then rows), written as CSV. Adding a table's name again replaces it.
   */
  async addTable(name: string, table: string | TableRows, options: AddTableOptions = {}): Promise<void> {
    const { identifiers = [], types = {}, ...call } = options;
    const bytes =
      typeof table === 'string' ? await readFile(table) : new TextEncoder().encode(rowsToCsv(table));
    const header = headerOf(name, decodeText(bytes), typeof table === 'string' ? undefined : ',');
    const known = new Set(header);
    for (const column of [...identifiers, ...Object.keys(types)]) {
      if (!known.has(column)) {
        throw new TypeError(`table ${name} has no column ${column}; its columns are ${header.join(', ')}`);
      }
      if (!DECLARABLE_COLUMN.test(column)) {
        throw new TypeError(
          `column ${JSON.stringify(column)} of table ${name} cannot be declared in a schema: a name there has no spaces or slashes and at most 128 characters`,
        );
      }
    }
    for (const [column, type] of Object.entries(types)) {
      if (!isColumnType(type)) {
        throw new TypeError(
          `column ${column}: type ${type} is not one of numeric, int, bool, category, datetime, datetime_tz`,
        );
      }
    }
    const file = uploadFileName(this.setName, name);
    const clash = this.#set.tables.find((other) => other.name !== name && other.file === file);
    if (clash) {
      throw new TypeError(
        `tables ${clash.name} and ${name} would be uploaded as the same file ${file}; rename one of them`,
      );
    }
    await this.client.uploadAvatarTable(file, bytes, call);
    const columns = declaredColumns(header, new Set(identifiers), types);
    const spec = { name, file, ...(columns ? { columns } : {}) };
    const index = this.#set.tables.findIndex((existing) => existing.name === name);
    if (index >= 0) this.#set.tables[index] = spec;
    else this.#set.tables.push(spec);
  }

  /**
   * Sets a table's parameters, replacing those it had; checked here against the contract, so that
   * a bad value is refused before anything is sent. `seed` is the whole set's.
   */
  setParameters(table: string, parameters: RunnerParameters): void {
    this.#table(table);
    const { seed, ...rest } = parameters;
    const built = {
      ...(rest.k === undefined ? {} : { k: rest.k }),
      ...(rest.ncp === undefined ? {} : { ncp: rest.ncp }),
      ...(rest.use_categorical_reduction === undefined
        ? {}
        : { use_categorical_reduction: rest.use_categorical_reduction }),
      ...(rest.column_weights === undefined ? {} : { column_weights: { ...rest.column_weights } }),
      ...(rest.exclude_variable_names === undefined
        ? {}
        : {
            exclude_variables: {
              variable_names: [...rest.exclude_variable_names],
              ...(rest.exclude_replacement_strategy
                ? { replacement_strategy: rest.exclude_replacement_strategy }
                : {}),
            },
          }),
      ...imputationOf(rest),
    };
    if (rest.exclude_replacement_strategy !== undefined && rest.exclude_variable_names === undefined) {
      throw new TypeError('exclude_replacement_strategy needs exclude_variable_names');
    }
    const checked = AvatarizationParameters.safeParse(built);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new RangeError(
        `parameters of table ${table}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      );
    }
    if (seed !== undefined) {
      if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 31 - 1) {
        throw new RangeError(`seed must be a whole number between 0 and ${2 ** 31 - 1}, got ${seed}`);
      }
      this.#set.seed = seed;
    }
    this.#set.parameters[table] = checked.data;
  }

  /**
   * Runs an `advice` job on the tables, waits for it, and applies the `k`, `ncp` and
   * `use_categorical_reduction` it advises to each table's parameters (the others are kept).
   * Resolves with the advice, reasons included.
   */
  async adviseParameters(options: RunOptions = {}): Promise<TableAdvice[]> {
    await this.#putSet(this.toYaml(), options);
    const job = await this.#create(DOCUMENT_NAMES.advice, [], options);
    this.#jobs.advice = job;
    const advice = await this.#resultJson<TableAdvice[]>(job, 'advice', undefined, options);
    for (const entry of advice) {
      if (!this.tables.includes(entry.table_name)) continue;
      const { k, ncp, use_categorical_reduction } = entry.advice.parameters;
      this.#set.parameters[entry.table_name] = {
        ...this.#set.parameters[entry.table_name],
        k,
        ncp,
        use_categorical_reduction,
      };
    }
    return advice;
  }

  /**
   * Puts the set's YAML, then creates the client's graph: `standard`; `signal_metrics` and
   * `privacy_metrics`, each after `standard`; `report`, after both. Waits for all four and resolves
   * with them; a job that fails is an `AvatarJobError` once the others have ended.
   */
  async run(options: RunOptions = {}): Promise<RunJobs> {
    await this.#putSet(this.toYaml(), options);
    this.#runTables = this.tables;
    const names = DOCUMENT_NAMES;
    const standard = await this.#create(names.standard, [], options);
    const signal = await this.#create(names.signal, [standard.Location], options);
    const privacy = await this.#create(names.privacy, [standard.Location], options);
    const report = await this.#create(names.report, [privacy.Location, signal.Location], options);
    this.#jobs = { ...this.#jobs, standard, signal_metrics: signal, privacy_metrics: privacy, report };
    const ended = await waitForAvatarJobs(this.client, [standard, signal, privacy, report], {
      ...options,
      onStatus: (job) => {
        this.#jobs[job.kind] = job;
        options.onStatus?.(job);
      },
    });
    const [endedStandard, endedSignal, endedPrivacy, endedReport] = ended as [
      AvatarJob,
      AvatarJob,
      AvatarJob,
      AvatarJob,
    ];
    return {
      standard: endedStandard,
      signal_metrics: endedSignal,
      privacy_metrics: endedPrivacy,
      report: endedReport,
    };
  }

  /** Cancels the jobs of the last `run()` that have not ended (their dependants with them). */
  async cancel(options: CallOptions = {}): Promise<void> {
    for (const job of Object.values(this.#jobs)) {
      const current = await this.client.getAvatarJob(job.name, options);
      if (!current.done) await this.client.cancelAvatarJob(job.name, options).catch(() => undefined);
    }
  }

  /** A table's privacy metrics (its `<table>.privacy.json`), once `run()`'s privacy job has finished. */
  async privacyMetrics(table: string, options: RunOptions = {}): Promise<AvatarMetrics> {
    return this.#resultJson(this.#job('privacy_metrics'), 'privacy_metrics', table, options);
  }

  /** A table's signal metrics (its `<table>.signal.json`), once `run()`'s signal job has finished. */
  async signalMetrics(table: string, options: RunOptions = {}): Promise<AvatarMetrics> {
    return this.#resultJson(this.#job('signal_metrics'), 'signal_metrics', table, options);
  }

  /** A table's avatars, shuffled (the rows carry no order of the original), as CSV text. */
  async shuffledCsv(table: string, options: RunOptions = {}): Promise<string> {
    return this.#resultText(this.#job('standard'), 'shuffled', table, options);
  }

  /** A table's avatars, shuffled, one object per row (column → text, empty when missing). */
  async shuffled(table: string, options: RunOptions = {}): Promise<Record<string, string>[]> {
    return recordsOf(await this.shuffledCsv(table, options));
  }

  /** A table's avatars in the original's row order (each avatar on its original's row). */
  async unshuffled(table: string, options: RunOptions = {}): Promise<Record<string, string>[]> {
    return recordsOf(await this.#resultText(this.#job('standard'), 'unshuffled', table, options));
  }

  /**
   * Writes the report of the last `run()`: one self-contained HTML page per table. With `table`,
   * or when the run had one table, the page is written to the file `path`. Otherwise `path` is a
   * folder (made when missing) that receives every table's page under the name the server gives
   * it, `<table>.report.html`, the table's name escaped as in every result's name (`.` → `_dot_`).
   * Resolves with the bytes written, all pages together.
   */
  async downloadReport(path: string, options: ReportOptions = {}): Promise<number> {
    const { table, ...wait } = options;
    if (table !== undefined) this.#table(table);
    const job = this.#job('report');
    const urls = await this.#resultUrls(job, 'report', undefined, wait);
    const download = (url: string, to: string) => this.client.fetchResultToFile(url, to, callOf(wait));
    // The server names a run of one table's page `report.html`, and each page `<table>.report.html`
    // when there are several.
    const [only] = urls;
    if (urls.length === 1 && only !== undefined && fileNameOf(only) === 'report.html') {
      if (table !== undefined && this.#runTables.length === 1 && this.#runTables[0] !== table) {
        throw new Error(`the report job ${job.name} reports table ${this.#runTables[0]}, not ${table}`);
      }
      return download(only, path);
    }
    if (table !== undefined) {
      const own = urls.find((url) => fileNameOf(url) === `${escapedTableName(table)}.report.html`);
      if (!own) throw new Error(`the report job ${job.name} has no report of table ${table}`);
      return download(own, path);
    }
    await mkdir(path, { recursive: true });
    let bytes = 0;
    for (const url of urls) bytes += await download(url, join(path, basename(fileNameOf(url))));
    return bytes;
  }

  /**
   * Measures another synthetic table of `table` (another generator's, row-aligned with the
   * original) as `run()` measures the avatars: uploads it, runs a privacy and a signal metrics job
   * on it, and resolves with both metrics. Needs no `run()`.
   */
  async compare(table: string, other: string | TableRows, options: RunOptions = {}): Promise<Comparison> {
    this.#table(table);
    const id = `${++this.#comparisons}_${randomBytes(3).toString('hex')}`;
    const file = uploadFileName(this.setName, `${table}.compared_${id}`);
    const bytes =
      typeof other === 'string' ? await readFile(other) : new TextEncoder().encode(rowsToCsv(other));
    await this.client.uploadAvatarTable(file, bytes, callOf(options));
    const comparison = comparisonDocuments(this.#set, table, file, id);
    await this.#putSet(documentsToYaml([...setDocuments(this.#set), ...comparison.documents]), options);
    const privacy = await this.#create(comparison.privacy, [], options);
    const signal = await this.#create(comparison.signal, [], options);
    const [endedPrivacy, endedSignal] = (await waitForAvatarJobs(
      this.client,
      [privacy, signal],
      options,
    )) as [AvatarJob, AvatarJob];
    return {
      privacy: await this.#resultJson<AvatarMetrics>(endedPrivacy, 'privacy_metrics', table, options),
      signal: await this.#resultJson<AvatarMetrics>(endedSignal, 'signal_metrics', table, options),
      jobs: { privacy_metrics: endedPrivacy, signal_metrics: endedSignal },
    };
  }

  /** The set as the multi-document YAML the server runs; `Runner.fromYaml` reads it back. */
  toYaml(): string {
    return setToYaml(this.#set);
  }

  #table(name: string) {
    const table = this.#set.tables.find((candidate) => candidate.name === name);
    if (!table) {
      throw new TypeError(
        `the set has no table ${name}${this.tables.length > 0 ? `; its tables are ${this.tables.join(', ')}` : ': add it with addTable'}`,
      );
    }
    return table;
  }

  #job(kind: AvatarJobKind): AvatarJob {
    const job = this.#jobs[kind];
    if (!job) throw new Error(`no ${kind} job yet: call run() first`);
    return job;
  }

  async #putSet(yaml: string, options: RunOptions) {
    return this.client.putAvatarResources(this.setName, yaml, callOf(options));
  }

  async #create(parametersName: string, dependsOn: string[], options: RunOptions): Promise<AvatarJob> {
    const job = await this.client.createAvatarJob(
      { set_name: this.setName, parameters_name: parametersName, depends_on: dependsOn },
      callOf(options),
    );
    options.onStatus?.(job);
    return job;
  }

  /**
   * The links of a result key of a job, once it has finished (waited for, as the client does):
   * every link, or with `table` the one of that table's file (`<table>.privacy.json`, …).
   */
  async #resultUrls(
    job: AvatarJob,
    key: string,
    table: string | undefined,
    options: RunOptions,
  ): Promise<string[]> {
    const [ended] = await waitForAvatarJobs(this.client, [job], options);
    const results: AvatarResults = await this.client.avatarResults(
      (ended as AvatarJob).name,
      callOf(options),
    );
    const urls = results[key] ?? [];
    if (urls.length === 0) throw new Error(`the ${job.kind} job ${job.name} has no ${key} result`);
    if (table === undefined) return urls;
    const prefix = `${escapedTableName(table)}.`;
    const own = urls.filter((url) => fileNameOf(url).startsWith(prefix));
    if (own.length > 0) return own;
    throw new Error(`the ${job.kind} job ${job.name} has no ${key} result for table ${table}`);
  }

  async #resultText(
    job: AvatarJob,
    key: string,
    table: string | undefined,
    options: RunOptions,
  ): Promise<string> {
    const [url] = await this.#resultUrls(job, key, table, options);
    return decodeText(
      await this.client.fetchResult(url as string, options.signal ? { signal: options.signal } : {}),
    );
  }

  async #resultJson<T>(
    job: AvatarJob,
    key: string,
    table: string | undefined,
    options: RunOptions,
  ): Promise<T> {
    return JSON.parse(await this.#resultText(job, key, table, options)) as T;
  }
}

/**
 * A table's header, read as the server will read the file (its delimiter sniffed by the server's
 * rule, unless the SDK wrote the file itself): a file the job could not read is refused here.
 */
function headerOf(table: string, text: string, delimiter: string | undefined): string[] {
  try {
    return parseCsv(text, { limit: 1, ...(delimiter ? { delimiter } : {}) })[0] ?? [];
  } catch (error) {
    if (error instanceof SyntaxError) throw new SyntaxError(`table ${table}: ${error.message}`);
    throw error;
  }
}

/**
 * The columns a table's schema declares: the identifiers and the columns of a forced type, in the
 * header's order. The others need no declaring: the server checks the columns that parameters name
 * (weights, exclusions) against the table itself when the job runs.
 */
function declaredColumns(
  header: readonly string[],
  identifiers: ReadonlySet<string>,
  types: Readonly<Record<string, string>>,
): AvatarColumnSpec[] | undefined {
  const fields = header.filter((field) => identifiers.has(field) || types[field] !== undefined);
  if (fields.length === 0) return undefined;
  return fields.map((field) => {
    const type = types[field];
    return {
      field,
      ...(type !== undefined && isColumnType(type) ? { type } : {}),
      ...(identifiers.has(field) ? { identifier: true } : {}),
    };
  });
}

function imputationOf(parameters: RunnerParameters) {
  const { imputation_method: method, imputation_k: k, imputation_training_fraction: fraction } = parameters;
  if (method === undefined) {
    if (k !== undefined || fraction !== undefined) {
      throw new TypeError('imputation_k and imputation_training_fraction need imputation_method');
    }
    return {};
  }
  return {
    imputation: {
      method,
      ...(k === undefined ? {} : { k }),
      ...(fraction === undefined ? {} : { training_fraction: fraction }),
    },
  };
}

function callOf(options: RunOptions): CallOptions {
  return options.signal ? { signal: options.signal } : {};
}

/** The file name a result link points at (its path's last segment). */
function fileNameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
}

/** CSV text as one object per row, keyed by the header. */
function recordsOf(text: string): Record<string, string>[] {
  // The server writes its results with commas, whatever the original's delimiter was.
  const [header = [], ...rows] = parseCsv(text, { delimiter: ',' });
  return rows.map((row) => Object.fromEntries(header.map((name, index) => [name, row[index] ?? ''])));
}
