/**
 * One result row per metric, as the suite's Markdown table shows them: the reference, the
 * project, their ratio (project / reference), and the target the ratio is held to.
 */

export interface Target {
  /** `max`: the ratio must not exceed `value`; `min`: it must reach it. */
  kind: 'max' | 'min';
  value: number;
}

export interface Row {
  bench: string;
  metric: string;
  unit: string;
  reference: number;
  project: number;
  /** project / reference (for B1, the median of per-round ratios). */
  ratio: number;
  /** 95 % bootstrap interval of the ratio, where rounds were paired. */
  ratioCi?: { low: number; high: number };
  /** Absent: informational. */
  target?: Target;
  /** pass / fail against the target; 'info' without one; 'error' when the benchmark could not run. */
  verdict: 'pass' | 'fail' | 'info' | 'error';
  note: string;
}

export type RowInput = Omit<Row, 'verdict' | 'ratio'> & { ratio?: number };

export function row(input: RowInput): Row {
  const ratio = input.ratio ?? input.project / input.reference;
  return { ...input, ratio, verdict: verdictOf(ratio, input.target) };
}

/** A row for a benchmark that could not produce its numbers; the message says why. */
export function errorRow(bench: string, metric: string, error: unknown): Row {
  const message = error instanceof Error ? error.message : String(error);
  return {
    bench,
    metric,
    unit: '',
    reference: Number.NaN,
    project: Number.NaN,
    ratio: Number.NaN,
    verdict: 'error',
    note: `ERROR: ${message.split('\n')[0]}`,
  };
}

function verdictOf(ratio: number, target: Target | undefined): Row['verdict'] {
  if (!target) return 'info';
  if (!Number.isFinite(ratio)) return 'fail';
  return (target.kind === 'max' ? ratio <= target.value : ratio >= target.value) ? 'pass' : 'fail';
}

const VERDICT_MARK: Record<Row['verdict'], string> = {
  pass: 'pass',
  fail: '**FAIL**',
  info: 'info',
  error: '**ERROR**',
};

/** The Markdown table printed on stdout. */
export function markdownTable(rows: readonly Row[]): string {
  const header = ['Bench', 'Metric', 'Reference', 'Project', 'Ratio', 'Target', 'Verdict', 'Note'];
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map((name) => (['Reference', 'Project', 'Ratio'].includes(name) ? '---:' : '---')).join('|')}|`,
  ];
  for (const r of rows) {
    const cells = [
      r.bench,
      r.metric,
      withUnit(r.reference, r.unit),
      withUnit(r.project, r.unit),
      formatRatio(r),
      r.target ? `${r.target.kind === 'max' ? '≤' : '≥'} ${r.target.value}` : '—',
      VERDICT_MARK[r.verdict],
      r.note,
    ];
    lines.push(`| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`);
  }
  return lines.join('\n');
}

function formatRatio(r: Row): string {
  if (!Number.isFinite(r.ratio)) return '—';
  const ci = r.ratioCi ? ` [${fmt(r.ratioCi.low, 3)}–${fmt(r.ratioCi.high, 3)}]` : '';
  return `${fmt(r.ratio, 3)}${ci}`;
}

function withUnit(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '—';
  return unit ? `${fmt(value)} ${unit}` : fmt(value);
}

/** Three significant digits, never scientific notation for the magnitudes this suite produces. */
export function fmt(value: number, significant = 3): string {
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, significant - 1 - magnitude);
  return value.toLocaleString('en-US', { maximumFractionDigits: Math.min(decimals, 8), useGrouping: true });
}
