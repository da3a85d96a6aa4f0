/**
 * A Runner's set as data, and as the multi-document YAML of the avatars client (its `avatar_yaml`
 * kinds, contracts/avatars.ts). The Runner edits the data; `setToYaml` writes the documents the
 * server runs (`schema`, `schema_avatarized`, `standard`, `privacy_metrics`, `signal_metrics`,
 * `report`, `advice`); `setFromYaml` reads them back, each document checked against its kind's
 * schema, so that a set saved to a file is a set that can be run again.
 */
import { parseAllDocuments, stringify } from 'yaml';
import {
  AVATAR_COLUMN_TYPES,
  AVATAR_DOCUMENTS,
  type AvatarDocument,
  type AvatarDocumentKind,
  type AvatarizationParametersInput,
  type AvatarSchemaDocument,
} from '../../../contracts/avatars.ts';

/** A column's type as a schema declares it. */
export type AvatarColumnType = (typeof AVATAR_COLUMN_TYPES)[number];

/** One column of a table's schema: its type when forced, whether it is an identifier (left out of the avatars). */
export interface AvatarColumnSpec {
  field: string;
  type?: AvatarColumnType;
  identifier?: boolean;
}

/** One table of a set: its name, the file it was uploaded as, and its declared columns. */
export interface AvatarTableSpec {
  name: string;
  file: string;
  /** Absent: the server reads every column from the file and infers its type. */
  columns?: AvatarColumnSpec[];
}

/** A set: its tables, each table's avatarization parameters, the seed and the report's type. */
export interface AvatarSetSpec {
  setName: string;
  tables: AvatarTableSpec[];
  /** Per table; a table with none gets the server's advised k and ncp. */
  parameters: Record<string, AvatarizationParametersInput>;
  /** Of the avatarization and the metrics: the same seed gives the same avatars. */
  seed?: number;
  reportType: 'basic' | 'pia';
}

/** The names of the documents a Runner's set holds (`parameters_name` of each job). */
export const DOCUMENT_NAMES = {
  metadata: 'avatar-metadata',
  schema: 'schema',
  avatarized: 'schema_avatarized',
  standard: 'standard',
  privacy: 'privacy_metrics',
  signal: 'signal_metrics',
  report: 'report',
  advice: 'advice',
} as const;

type Document = Record<string, unknown> & { kind: AvatarDocumentKind };

const doc = (kind: AvatarDocumentKind, name: string, spec: Record<string, unknown>): Document => ({
  kind,
  metadata: { name },
  spec,
});

const seedOf = (set: AvatarSetSpec) => (set.seed === undefined ? {} : { seed: set.seed });

/** The set's documents, in the order the client writes them. */
export function setDocuments(set: AvatarSetSpec): Document[] {
  if (set.tables.length === 0) throw new TypeError('the set has no table: add one with addTable');
  const names = DOCUMENT_NAMES;
  const avatarization = Object.fromEntries(
    set.tables.flatMap((table) => {
      const parameters = set.parameters[table.name];
      return parameters && Object.keys(parameters).length > 0 ? [[table.name, parameters]] : [];
    }),
  );
  return [
    doc('AvatarMetadata', names.metadata, { display_name: set.setName }),
    doc('AvatarSchema', names.schema, {
      tables: set.tables.map((table) => ({
        name: table.name,
        data: { file: table.file },
        ...(table.columns ? { columns: table.columns } : {}),
      })),
    }),
    doc('AvatarSchema', names.avatarized, {
      schema_ref: names.schema,
      tables: set.tables.map((table) => ({ name: table.name, avatars_data: { auto: true } })),
    }),
    doc('AvatarParameters', names.standard, {
      schema: names.schema,
      ...(Object.keys(avatarization).length > 0 ? { avatarization } : {}),
      ...seedOf(set),
    }),
    doc('AvatarPrivacyMetricsParameters', names.privacy, {
      schema: names.avatarized,
      avatarization_ref: names.standard,
      ...seedOf(set),
    }),
    doc('AvatarSignalMetricsParameters', names.signal, {
      schema: names.avatarized,
      avatarization_ref: names.standard,
      ...seedOf(set),
    }),
    doc('AvatarReportParameters', names.report, { report_type: set.reportType }),
    doc('AvatarAdviceParameters', names.advice, { schema: names.schema }),
  ];
}

/**
 * The documents that measure another synthetic table of `table` (a file already uploaded) against
 * the original, as the set's own metrics measure its avatars: a schema naming the file as the
 * table's `avatars_data`, and a privacy and a signal metrics document on it. `id` keeps the names
 * of two comparisons apart.
 */
export function comparisonDocuments(
  set: AvatarSetSpec,
  table: string,
  file: string,
  id: string,
): { documents: Document[]; privacy: string; signal: string } {
  const schema = `compared_${id}`;
  const privacy = `compare_privacy_${id}`;
  const signal = `compare_signal_${id}`;
  return {
    documents: [
      doc('AvatarSchema', schema, {
        schema_ref: DOCUMENT_NAMES.schema,
        tables: [{ name: table, avatars_data: { file } }],
      }),
      doc('AvatarPrivacyMetricsParameters', privacy, { schema, ...seedOf(set) }),
      doc('AvatarSignalMetricsParameters', signal, { schema, ...seedOf(set) }),
    ],
    privacy,
    signal,
  };
}

/** Documents as multi-document YAML. */
export function documentsToYaml(documents: readonly Document[]): string {
  return documents.map((document) => stringify(document, { lineWidth: 0 })).join('---\n');
}

/** The set as the YAML the server stores and runs. */
export function setToYaml(set: AvatarSetSpec): string {
  return documentsToYaml(setDocuments(set));
}

/** A YAML that is not a set the Runner can read: which document, and what is wrong with it. */
export class AvatarYamlError extends SyntaxError {
  override readonly name = 'AvatarYamlError';
}

/**
 * Reads a set from its YAML: each document checked against its kind's schema, then the tables of
 * the schema named `schema` (or the only schema without `schema_ref`), the parameters of the
 * `standard` document (or the only AvatarParameters), its seed and the report's type. Documents the
 * Runner does not write (a comparison's, AvatarVolume) are checked and otherwise left aside.
 * `setName` is the one given, else the AvatarMetadata's `display_name`.
 */
export function setFromYaml(text: string, setName?: string): AvatarSetSpec {
  const documents = readDocuments(text);
  const schemas = documents.filter((d): d is AvatarSchemaDocument => d.kind === 'AvatarSchema');
  const schema =
    schemas.find((d) => d.metadata.name === DOCUMENT_NAMES.schema) ??
    only(
      schemas.filter((d) => d.spec.schema_ref === undefined),
      'AvatarSchema without schema_ref',
    );
  const tables = schema.spec.tables.map((table, index) => {
    if (!table.data) {
      throw new AvatarYamlError(
        `schema ${schema.metadata.name}: table ${index + 1} (${table.name}) has no data.file`,
      );
    }
    return {
      name: table.name,
      file: table.data.file,
      ...(table.columns
        ? {
            columns: table.columns.map(({ field, type, identifier, primary_key }) => ({
              field,
              ...(type ? { type } : {}),
              ...(identifier || primary_key ? { identifier: true } : {}),
            })),
          }
        : {}),
    };
  });
  const parameterDocuments = documents.filter(
    (d): d is Extract<AvatarDocument, { kind: 'AvatarParameters' }> => d.kind === 'AvatarParameters',
  );
  const standard =
    parameterDocuments.find((d) => d.metadata.name === DOCUMENT_NAMES.standard) ??
    (parameterDocuments.length === 1 ? parameterDocuments[0] : undefined);
  const report = documents.find(
    (d): d is Extract<AvatarDocument, { kind: 'AvatarReportParameters' }> =>
      d.kind === 'AvatarReportParameters',
  );
  const name =
    setName ??
    documents.find(
      (d): d is Extract<AvatarDocument, { kind: 'AvatarMetadata' }> => d.kind === 'AvatarMetadata',
    )?.spec?.display_name;
  if (name === undefined) {
    throw new AvatarYamlError('the YAML has no AvatarMetadata with spec.display_name: give the set name');
  }
  return {
    setName: name,
    tables,
    parameters: { ...(standard?.spec.avatarization ?? {}) },
    ...(standard?.spec.seed === undefined ? {} : { seed: standard.spec.seed }),
    reportType: report?.spec.report_type ?? 'basic',
  };
}

function only<T>(candidates: readonly T[], what: string): T {
  const [first] = candidates;
  if (candidates.length !== 1 || first === undefined) {
    throw new AvatarYamlError(
      `the YAML must hold one AvatarSchema named ${DOCUMENT_NAMES.schema}, or exactly one ${what} (found ${candidates.length})`,
    );
  }
  return first;
}

/** Every document, parsed with its kind's schema; the first problem is thrown with its place. */
function readDocuments(text: string): AvatarDocument[] {
  const documents: AvatarDocument[] = [];
  for (const [index, parsed] of parseAllDocuments(text, { uniqueKeys: true }).entries()) {
    const where = `document ${index + 1}`;
    const syntax = parsed.errors[0];
    if (syntax) throw new AvatarYamlError(`${where} is not valid YAML: ${syntax.message.split('\n')[0]}`);
    const value: unknown = parsed.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    const kind = (value as { kind?: unknown }).kind;
    if (typeof kind !== 'string' || !Object.hasOwn(AVATAR_DOCUMENTS, kind)) {
      throw new AvatarYamlError(`${where}: kind must be one of ${Object.keys(AVATAR_DOCUMENTS).join(', ')}`);
    }
    const result = AVATAR_DOCUMENTS[kind as AvatarDocumentKind].safeParse(value);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new AvatarYamlError(
        `${where} (${kind}): ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
      );
    }
    documents.push(result.data as AvatarDocument);
  }
  if (documents.length === 0) throw new AvatarYamlError('the YAML holds no document');
  return documents;
}

/** Whether a column type is one a schema may declare. */
export const isColumnType = (type: string): type is AvatarColumnType =>
  (AVATAR_COLUMN_TYPES as readonly string[]).includes(type);
