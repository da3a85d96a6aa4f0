/**
 * What the avatar engine's tests share: the avatar paper's data sets (../shared/data/avatars, read
 * as bytes), WBCD's columns, and reading a column of a table back as plain values.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type {
  CategoryColumn,
  Column,
  NumberColumn,
  Table,
} from '../../../../../lambdas/domain/avatars/engine/table.ts';

/** A file of the avatar paper's data sets, as bytes; a missing folder says where it should be. */
export function dataFile(name: string): Uint8Array {
  const path = fileURLToPath(new URL(`../../../../../../shared/data/avatars/${name}`, import.meta.url));
  if (!existsSync(path))
    throw new Error(`${path} holds the avatar paper's data sets (../shared/data/avatars)`);
  return readFileSync(path);
}

/** WBCD's columns once `Sample_code_number` is dropped: nine features and `Class`. */
export const WBCD_FEATURES = [
  'Clump_Thickness',
  'Uniformity_of_Cell_Size',
  'Uniformity_of_Cell_Shape',
  'Marginal_Adhesion',
  'Single_Epithelial_Cell_Size',
  'Bare_Nuclei',
  'Bland_Chromatin',
  'Normal_Nucleoli',
  'Mitoses',
] as const;
export const WBCD_COLUMNS = [...WBCD_FEATURES, 'Class'] as const;

export function column(table: Table, name: string): Column {
  const found = table.columns.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no column ${name}`);
  return found;
}

export const numbers = (table: Table, name: string): number[] =>
  Array.from((column(table, name) as NumberColumn).values);

export function texts(table: Table, name: string): (string | null)[] {
  const { codes, levels } = column(table, name) as CategoryColumn;
  return Array.from(codes, (code) => (code < 0 ? null : levels[code]!));
}
