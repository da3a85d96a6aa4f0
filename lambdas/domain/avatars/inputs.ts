/**
 * What an avatar job reads: its set's tables (the files a schema names), and its parents' results
 * (the avatars a metrics job measures, the metrics a report shows). Checked when the job is created,
 * so that a job that cannot find its inputs is refused rather than failed later, and resolved to
 * object keys when it runs.
 */
import type {
  AvatarizationParametersInput,
  AvatarJobKind,
  AvatarSchemaDocument,
} from '../../../contracts/avatars.ts';
import { invalidParameters } from '../errors.ts';
import type { AvatarJobRecord, TableInput } from './job-record.ts';

export type { TableInput };

import { avatarKeys, escapedTableName } from './keys.ts';
import { type AvatarSet, type ParametersDocument, schemasOf, tablesOf } from './resources.ts';

type SchemaTable = AvatarSchemaDocument['spec']['tables'][number];

/** What one job runs on, resolved to objects. */
export type JobPlan =
  | {
      kind: 'standard';
      seed?: number;
      tables: { table: TableInput; parameters: AvatarizationParametersInput }[];
    }
  | { kind: 'advice'; tables: { table: TableInput }[] }
  | {
      kind: 'privacy_metrics' | 'signal_metrics';
      seed?: number;
      tables: { table: TableInput; synthetic: TableInput; ncp?: number; metrics?: MetricTableParameters }[];
    }
  | {
      kind: 'report';
      reportType: 'basic' | 'pia';
      tables: {
        table: TableInput;
        synthetic: TableInput;
        privacyKey?: string;
        signalKey?: string;
      }[];
    };

/** A metrics document's parameters of one table (contracts/avatars.ts `MetricTableParameters`). */
export interface MetricTableParameters {
  ncp?: number;
  known_variables?: string[];
  target?: string;
  closest_rate_percentage_threshold?: number;
  closest_rate_ratio_threshold?: number;
  categorical_hidden_rate_variables?: string[];
}

function schemaFor(set: AvatarSet, name: string): { schema: AvatarSchemaDocument; tables: SchemaTable[] } {
  const schemas = schemasOf(set);
  const schema = schemas.get(name);
  // The set was checked when it was put: its parameters name schemas it holds.
  if (!schema) throw invalidParameters(`no AvatarSchema named ${name} in the set`, { schema: name });
  return { schema, tables: tablesOf(schema, schemas) };
}

function tableInput(tenant: string, table: SchemaTable, file: string): TableInput {
  const columns = table.columns ?? [];
  return {
    name: table.name,
    key: avatarKeys.file(tenant, file),
    types: Object.fromEntries(
      columns
        .filter((column) => column.type)
        .map((column) => [column.field, column.type === 'datetime_tz' ? 'datetime' : column.type!]),
    ),
    drop: columns.filter((column) => column.identifier || column.primary_key).map((column) => column.field),
  };
}

/** The standard job whose avatars a metrics job measures: the one its `avatarization_ref` names, or its only one. */
function standardParent(
  parents: readonly AvatarJobRecord[],
  ref: string | undefined,
): AvatarJobRecord | undefined {
  const standards = parents.filter((parent) => parent.params.avatarKind === 'standard');
  if (ref)
    return (
      standards.find((parent) => parent.params.parametersName === ref) ??
      (standards.length === 1 ? standards[0] : undefined)
    );
  return standards.length === 1 ? standards[0] : undefined;
}

/**
 * The uploaded files a job reads and whether it reads avatars too (its size estimate doubles); throws
 * a 400 when it could never run: a table without data, a metrics job with no avatars to measure.
 */
export function inputsOf(
  set: AvatarSet,
  found: { document: ParametersDocument; kind: AvatarJobKind },
  parents: readonly AvatarJobRecord[],
  _tenant: string,
): { files: string[]; readsAvatars: boolean } {
  const { document, kind } = found;
  if (kind === 'report') {
    const usable = parents.some(
      (parent) => parent.params.avatarKind !== 'advice' && parent.params.avatarKind !== 'report',
    );
    if (!usable) {
      throw invalidParameters(
        'a report job must depend on the metrics jobs (or the standard job) it reports on',
        {
          depends_on: parents.map((parent) => parent.id),
        },
      );
    }
    return { files: [], readsAvatars: true };
  }
  const spec = document.spec as { schema: string; avatarization_ref?: string };
  const { tables } = schemaFor(set, spec.schema);
  const files: string[] = [];
  let readsAvatars = false;
  for (const table of tables) {
    if (!table.data) {
      throw invalidParameters(`table ${table.name} has no data.file in schema ${spec.schema}`, {
        table: table.name,
      });
    }
    files.push(table.data.file);
    if (kind === 'privacy_metrics' || kind === 'signal_metrics') {
      if (table.avatars_data && 'file' in table.avatars_data) {
        files.push(table.avatars_data.file);
      } else {
        readsAvatars = true;
        if (!standardParent(parents, spec.avatarization_ref)) {
          throw invalidParameters(
            `a ${kind} job measures the avatars of a standard job: depend on one${spec.avatarization_ref ? ` that runs ${spec.avatarization_ref}` : ''}, or give table ${table.name} avatars_data.file`,
            { table: table.name, avatarization_ref: spec.avatarization_ref ?? null },
          );
        }
      }
    }
  }
  return { files, readsAvatars };
}

/** A finished parent's result object for a key and table (its files are named after the table). */
function outputOf(parent: AvatarJobRecord, key: string, tableFile: string): string | undefined {
  return parent.avatars.outputs?.[key]?.find((objectKey) =>
    objectKey.split('/').pop()?.startsWith(`${tableFile}.`),
  );
}

/** The plan of a job whose parents have all finished. */
export function planOf(
  set: AvatarSet,
  found: { document: ParametersDocument; kind: AvatarJobKind },
  parents: readonly AvatarJobRecord[],
  tenant: string,
): JobPlan {
  const { document, kind } = found;
  if (kind === 'report') {
    type ReportTable = Extract<JobPlan, { kind: 'report' }>['tables'][number];
    const tables = new Map<string, ReportTable>();
    for (const parent of parents) {
      for (const measured of parent.avatars.measured ?? []) {
        const file = escapedTableName(measured.table.name);
        const privacyKey = outputOf(parent, 'privacy_metrics', file);
        const signalKey = outputOf(parent, 'signal_metrics', file);
        const current = tables.get(measured.table.name) ?? {
          table: measured.table,
          synthetic: measured.synthetic,
        };
        tables.set(measured.table.name, {
          ...current,
          ...(privacyKey ? { privacyKey } : {}),
          ...(signalKey ? { signalKey } : {}),
        });
      }
    }
    if (tables.size === 0) {
      throw invalidParameters('the jobs this report depends on measured no table', {
        depends_on: parents.map((parent) => parent.id),
      });
    }
    return {
      kind,
      reportType: (document.spec as { report_type?: 'basic' | 'pia' }).report_type ?? 'basic',
      tables: [...tables.values()],
    };
  }
  const spec = document.spec as {
    schema: string;
    avatarization_ref?: string;
    seed?: number;
    avatarization?: Record<string, AvatarizationParametersInput>;
    privacy_metrics?: Record<string, MetricTableParameters>;
    signal_metrics?: Record<string, MetricTableParameters>;
  };
  const { tables } = schemaFor(set, spec.schema);
  const originals = tables.map((table) => ({
    schemaTable: table,
    table: tableInput(tenant, table, table.data!.file),
  }));
  switch (kind) {
    case 'standard':
      return {
        kind,
        ...(spec.seed === undefined ? {} : { seed: spec.seed }),
        tables: originals.map(({ table }) => ({ table, parameters: spec.avatarization?.[table.name] ?? {} })),
      };
    case 'advice':
      return { kind, tables: originals.map(({ table }) => ({ table })) };
    case 'privacy_metrics':
    case 'signal_metrics': {
      const parent = standardParent(parents, spec.avatarization_ref);
      const perTable = kind === 'privacy_metrics' ? spec.privacy_metrics : spec.signal_metrics;
      return {
        kind,
        ...(spec.seed === undefined ? {} : { seed: spec.seed }),
        tables: originals.map(({ schemaTable, table }) => {
          const own =
            schemaTable.avatars_data && 'file' in schemaTable.avatars_data
              ? schemaTable.avatars_data.file
              : undefined;
          const avatarsKey = own
            ? avatarKeys.file(tenant, own)
            : parent
              ? outputOf(parent, 'unshuffled', escapedTableName(table.name))
              : undefined;
          if (!avatarsKey) {
            throw invalidParameters(`no avatars of table ${table.name} to measure`, { table: table.name });
          }
          const metrics = perTable?.[table.name];
          return {
            table,
            // The avatars are written with the original's columns, less the identifiers.
            synthetic: { ...table, key: avatarsKey, drop: own ? table.drop : [] },
            ...(metrics?.ncp === undefined ? {} : { ncp: metrics.ncp }),
            ...(metrics ? { metrics } : {}),
          };
        }),
      };
    }
  }
}
