/**
 * Seed 004 (Octopize `avatars`): tabular avatarization as jobs of the one engine, shaped after the
 * v1 client's API. A **set** is a multi-document YAML (the client's `avatar_yaml` kinds) that names
 * the tables and the parameters of each job; a **job** runs one parameters document of a set and
 * may depend on other jobs, so that `standard → privacy_metrics, signal_metrics → report` is a graph.
 *
 * The YAML documents are validated here, each with its own schema: an error names the document (its
 * position, kind and name) and the field. Unknown fields are refused so that a typo (`ncpp`) is an
 * error rather than a silently ignored value; features SynthForge does not run (differential
 * privacy, time series, multi-table links) are refused by name rather than ignored.
 */
import {
  AVATAR_JOB_KINDS,
  AVATAR_JOB_STATUSES,
  type AvatarJobKind,
  JOB_KIND_OF_DOCUMENT,
} from './avatars-vocabulary.ts';
import { Cursor, IsoDateTime, Limit } from './common.ts';
import { JobId } from './jobs.ts';
import * as z from './zod.ts';

/** A set's name: the client makes `<user>_python_<8 hex>`; any such token is accepted. */
export const SetName = z
  .string({ error: 'set_name must be a string' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'set_name must be 1–128 letters, digits, `_`, `.` or `-`')
  .openapi('AvatarSetName');

/** A document's `metadata.name`, a table's name or a column's: a plain identifier-like token. */
const Name = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .max(128, `${what} must be at most 128 characters`)
    .regex(/^[^\s/\\]+$/, `${what} must have no spaces or slashes`);

/** An uploaded file, by the name it was uploaded under (`POST /avatars/upload-url`). */
export const FileName = z
  .string({ error: 'file must be a string' })
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/,
    'file must be a file name of letters, digits, `_`, `.` or `-` (as uploaded), without folders',
  )
  .refine((name) => !name.includes('..'), 'file must not contain `..`');

const int = (name: string, min: number, max: number) =>
  z
    .number({ error: `${name} must be a whole number` })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be between ${min} and ${max}`)
    .max(max, `${name} must be between ${min} and ${max}`);

export const AVATAR_COLUMN_TYPES = ['numeric', 'int', 'bool', 'category', 'datetime', 'datetime_tz'] as const;
export const IMPUTATION_METHODS = ['mean', 'median', 'mode', 'knn', 'fast_knn'] as const;

const Metadata = z.object({ name: Name('metadata.name') }).strict();

/** A document that SynthForge reads only for its name (the client sends them; storage is the tenant's). */
const AvatarMetadataDoc = z
  .object({
    kind: z.literal('AvatarMetadata'),
    metadata: Metadata,
    spec: z.object({ display_name: z.string().optional() }).passthrough().optional(),
    annotations: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const AvatarVolumeDoc = z
  .object({
    kind: z.literal('AvatarVolume'),
    metadata: Metadata,
    spec: z.object({ url: z.string() }).passthrough(),
  })
  .strict();

const DataRef = z
  .object({
    volume: z.string().optional().describe('ignored: every file is in your own storage'),
    file: FileName,
  })
  .strict();

const Column = z
  .object({
    field: Name('columns[].field'),
    type: z
      .enum(AVATAR_COLUMN_TYPES, { error: `type must be one of ${AVATAR_COLUMN_TYPES.join(', ')}` })
      .optional(),
    identifier: z.boolean().optional().describe('an identifier is left out of the avatars'),
    primary_key: z.boolean().optional().describe('a primary key is left out of the avatars'),
    time_series_time: z.boolean().optional(),
  })
  .strict()
  .refine((column) => !column.time_series_time, 'time series are not supported: remove time_series_time');

const SchemaTable = z
  .object({
    name: Name('tables[].name'),
    data: DataRef.optional().describe('the original table'),
    avatars_data: z
      .union([
        z.object({ auto: z.literal(true) }).strict(),
        DataRef.describe('a synthetic table of yours, row-aligned with the original, to compare'),
      ])
      .optional(),
    individual_level: z.boolean().optional(),
    columns: z.array(Column).optional(),
    links: z
      .array(z.unknown())
      .max(0, 'multi-table links are not supported: one table per schema')
      .optional(),
  })
  .strict();

const AvatarSchemaDoc = z
  .object({
    kind: z.literal('AvatarSchema'),
    metadata: Metadata,
    spec: z
      .object({
        tables: z.array(SchemaTable).min(1, 'tables must name at least one table'),
        schema_ref: Name('schema_ref').optional(),
      })
      .strict(),
  })
  .strict();

const Results = z
  .object({ volume: z.string().optional(), path: z.string().optional(), format: z.string().optional() })
  .passthrough()
  .optional()
  .describe('ignored: results are stored under your own prefix and listed by GET /avatars/results');

const Seed = int('seed', 0, 2 ** 31 - 1).optional();

/** One table's avatarization parameters (the client's `Runner.set_parameters`). */
export const AvatarizationParameters = z
  .object({
    k: int('k', 1, 1000).optional().describe('neighbours each avatar is drawn from (default: advised)'),
    ncp: int('ncp', 1, 100).optional().describe('dimensions of the projection the neighbours are found in'),
    use_categorical_reduction: z.boolean().optional(),
    column_weights: z.record(z.string(), z.number().positive('column weights must be positive')).optional(),
    exclude_variables: z
      .object({
        variable_names: z.array(z.string()).min(1),
        replacement_strategy: z.enum(['row_order', 'coordinate_similarity']).optional(),
      })
      .strict()
      .optional(),
    imputation: z
      .object({
        method: z.enum(IMPUTATION_METHODS, {
          error: `method must be one of ${IMPUTATION_METHODS.join(', ')}`,
        }),
        k: int('imputation.k', 1, 100).optional(),
        training_fraction: z.number().gt(0).max(1).optional(),
        return_data_imputed: z.boolean().optional(),
      })
      .strict()
      .optional(),
    data_augmentation: z
      .unknown()
      .optional()
      .refine((v) => v === undefined, 'data augmentation is not supported'),
  })
  .strict()
  .openapi('AvatarizationParameters');

const refused = (what: string) =>
  z
    .unknown()
    .optional()
    .refine((value) => value === undefined, `${what} is not supported`);

const AvatarParametersDoc = z
  .object({
    kind: z.literal('AvatarParameters'),
    metadata: Metadata,
    spec: z
      .object({
        schema: Name('schema'),
        avatarization: z.record(z.string(), AvatarizationParameters).optional(),
        avatarization_dp: refused('differential privacy (avatarization_dp)'),
        time_series: refused('time series (time_series)'),
        results: Results,
        seed: Seed,
      })
      .strict(),
  })
  .strict();

/** One table's metric parameters. */
const MetricTableParameters = z
  .object({
    ncp: int('ncp', 1, 100).optional().describe('dimensions of the space the distances are measured in'),
    known_variables: z.array(z.string()).optional(),
    target: z.string().optional(),
    closest_rate_percentage_threshold: z.number().optional(),
    closest_rate_ratio_threshold: z.number().optional(),
    categorical_hidden_rate_variables: z.array(z.string()).optional(),
  })
  .strict();

const metricsDoc = <K extends string, F extends string>(kind: K, field: F) =>
  z
    .object({
      kind: z.literal(kind),
      metadata: Metadata,
      spec: z
        .object({
          schema: Name('schema'),
          avatarization_ref: Name('avatarization_ref').optional(),
          [field]: z.record(z.string(), MetricTableParameters).optional(),
          results: Results,
          seed: Seed,
        } as Record<string, z.ZodType>)
        .strict(),
    })
    .strict();

const AvatarPrivacyMetricsParametersDoc = metricsDoc('AvatarPrivacyMetricsParameters', 'privacy_metrics');
const AvatarSignalMetricsParametersDoc = metricsDoc('AvatarSignalMetricsParameters', 'signal_metrics');

const AvatarReportParametersDoc = z
  .object({
    kind: z.literal('AvatarReportParameters'),
    metadata: Metadata,
    spec: z
      .object({
        report_type: z.enum(['basic', 'pia']).default('basic'),
        output_format: z.string().optional().describe('ignored: the report is one self-contained HTML page'),
        results: Results,
      })
      .strict(),
  })
  .strict();

const AvatarAdviceParametersDoc = z
  .object({
    kind: z.literal('AvatarAdviceParameters'),
    metadata: Metadata,
    spec: z
      .object({
        schema: Name('schema'),
        advice: z.record(z.string(), z.unknown()).optional(),
        results: Results,
      })
      .strict(),
  })
  .strict();

/** Every document kind a set may hold, each with its schema. */
export const AVATAR_DOCUMENTS = {
  AvatarMetadata: AvatarMetadataDoc,
  AvatarVolume: AvatarVolumeDoc,
  AvatarSchema: AvatarSchemaDoc,
  AvatarParameters: AvatarParametersDoc,
  AvatarPrivacyMetricsParameters: AvatarPrivacyMetricsParametersDoc,
  AvatarSignalMetricsParameters: AvatarSignalMetricsParametersDoc,
  AvatarReportParameters: AvatarReportParametersDoc,
  AvatarAdviceParameters: AvatarAdviceParametersDoc,
} as const;

export type AvatarDocumentKind = keyof typeof AVATAR_DOCUMENTS;
export type AvatarDocument = {
  [K in AvatarDocumentKind]: z.output<(typeof AVATAR_DOCUMENTS)[K]>;
}[AvatarDocumentKind];
export type AvatarSchemaDocument = z.output<typeof AvatarSchemaDoc>;
export type AvatarParametersDocument = z.output<typeof AvatarParametersDoc>;
export type AvatarMetricsDocument = z.output<typeof AvatarPrivacyMetricsParametersDoc>;
export type AvatarReportDocument = z.output<typeof AvatarReportParametersDoc>;
export type AvatarAdviceDocument = z.output<typeof AvatarAdviceParametersDoc>;
export type AvatarizationParametersInput = z.output<typeof AvatarizationParameters>;

export { AVATAR_JOB_KINDS, AVATAR_JOB_STATUSES, type AvatarJobKind, JOB_KIND_OF_DOCUMENT };

// ---- Routes ----

export const SetNameParams = z.object({ set_name: SetName }).strict();

/** `PUT /avatars/resources/{set_name}`: the YAML as text (`Content-Type: application/yaml`). */
export const ResourcesBody = z
  .string({ error: 'the body must be YAML text' })
  .min(1, 'the body must hold at least one YAML document')
  .openapi('AvatarResourcesYaml', { description: 'multi-document YAML of the avatar_yaml kinds' });

export const ResourcesStored = z
  .object({
    set_name: SetName,
    documents: z.array(z.object({ kind: z.string(), name: z.string() })),
    updated_at: IsoDateTime,
  })
  .openapi('AvatarResourcesStored');

export const ResourcesYaml = z.string().openapi('AvatarResourcesYamlText');

export const AvatarUploadRequest = z
  .object({
    file: FileName.describe('the name the table is stored under; the schema names it in `data.file`'),
    content_type: z.enum(['text/csv', 'application/octet-stream']).default('text/csv'),
  })
  .strict()
  .openapi('AvatarUploadRequest');

export const AvatarUploadUrl = z
  .object({
    file: FileName,
    url: z.string().url().describe('PUT the table here, with the same Content-Type'),
    method: z.literal('PUT'),
    headers: z.record(z.string(), z.string()),
    expires_at: IsoDateTime,
    max_bytes: z.number().int(),
  })
  .openapi('AvatarUploadUrl');

export const AvatarJobRequest = z
  .object({
    set_name: SetName,
    parameters_name: Name('parameters_name').describe("a parameters document's metadata.name in the set"),
    kind: z.enum(AVATAR_JOB_KINDS).optional().describe("must match the document's kind when given"),
    depends_on: z
      .array(z.string().min(1).max(300), { error: 'depends_on must be a list of job names or Locations' })
      .max(20, 'a job may depend on at most 20 jobs')
      .default([])
      .describe('jobs (names, or the Location each POST answered) that must finish first'),
  })
  .strict()
  .openapi('AvatarJobRequest');

export const AvatarJobNameParams = z.object({ name: JobId }).strict();
export const AvatarResultParams = z.object({ job_name: JobId }).strict();

export const AvatarCompute = z
  .object({
    target: z.enum(['lambda', 'processing', 'local']),
    memory_mb: z.number().int().optional(),
    /** A SageMaker Processing job's instance type. */
    instance_type: z.string().optional(),
    reason: z.string(),
  })
  .openapi('AvatarCompute');

export const AvatarJob = z
  .object({
    name: JobId,
    set_name: SetName,
    parameters_name: z.string(),
    kind: z.enum(AVATAR_JOB_KINDS),
    status: z.enum(AVATAR_JOB_STATUSES),
    done: z.boolean(),
    exception: z.string().nullable(),
    progress: z.number().min(0).max(100),
    depends_on: z.array(JobId),
    created_at: IsoDateTime,
    started_at: IsoDateTime.optional(),
    finished_at: IsoDateTime.optional(),
    compute: AvatarCompute.optional(),
    Location: z.string(),
  })
  .openapi('AvatarJob');

export const AvatarJobCreated = AvatarJob.openapi('AvatarJobCreated');

export const AvatarJobListQuery = z
  .object({ kind: z.enum(AVATAR_JOB_KINDS).optional(), limit: Limit, cursor: Cursor.optional() })
  .strict();

export const AvatarJobList = z
  .object({ jobs: z.array(AvatarJob), next_cursor: z.string().optional() })
  .openapi('AvatarJobList');

/** Result key → presigned URLs (the client's `GET /results/{job_name}`; keys as §4.3 of the research). */
export const AvatarResults = z.record(z.string(), z.array(z.string())).openapi('AvatarResults');

export type AvatarUploadRequest = z.output<typeof AvatarUploadRequest>;
export type AvatarUploadUrl = z.output<typeof AvatarUploadUrl>;
export type AvatarJobRequest = z.output<typeof AvatarJobRequest>;
export type AvatarJob = z.output<typeof AvatarJob>;
export type AvatarJobList = z.output<typeof AvatarJobList>;
export type AvatarResults = z.output<typeof AvatarResults>;
export type ResourcesStored = z.output<typeof ResourcesStored>;
