/** The WBCD files of the avatar paper (../shared/data/avatars), read as its metrics read them. */
import { readFileSync } from 'node:fs';
import { parseTable } from '../../../../../../lambdas/domain/avatars/engine/csv.ts';
import type { Table } from '../../../../../../lambdas/domain/avatars/engine/table.ts';

const DATA = new URL('../../../../../../../shared/data/avatars/', import.meta.url);

/**
 * A WBCD file of the avatar paper without its identifier: 9 int columns and `Class` as a category,
 * as the paper's metrics read it (no value is missing, so its "NaN → 0" changes nothing).
 */
export function readWbcd(file: string): Table {
  const bytes = readFileSync(new URL(file, DATA));
  const header = new TextDecoder().decode(bytes.subarray(0, 200)).split('\n')[0]!;
  return parseTable(bytes, {
    types: { Class: 'category' },
    dropColumns: header.includes('Sample_code_number') ? ['Sample_code_number'] : [],
  });
}
