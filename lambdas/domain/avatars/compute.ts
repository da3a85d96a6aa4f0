/**
 * One avatar job's computation: bytes of CSV (and of its parents' results) in, result files out.
 * Pure: no storage, no clock, so that it runs the same in a Lambda function, in a worker thread of
 * the local platform, or in a container, and a fixed seed gives identical files.
 *
 * The result files are named as the avatars client names them (its `results_organizer`), under the
 * client's result keys: `shuffled`, `unshuffled`, `original_projections`, `avatar_projections`,
 * `figures`, `run_metadata`, `privacy_metrics`, `signal_metrics`, `advice`, `report`.
 */
import type { AvatarizationParametersInput } from '../../../contracts/avatars.ts';
import { adviseParameters } from './engine/advice.ts';
import { avatarize } from './engine/avatarize.ts';
import { CSV_BLOCK_ROWS, encodeBlocks, encodeTable, parseTable, TableError } from './engine/csv.ts';
import { hasMissing, impute } from './engine/impute.ts';
import { alignSynthetic } from './engine/metrics/align.ts';
import { computePrivacy } from './engine/metrics/privacy.ts';
import { computeSignal } from './engine/metrics/signal.ts';
import { fitProjection, transformTable } from './engine/projection.ts';
import { renderReport } from './engine/report.ts';
import { createRandom, type Random } from './engine/rng.ts';
import type { ColumnType, Points, Table } from './engine/table.ts';
import type { JobPlan, TableInput } from './inputs.ts';
import type { MeasuredTable } from './job-record.ts';
import { escapedTableName } from './keys.ts';

export interface ComputeRequest {
  plan: JobPlan;
  /** Object key → its bytes: every object the plan names. */
  inputs: Record<string, Uint8Array>;
  jobId: string;
  /** Where the job's results are stored: a result file `f` is at `resultPrefix + f`. */
  resultPrefix: string;
  /**
   * The memory the job runs with (the function's, the instance's): a `k` whose neighbours alone
   * would take more than half of it is refused with why, rather than run out of memory. Absent: no
   * limit (the local platform).
   */
  memoryBytes?: number;
}

/** Per row and neighbour: its index (4 bytes), distance (8) and weight (8). */
const BYTES_PER_NEIGHBOUR = 20;

export interface ResultFile {
  /** The client's result key (`shuffled`, `privacy_metrics`...). */
  resultKey: string;
  /** Its file name (`wbcd.shuffled-0.csv`). */
  name: string;
  bytes: Uint8Array;
  contentType: string;
}

export interface ComputeOutput {
  files: ResultFile[];
  /** The tables read and the synthetic tables made or measured, for a report downstream. */
  measured?: MeasuredTable[];
  /** One line for the job's message and log. */
  summary: string;
}

export type Progress = (share: number, step: string) => void;

/** Runs a job's computation (in this process, or elsewhere). */
export interface AvatarEnginePort {
  run(request: ComputeRequest, onProgress?: Progress): Promise<ComputeOutput>;
}

/** An error in a job's input that the user must fix (a bad table): its message says what and where. */
export class EngineInputError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'EngineInputError';
  }
}

const encoder = new TextEncoder();
const json = (value: unknown) => encoder.encode(`${JSON.stringify(value, null, 2)}\n`);
const CSV = 'text/csv; charset=utf-8';
const JSON_TYPE = 'application/json';
const HTML = 'text/html; charset=utf-8';

/** The seed of a job that names none: drawn from its id, and written in its run metadata. */
export function seedOf(jobId: string): number {
  let hash = 2166136261;
  for (const char of jobId) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619);
  return hash >>> 1;
}

/**
 * A table of the job. An original is validated and must have the identifiers its schema names; a
 * synthetic table (avatars, or another generator's output) is read as it is, and loses only the
 * identifiers it has: a generator's output usually has none.
 */
function readTable(
  request: ComputeRequest,
  input: TableInput,
  role: 'original' | 'synthetic' = 'original',
): Table {
  const bytes = request.inputs[input.key];
  if (!bytes) throw new EngineInputError('input_missing', `table ${input.name} was not read`);
  try {
    if (role === 'synthetic') {
      const drop = new Set(input.drop);
      const types = Object.fromEntries(Object.entries(input.types).filter(([name]) => !drop.has(name)));
      const table = parseTable(bytes, { types: types as Record<string, ColumnType>, validate: false });
      return { rowCount: table.rowCount, columns: table.columns.filter((column) => !drop.has(column.name)) };
    }
    return parseTable(bytes, {
      types: input.types as Record<string, ColumnType>,
      dropColumns: input.drop,
    });
  } catch (error) {
    if (error instanceof TableError) {
      throw new EngineInputError(
        'invalid_table',
        `table ${input.name} (${input.key.split('/').pop()}): ${error.message}`,
      );
    }
    throw error;
  }
}

/** Refuses, naming them, the columns a job's parameters name that its table does not have. */
function checkColumns(table: Table, tableName: string, names: readonly string[], parameters: string): void {
  const known = new Set(table.columns.map((column) => column.name));
  const unknown = [...new Set(names)].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new EngineInputError(
      'invalid_parameters',
      `table ${tableName}: the ${parameters} parameters name ${unknown.map((name) => JSON.stringify(name)).join(', ')}, which the table does not have (its columns: ${[...known].join(', ')})`,
    );
  }
}

/** The table with its missing values filled (the projection needs every value). */
function complete(
  table: Table,
  parameters: AvatarizationParametersInput['imputation'],
  random: Random,
): Table {
  if (!hasMissing(table)) return table;
  return impute(table, parameters?.method ?? 'mean', {
    ...(parameters?.k ? { k: parameters.k } : {}),
    ...(parameters?.training_fraction ? { trainingFraction: parameters.training_fraction } : {}),
    random,
  });
}

function projectionsCsv(points: Points): Uint8Array {
  return encodeBlocks(projectionBlocks(points));
}

/** The projections' CSV a block of rows at a time (a million rows of 100 dimensions pass V8's string cap). */
function* projectionBlocks(points: Points): Generator<string> {
  yield `${Array.from({ length: points.dims }, (_, d) => `Dim.${d + 1}`).join(',')}\n`;
  const row = new Array<string>(points.dims);
  for (let start = 0; start < points.count; start += CSV_BLOCK_ROWS) {
    const end = Math.min(points.count, start + CSV_BLOCK_ROWS);
    const lines = new Array<string>(end - start);
    for (let i = start; i < end; i++) {
      for (let d = 0; d < points.dims; d++)
        row[d] = String(Number(points.data[i * points.dims + d]!.toPrecision(12)));
      lines[i - start] = row.join(',');
    }
    yield `${lines.join('\n')}\n`;
  }
}

export async function computeAvatarJob(
  request: ComputeRequest,
  onProgress: Progress = () => undefined,
): Promise<ComputeOutput> {
  const { plan } = request;
  const tablesDone = (index: number, share: number) => (index + share) / plan.tables.length;
  switch (plan.kind) {
    case 'standard': {
      const seed = plan.seed ?? seedOf(request.jobId);
      const files: ResultFile[] = [];
      const measured: MeasuredTable[] = [];
      const metadata: Record<string, unknown>[] = [];
      for (const [index, { table: input, parameters }] of plan.tables.entries()) {
        const random = createRandom(seed + index);
        const started = Date.now();
        onProgress(tablesDone(index, 0), `reading ${input.name}`);
        const table = readTable(request, input);
        const excluded = parameters.exclude_variables?.variable_names ?? [];
        checkColumns(
          table,
          input.name,
          [...excluded, ...Object.keys(parameters.column_weights ?? {})],
          'avatarization',
        );
        const weightedAndExcluded = Object.keys(parameters.column_weights ?? {}).find((name) =>
          excluded.includes(name),
        );
        if (weightedAndExcluded) {
          throw new EngineInputError(
            'invalid_parameters',
            `table ${input.name}: column ${weightedAndExcluded} is both weighted and excluded; it can be one or the other`,
          );
        }
        if (excluded.length >= table.columns.length) {
          throw new EngineInputError(
            'invalid_parameters',
            `table ${input.name}: every column is excluded; at least one must be avatarized`,
          );
        }
        const filled = complete(table, parameters.imputation, random);
        const advice =
          parameters.k === undefined || parameters.ncp === undefined
            ? adviseParameters(table, filled, random)
            : undefined;
        const k = Math.min(parameters.k ?? advice!.k, table.rowCount - 1);
        const neighbourBytes = table.rowCount * k * BYTES_PER_NEIGHBOUR;
        if (request.memoryBytes !== undefined && neighbourBytes > request.memoryBytes / 2) {
          const gb = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GB`;
          throw new EngineInputError(
            'invalid_parameters',
            `table ${input.name}: k ${k} over ${table.rowCount} rows needs ${gb(neighbourBytes)} for the neighbours alone, more than half the ${gb(request.memoryBytes)} this job runs with; lower k (the avatar paper uses 20)`,
          );
        }
        const ncp = parameters.ncp ?? advice!.ncp;
        const avatars = await avatarize(filled, {
          k,
          ncp,
          seed: seed + index,
          ...(parameters.column_weights ? { columnWeights: parameters.column_weights } : {}),
          ...(parameters.exclude_variables
            ? {
                exclude: {
                  names: parameters.exclude_variables.variable_names,
                  strategy: parameters.exclude_variables.replacement_strategy ?? 'row_order',
                },
              }
            : {}),
          onProgress: (share, step) => onProgress(tablesDone(index, share * 0.9), `${input.name}: ${step}`),
        });
        const file = escapedTableName(input.name);
        const name = (suffix: string) => `${file}.${suffix}`;
        files.push(
          {
            resultKey: 'shuffled',
            name: name('shuffled-0.csv'),
            bytes: encodeTable(avatars.shuffled),
            contentType: CSV,
          },
          {
            resultKey: 'unshuffled',
            name: name('unshuffled-0.csv'),
            bytes: encodeTable(avatars.unshuffled),
            contentType: CSV,
          },
          {
            resultKey: 'original_projections',
            name: name('projections.original-0.csv'),
            bytes: projectionsCsv(avatars.originalProjections),
            contentType: CSV,
          },
          {
            resultKey: 'avatar_projections',
            name: name('projections.avatars-0.csv'),
            bytes: projectionsCsv(avatars.avatarProjections),
            contentType: CSV,
          },
          {
            resultKey: 'figures',
            name: name('2d_projection.html'),
            bytes: encoder.encode(
              renderReport({
                title: `2D projection: ${input.name}`,
                tableName: input.name,
                parameters: { k, ncp, seed: seed + index },
                projection: { records: avatars.originalProjections, synthetic: avatars.avatarProjections },
              }),
            ),
            contentType: HTML,
          },
        );
        measured.push({
          table: input,
          synthetic: { ...input, key: `${request.resultPrefix}${name('unshuffled-0.csv')}`, drop: [] },
        });
        metadata.push({
          table_name: input.name,
          rows: table.rowCount,
          columns: table.columns.map((column) => ({ name: column.name, type: column.type })),
          parameters: { k, ncp, seed: seed + index, column_weights: parameters.column_weights ?? null },
          advised: advice ? { k: advice.k, ncp: advice.ncp, reasons: advice.reasons } : null,
          imputation: filled === table ? null : (parameters.imputation?.method ?? 'mean'),
          projection: {
            type: avatars.model.type,
            svd: avatars.model.svd,
            explained_variance_ratio: avatars.model.explainedVarianceRatio,
          },
          use_categorical_reduction: parameters.use_categorical_reduction ?? false,
          seconds: (Date.now() - started) / 1000,
        });
      }
      files.push({
        resultKey: 'run_metadata',
        name: 'run_metadata.json',
        bytes: json({ kind: 'standard', seed, tables: metadata }),
        contentType: JSON_TYPE,
      });
      files.push({
        resultKey: 'figures_metadata',
        name: 'figures_metadata.json',
        bytes: json(
          plan.tables.map(({ table }) => ({
            kind: '2d_projection',
            filename: `${escapedTableName(table.name)}.2d_projection.html`,
            table_name: table.name,
          })),
        ),
        contentType: JSON_TYPE,
      });
      return {
        files,
        measured,
        summary: `avatarized ${plan.tables.map(({ table }) => table.name).join(', ')}`,
      };
    }
    case 'privacy_metrics':
    case 'signal_metrics': {
      const seed = plan.seed ?? seedOf(request.jobId);
      const files: ResultFile[] = [];
      const measured: MeasuredTable[] = [];
      const lines: string[] = [];
      for (const [index, entry] of plan.tables.entries()) {
        onProgress(tablesDone(index, 0), `reading ${entry.table.name}`);
        const random = createRandom(seed + index);
        const original = complete(readTable(request, entry.table), undefined, random);
        const synthetic = complete(readTable(request, entry.synthetic, 'synthetic'), undefined, random);
        const file = escapedTableName(entry.table.name);
        onProgress(tablesDone(index, 0.3), `${plan.kind} of ${entry.table.name}`);
        if (plan.kind === 'privacy_metrics') {
          const asked = entry.metrics ?? {};
          checkColumns(
            original,
            entry.table.name,
            [
              ...(asked.known_variables ?? []),
              ...(asked.target ? [asked.target] : []),
              ...(asked.categorical_hidden_rate_variables ?? []),
            ],
            'privacy_metrics',
          );
          const { metrics } = await computePrivacy(original, synthetic, {
            random,
            tableName: entry.table.name,
            ...(entry.ncp === undefined ? {} : { ncp: entry.ncp }),
            ...(asked.known_variables ? { knownVariables: asked.known_variables } : {}),
            ...(asked.target ? { target: asked.target } : {}),
            ...(asked.categorical_hidden_rate_variables
              ? { categoricalHiddenRateVariables: asked.categorical_hidden_rate_variables }
              : {}),
            ...(asked.closest_rate_percentage_threshold === undefined
              ? {}
              : { closestRatePercentageThreshold: asked.closest_rate_percentage_threshold }),
            ...(asked.closest_rate_ratio_threshold === undefined
              ? {}
              : { closestRateRatioThreshold: asked.closest_rate_ratio_threshold }),
          });
          files.push({
            resultKey: 'privacy_metrics',
            name: `${file}.privacy.json`,
            bytes: json(metrics),
            contentType: JSON_TYPE,
          });
          lines.push(
            `${entry.table.name}: hidden rate ${metrics.hidden_rate.toFixed(2)} %, local cloaking ${metrics.local_cloaking}`,
          );
        } else {
          const { metrics } = computeSignal(original, synthetic, { tableName: entry.table.name });
          files.push({
            resultKey: 'signal_metrics',
            name: `${file}.signal.json`,
            bytes: json(metrics),
            contentType: JSON_TYPE,
          });
          lines.push(`${entry.table.name}: Hellinger mean ${metrics.hellinger_mean.toFixed(3)}`);
        }
        measured.push({ table: entry.table, synthetic: entry.synthetic });
      }
      files.push({
        resultKey: 'run_metadata',
        name: 'run_metadata.json',
        bytes: json({ kind: plan.kind, seed }),
        contentType: JSON_TYPE,
      });
      return { files, measured, summary: lines.join('; ') };
    }
    case 'advice': {
      const advice = plan.tables.map(({ table: input }) => {
        const table = readTable(request, input);
        const random = createRandom(seedOf(request.jobId));
        const { reasons, ...parameters } = adviseParameters(
          table,
          complete(table, undefined, random),
          random,
        );
        return { table_name: input.name, advice: { parameters, reasons } };
      });
      return {
        files: [{ resultKey: 'advice', name: 'advice.json', bytes: json(advice), contentType: JSON_TYPE }],
        summary: advice
          .map(
            ({ table_name, advice: { parameters } }) =>
              `${table_name}: k ${parameters.k}, ncp ${parameters.ncp}`,
          )
          .join('; '),
      };
    }
    case 'report': {
      const random = createRandom(seedOf(request.jobId));
      const decode = (key: string | undefined) =>
        key && request.inputs[key] ? JSON.parse(new TextDecoder().decode(request.inputs[key])) : undefined;
      const single = plan.tables.length === 1;
      const files = plan.tables.map((entry, index): ResultFile => {
        onProgress(tablesDone(index, 0), `report of ${entry.table.name}`);
        const original = complete(readTable(request, entry.table), undefined, random);
        // Read back from CSV, a column of the avatars may look like another type (a category whose rare
        // text level no avatar took reads as numbers): it is read as the original's column.
        const synthetic = alignSynthetic(
          original,
          complete(readTable(request, entry.synthetic, 'synthetic'), undefined, random),
        );
        // The first two axes of the original's own projection, where both are drawn.
        const model = fitProjection(original, { nf: 2, random });
        const privacy = decode(entry.privacyKey);
        const html = renderReport({
          tableName: entry.table.name,
          parameters: {
            report_type: plan.reportType,
            rows: original.rowCount,
            columns: original.columns.length,
          },
          ...(privacy ? { privacy } : {}),
          ...(entry.signalKey
            ? { signal: computeSignal(original, synthetic, { tableName: entry.table.name }) }
            : {}),
          projection: {
            records: transformTable(model, original),
            synthetic: transformTable(model, synthetic),
          },
        });
        const name = single ? 'report.html' : `${escapedTableName(entry.table.name)}.report.html`;
        return { resultKey: 'report', name, bytes: encoder.encode(html), contentType: HTML };
      });
      return { files, summary: `report of ${plan.tables.map((entry) => entry.table.name).join(', ')}` };
    }
  }
}

/** The engine in this process: what a Lambda function runs. */
export const inProcessEngine: AvatarEnginePort = { run: computeAvatarJob };
