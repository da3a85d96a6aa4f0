/**
 * A set's YAML read strictly: each document checked against its kind's schema
 * (contracts/avatars.ts), then against the others (a parameters document names a schema of the set,
 * its tables are the schema's tables), so that a set that is stored can run. Every error names the
 * document and the field, and a set with any error is stored nowhere.
 */
import { parseAllDocuments } from 'yaml';
import {
  AVATAR_DOCUMENTS,
  type AvatarDocument,
  type AvatarDocumentKind,
  type AvatarSchemaDocument,
} from '../../../contracts/avatars.ts';
import { DomainError } from '../errors.ts';
import { escapedTableName } from './keys.ts';
import { type AvatarSet, tablesOf } from './resources.ts';

export type { AvatarSet };

/** The largest YAML a set may be: it names files and parameters, never data. */
export const MAX_RESOURCES_BYTES = 256 * 1024;

interface Problem {
  document: number;
  kind?: string;
  name?: string;
  field: string;
  message: string;
}

const invalidSet = (problems: Problem[]) => {
  const first = problems[0]!;
  const where = `document ${first.document}${first.kind ? ` (${first.kind}${first.name ? ` ${first.name}` : ''})` : ''}`;
  return new DomainError(
    'INVALID_PARAMETERS',
    `invalid resources: ${where}: ${first.field ? `${first.field}: ` : ''}${first.message}` +
      (problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''),
    { errors: problems.slice(0, 50) },
  );
};

/** Reads and checks a set's YAML; throws a 400 naming every document and field at fault. */
export function parseResources(text: string): AvatarSet {
  if (Buffer.byteLength(text) > MAX_RESOURCES_BYTES) {
    throw new DomainError('PAYLOAD_TOO_LARGE', `the resources are larger than ${MAX_RESOURCES_BYTES} bytes`, {
      limit_bytes: MAX_RESOURCES_BYTES,
    });
  }
  const parsed = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const yamlDocuments = Array.isArray(parsed) ? parsed : [parsed];
  const problems: Problem[] = [];
  const documents: AvatarDocument[] = [];
  yamlDocuments.forEach((yamlDocument, index) => {
    const position = index + 1;
    const syntax = yamlDocument.errors[0];
    if (syntax) {
      problems.push({
        document: position,
        field: '',
        message: `not valid YAML: ${syntax.message.split('\n')[0]}`,
      });
      return;
    }
    // Aliases are expanded a bounded number of times: a "billion laughs" set is refused, not expanded.
    let value: unknown;
    try {
      value = yamlDocument.toJS({ maxAliasCount: 100 });
    } catch (error) {
      // An alias to no anchor, or aliases that would expand without bound.
      problems.push({
        document: position,
        field: '',
        message: `not valid YAML: ${(error as Error).message.split('\n')[0]}`,
      });
      return;
    }
    if (value === null || value === undefined) return; // an empty document (a trailing `---`)
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push({
        document: position,
        field: '',
        message: 'a document must be a mapping with kind, metadata and spec',
      });
      return;
    }
    const kind = (value as { kind?: unknown }).kind;
    const name = (value as { metadata?: { name?: unknown } }).metadata?.name;
    const label = { document: position, ...(typeof name === 'string' ? { name } : {}) };
    if (typeof kind !== 'string' || !Object.hasOwn(AVATAR_DOCUMENTS, kind)) {
      problems.push({
        ...label,
        field: 'kind',
        message: `must be one of ${Object.keys(AVATAR_DOCUMENTS).join(', ')}${typeof kind === 'string' ? `, not ${kind}` : ''}`,
      });
      return;
    }
    const result = AVATAR_DOCUMENTS[kind as AvatarDocumentKind].safeParse(value);
    if (!result.success) {
      for (const issue of result.error.issues) {
        problems.push({ ...label, kind, field: issue.path.join('.'), message: issue.message });
      }
      return;
    }
    documents.push(result.data as AvatarDocument);
  });
  if (problems.length === 0 && documents.length === 0) {
    problems.push({ document: 1, field: '', message: 'the body holds no document' });
  }
  if (problems.length === 0) problems.push(...crossChecks(documents));
  if (problems.length > 0) throw invalidSet(problems);
  return { documents };
}

/** What a document must agree on with the others of its set. */
function crossChecks(documents: readonly AvatarDocument[]): Problem[] {
  const problems: Problem[] = [];
  const positionOf = (document: AvatarDocument) => documents.indexOf(document) + 1;
  const seen = new Map<string, AvatarDocument>();
  for (const document of documents) {
    const key = `${document.kind}/${document.metadata.name}`;
    if (seen.has(key)) {
      problems.push({
        document: positionOf(document),
        kind: document.kind,
        name: document.metadata.name,
        field: 'metadata.name',
        message: `a second ${document.kind} named ${document.metadata.name}`,
      });
    }
    seen.set(key, document);
  }
  const schemas = new Map(
    documents
      .filter((d): d is AvatarSchemaDocument => d.kind === 'AvatarSchema')
      .map((d) => [d.metadata.name, d]),
  );
  const parameters = new Set(
    documents.filter((d) => d.kind === 'AvatarParameters').map((d) => d.metadata.name),
  );
  for (const document of documents) {
    const label = { document: positionOf(document), kind: document.kind, name: document.metadata.name };
    if (document.kind === 'AvatarSchema') {
      const names = new Set<string>();
      for (const [index, table] of document.spec.tables.entries()) {
        if (names.has(table.name))
          problems.push({
            ...label,
            field: `spec.tables.${index}.name`,
            message: `a second table named ${table.name}`,
          });
        // Result files are named after the table as the client escapes it: two names that escape
        // alike (`a.b` and `a_dot_b`) would write each other's files.
        const escaped = escapedTableName(table.name);
        const twin = document.spec.tables
          .slice(0, index)
          .find((other) => other.name !== table.name && escapedTableName(other.name) === escaped);
        if (twin)
          problems.push({
            ...label,
            field: `spec.tables.${index}.name`,
            message: `tables ${twin.name} and ${table.name} would have result files of the same name (${escaped}.…): rename one`,
          });
        names.add(table.name);
      }
      const ref = document.spec.schema_ref;
      if (ref !== undefined && !schemas.has(ref))
        problems.push({
          ...label,
          field: 'spec.schema_ref',
          message: `no AvatarSchema named ${ref} in this set`,
        });
      if (ref === undefined && document.spec.tables.some((table) => !table.data))
        problems.push({
          ...label,
          field: 'spec.tables',
          message: 'every table of a schema without schema_ref needs data.file',
        });
      continue;
    }
    const schemaName = (document.spec as { schema?: unknown } | undefined)?.schema;
    if (typeof schemaName !== 'string') continue;
    const schema = schemas.get(schemaName);
    if (!schema) {
      problems.push({
        ...label,
        field: 'spec.schema',
        message: `no AvatarSchema named ${schemaName} in this set`,
      });
      continue;
    }
    const tables = new Set(tablesOf(schema, schemas).map((table) => table.name));
    const perTable =
      document.kind === 'AvatarParameters'
        ? document.spec.avatarization
        : document.kind === 'AvatarAdviceParameters'
          ? document.spec.advice
          : (document.spec as Record<string, unknown>)[
              document.kind === 'AvatarPrivacyMetricsParameters' ? 'privacy_metrics' : 'signal_metrics'
            ];
    for (const table of Object.keys((perTable as Record<string, unknown> | undefined) ?? {})) {
      if (!tables.has(table))
        problems.push({
          ...label,
          field: `spec.${table}`,
          message: `no table named ${table} in schema ${schema.metadata.name}`,
        });
    }
    // The columns that parameters name (weights, exclusions, known variables) are checked against
    // the table itself when the job runs: a schema may declare only some columns (an identifier),
    // and only the file has them all.
    const ref = (document.spec as { avatarization_ref?: string }).avatarization_ref;
    if (ref !== undefined && !parameters.has(ref))
      problems.push({
        ...label,
        field: 'spec.avatarization_ref',
        message: `no AvatarParameters named ${ref} in this set`,
      });
  }
  return problems;
}
