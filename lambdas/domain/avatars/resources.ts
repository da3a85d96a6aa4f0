/**
 * A set's resources once read (./parse-resources.ts reads the YAML): its documents, and how a job
 * finds in them its parameters, its schema and the schema's tables.
 */
import type {
  AvatarAdviceDocument,
  AvatarDocument,
  AvatarJobKind,
  AvatarMetricsDocument,
  AvatarParametersDocument,
  AvatarReportDocument,
  AvatarSchemaDocument,
} from '../../../contracts/avatars.ts';
import { JOB_KIND_OF_DOCUMENT } from '../../../contracts/avatars-vocabulary.ts';

export interface AvatarSet {
  readonly documents: readonly AvatarDocument[];
}

export type ParametersDocument =
  | AvatarParametersDocument
  | AvatarMetricsDocument
  | AvatarReportDocument
  | AvatarAdviceDocument;

type SchemaTable = AvatarSchemaDocument['spec']['tables'][number];

/** A schema's tables, with the data of the schema it refers to (`schema_avatarized` refers to `schema`). */
export function tablesOf(
  schema: AvatarSchemaDocument,
  schemas: ReadonlyMap<string, AvatarSchemaDocument>,
): SchemaTable[] {
  const base = schema.spec.schema_ref ? schemas.get(schema.spec.schema_ref) : undefined;
  return schema.spec.tables.map((table) => {
    const original = base?.spec.tables.find((candidate) => candidate.name === table.name);
    return {
      ...original,
      ...table,
      ...((table.data ?? original?.data) ? { data: table.data ?? original?.data } : {}),
      ...((table.columns ?? original?.columns) ? { columns: table.columns ?? original?.columns } : {}),
    } as SchemaTable;
  });
}

/** A set's parameters document by name, with the job kind that runs it. */
export function parametersOf(
  set: AvatarSet,
  name: string,
): { document: ParametersDocument; kind: AvatarJobKind } | undefined {
  for (const document of set.documents) {
    const kind = JOB_KIND_OF_DOCUMENT[document.kind];
    if (kind && document.metadata.name === name) return { document: document as ParametersDocument, kind };
  }
  return undefined;
}

/** A set's schema by name, and every schema (for `schema_ref`). */
export function schemasOf(set: AvatarSet): Map<string, AvatarSchemaDocument> {
  return new Map(
    set.documents
      .filter((d): d is AvatarSchemaDocument => d.kind === 'AvatarSchema')
      .map((d) => [d.metadata.name, d]),
  );
}

/** The documents a set holds, by kind and name (what `PUT` answers). */
export const documentsOf = (set: AvatarSet) =>
  set.documents.map((document) => ({ kind: document.kind, name: document.metadata.name }));
