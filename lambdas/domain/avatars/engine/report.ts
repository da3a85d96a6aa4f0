/**
 * The avatarization report: one self-contained HTML page (inline CSS and SVG; no script, font,
 * image or link to fetch), readable offline and safe to open from an e-mail or a bucket. It shows
 * the run's parameters, each metric against its target, the originals and the synthetic rows in
 * the projected space, each variable's distributions and the correlation-difference heatmap.
 * Every string that comes from the user (table and column names, category levels, parameters) is
 * escaped.
 */
import type { PrivacyMetrics } from './metrics/privacy.ts';
import type { Associations, Distribution, SignalComputation } from './metrics/signal.ts';
import { PRIVACY_METRIC_NAMES, SIGNAL_METRIC_NAMES } from './metrics/targets.ts';
import type { Points } from './table.ts';

/** Points of each set drawn in the scatter at most: more adds size, not information. */
export const SCATTER_MAX_POINTS = 5000;
/** Variables whose distributions are drawn at most. */
export const DISTRIBUTIONS_MAX = 20;
/** Variables in the heatmap at most (the first ones, in column order). */
const HEATMAP_MAX = 40;

type ParameterValue = string | number | boolean | null | undefined | readonly (string | number)[];

export interface ReportInput {
  readonly title?: string;
  readonly tableName: string;
  /** The run's parameters (k, ncp, seed, …), shown as given. */
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  readonly privacy?: PrivacyMetrics;
  readonly signal?: SignalComputation;
  /** Coordinates of the originals and of the synthetic rows; the first two dimensions are drawn. */
  readonly projection?: { readonly records: Points; readonly synthetic: Points };
  /** When the report was made (ISO 8601); shown as given. */
  readonly generatedAt?: string;
}

/** Escapes text for HTML content and for quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A metric value for people: null as a dash, large values with fewer decimals. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  if (Number.isInteger(value)) return String(value);
  const size = Math.abs(value);
  if (size >= 100) return value.toFixed(1);
  if (size >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 12px;border-bottom:1px solid #d9dde3;padding-bottom:4px}
.sub{color:#5b6576;margin:0 0 16px}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e6e9ee;vertical-align:top}
th{background:#eef1f5;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.met{color:#0a6b2d;font-weight:600}.miss{color:#b3261e;font-weight:600}.na{color:#7a8494}
.tag{font-size:12px;color:#5b6576}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:16px}
figure{margin:0;background:#fff;border:1px solid #e6e9ee;padding:8px}
figcaption{font-weight:600;margin-bottom:4px;overflow-wrap:anywhere}
.legend span{display:inline-block;margin-right:16px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
svg text{font:11px system-ui,sans-serif;fill:#3b4454}
`;

const ORIGINAL_COLOUR = '#2f6db5';
const SYNTHETIC_COLOUR = '#e07b1f';

/** The report as one HTML document. */
export function renderReport(input: ReportInput): string {
  const title = input.title ?? `Avatarization report: ${input.tableName}`;
  const sections = [
    parametersSection(input),
    input.privacy ? privacySection(input.privacy) : '',
    input.signal ? signalSection(input.signal) : '',
    input.projection ? projectionSection(input.projection) : '',
    input.signal ? distributionsSection(input.signal.distributions) : '',
    input.signal ? heatmapSection(input.signal.associations) : '',
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p class="sub">Table <strong>${escapeHtml(input.tableName)}</strong>${
    input.generatedAt ? ` · generated ${escapeHtml(input.generatedAt)}` : ''
  }</p>
${sections.join('\n')}
</main>
</body>
</html>
`;
}

function parametersSection(input: ReportInput): string {
  const rows = Object.entries(input.parameters)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => {
      const shown = Array.isArray(value) ? value.join(', ') : value === null ? '—' : String(value);
      return `<tr><th scope="row">${escapeHtml(name)}</th><td>${escapeHtml(shown)}</td></tr>`;
    });
  if (rows.length === 0) return '';
  return `<section><h2>Parameters</h2><table>${rows.join('')}</table></section>`;
}

function metState(met: boolean | null | undefined): string {
  if (met === true) return '<span class="met">✓ met</span>';
  if (met === false) return '<span class="miss">✗ not met</span>';
  return '<span class="na">not computed</span>';
}

function metricsTable(
  rows: readonly {
    name: string;
    value: number | null;
    target?: string;
    met?: boolean | null;
    source: string;
  }[],
): string {
  const body = rows
    .map(
      (row) =>
        `<tr><th scope="row">${escapeHtml(row.name)}</th><td class="num">${formatNumber(row.value)}</td>` +
        `<td>${row.target === undefined ? '' : escapeHtml(row.target)}</td><td>${
          row.target === undefined ? '' : metState(row.met)
        }</td><td class="tag">${escapeHtml(row.source)}</td></tr>`,
    )
    .join('');
  return `<table><thead><tr><th>Metric</th><th>Value</th><th>Target</th><th>Status</th><th>Definition</th></tr></thead><tbody>${body}</tbody></table>`;
}

function privacySection(privacy: PrivacyMetrics): string {
  const rows = PRIVACY_METRIC_NAMES.map((name) => ({
    name,
    value: privacy[name],
    target: privacy.targets[name],
    met: privacy.met[name],
    source: privacy.definitions[name],
  }));
  const details = privacy.details;
  const extra = [
    {
      name: 'local_cloaking_records_median',
      value: details.local_cloaking_records_median,
      source: 'octopize',
    },
    { name: 'local_cloaking_empty_rate', value: details.local_cloaking_empty_rate, source: 'octopize' },
    {
      name: 'distance_to_closest_below_target_share',
      value: details.distance_to_closest_below_target_share,
      source: 'synthforge',
    },
  ];
  const met = rows.filter((row) => row.met === true).length;
  const computed = rows.filter((row) => row.met !== null).length;
  return `<section><h2>Privacy</h2>
<p>${met} of ${computed} computed metrics meet their target. Distances are measured in the ${details.ncp}-dimensional projection fitted on the original.</p>
${metricsTable([...rows, ...extra])}</section>`;
}

function signalSection(signal: SignalComputation): string {
  const metrics = signal.metrics;
  const rows = [
    ...SIGNAL_METRIC_NAMES.map((name) => ({
      name,
      value: metrics[name],
      target: metrics.targets[name],
      met: metrics.met[name],
      source: metrics.definitions[name],
    })),
    { name: 'hellinger_std', value: metrics.hellinger_std, source: metrics.definitions.hellinger_std },
  ];
  const variables = metrics.details.variables
    .map(
      (variable) =>
        `<tr><th scope="row">${escapeHtml(variable.name)}</th><td>${variable.kind}</td><td class="num">${formatNumber(
          variable.hellinger,
        )}</td></tr>`,
    )
    .join('');
  return `<section><h2>Signal</h2>${metricsTable(rows)}
<h3>Hellinger distance per variable</h3>
<table><thead><tr><th>Variable</th><th>Kind</th><th>Hellinger</th></tr></thead><tbody>${variables}</tbody></table></section>`;
}

function legend(): string {
  return `<p class="legend"><span><i class="swatch" style="background:${ORIGINAL_COLOUR}"></i>original</span><span><i class="swatch" style="background:${SYNTHETIC_COLOUR}"></i>synthetic</span></p>`;
}

/** Up to `max` row indices spread evenly over 0..count-1 (the same rows on every run). */
function sample(count: number, max: number): number[] {
  if (count <= max) return Array.from({ length: count }, (_, i) => i);
  return Array.from({ length: max }, (_, i) => Math.floor((i * count) / max));
}

function projectionSection(projection: { readonly records: Points; readonly synthetic: Points }): string {
  const width = 640;
  const height = 480;
  const margin = 36;
  const sets = [
    { points: projection.records, colour: ORIGINAL_COLOUR },
    { points: projection.synthetic, colour: SYNTHETIC_COLOUR },
  ].map((set) => ({ ...set, rows: sample(set.points.count, SCATTER_MAX_POINTS) }));
  const coordinate = (points: Points, row: number, axis: number): number =>
    axis < points.dims ? points.data[row * points.dims + axis]! : 0;
  let minX = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (const set of sets) {
    for (const row of set.rows) {
      const x = coordinate(set.points, row, 0);
      const y = coordinate(set.points, row, 1);
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
  }
  if (!Number.isFinite(minX)) return '';
  const spanX = maxX - minX || 1;
  const spanY = maxY - minY || 1;
  const px = (x: number) => (margin + ((x - minX) / spanX) * (width - 2 * margin)).toFixed(1);
  const py = (y: number) => (height - margin - ((y - minY) / spanY) * (height - 2 * margin)).toFixed(1);
  const groups = sets.map((set) => {
    const dots = set.rows
      .map((row) => {
        const x = coordinate(set.points, row, 0);
        const y = coordinate(set.points, row, 1);
        return Number.isFinite(x) && Number.isFinite(y)
          ? `<circle cx="${px(x)}" cy="${py(y)}" r="1.6"/>`
          : '';
      })
      .join('');
    return `<g fill="${set.colour}" fill-opacity="0.45">${dots}</g>`;
  });
  const shown = sets.map((set) => set.rows.length);
  return `<section><h2>Projection</h2>
<p>The first two dimensions of the projected space: ${shown[0]} of ${projection.records.count} originals and ${shown[1]} of ${projection.synthetic.count} synthetic rows.</p>
${legend()}
<figure><svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="projection scatter">
<rect x="${margin}" y="${margin}" width="${width - 2 * margin}" height="${height - 2 * margin}" fill="none" stroke="#c9ced6"/>
${groups.join('\n')}
<text x="${width / 2}" y="${height - 8}" text-anchor="middle">dimension 1</text>
<text x="12" y="${height / 2}" text-anchor="middle" transform="rotate(-90 12 ${height / 2})">dimension 2</text>
</svg></figure></section>`;
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

function distributionChart(distribution: Distribution): string {
  const bins = distribution.labels.length;
  const width = 320;
  const height = 180;
  const top = 8;
  const bottom = 52;
  const left = 34;
  const plotWidth = width - left - 6;
  const plotHeight = height - top - bottom;
  let max = 0;
  for (let b = 0; b < bins; b++) max = Math.max(max, distribution.original[b]!, distribution.synthetic[b]!);
  const scale = max > 0 ? plotHeight / max : 0;
  const slot = plotWidth / Math.max(bins, 1);
  const bar = Math.max(0.5, slot * 0.4);
  const bars: string[] = [];
  const labels: string[] = [];
  const every = Math.ceil(bins / 12);
  for (let b = 0; b < bins; b++) {
    const x = left + b * slot + slot * 0.1;
    const label = escapeHtml(distribution.labels[b]!);
    for (const [which, values, colour, shift] of [
      ['original', distribution.original, ORIGINAL_COLOUR, 0],
      ['synthetic', distribution.synthetic, SYNTHETIC_COLOUR, bar],
    ] as const) {
      const h = values[b]! * scale;
      bars.push(
        `<rect x="${(x + shift).toFixed(1)}" y="${(top + plotHeight - h).toFixed(1)}" width="${bar.toFixed(1)}" height="${h.toFixed(1)}" fill="${colour}"><title>${label}: ${which} ${formatNumber(values[b]!)}</title></rect>`,
      );
    }
    if (b % every === 0) {
      const cx = (left + (b + 0.5) * slot).toFixed(1);
      const cy = top + plotHeight + 10;
      labels.push(
        `<text x="${cx}" y="${cy}" text-anchor="end" transform="rotate(-40 ${cx} ${cy})">${escapeHtml(
          truncate(distribution.labels[b]!, 14),
        )}</text>`,
      );
    }
  }
  return `<figure><figcaption>${escapeHtml(distribution.name)} <span class="tag">(${distribution.kind})</span></figcaption>
<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="distribution of ${escapeHtml(distribution.name)}">
<line x1="${left}" y1="${top + plotHeight}" x2="${width - 6}" y2="${top + plotHeight}" stroke="#9aa3af"/>
<text x="${left - 4}" y="${top + 8}" text-anchor="end">${formatNumber(max)}</text>
<text x="${left - 4}" y="${top + plotHeight}" text-anchor="end">0</text>
${bars.join('')}${labels.join('')}
</svg></figure>`;
}

function distributionsSection(distributions: readonly Distribution[]): string {
  if (distributions.length === 0) return '';
  const shown = distributions.slice(0, DISTRIBUTIONS_MAX);
  const note =
    distributions.length > shown.length
      ? ` The first ${shown.length} of ${distributions.length} variables.`
      : '';
  return `<section><h2>Distributions</h2><p>Share of rows per level or bin.${note}</p>${legend()}
<div class="grid">${shown.map(distributionChart).join('\n')}</div></section>`;
}

function heatmapSection(matrices: Associations): string {
  const m = Math.min(matrices.names.length, HEATMAP_MAX);
  if (m < 2) return '';
  const all = matrices.names.length;
  const cell = Math.max(12, Math.min(36, Math.floor(560 / m)));
  const labelSpace = 150;
  const size = labelSpace + m * cell + 8;
  const cells: string[] = [];
  const labels: string[] = [];
  for (let a = 0; a < m; a++) {
    const name = escapeHtml(truncate(matrices.names[a]!, 22));
    const y = labelSpace + a * cell + cell / 2 + 4;
    labels.push(`<text x="${labelSpace - 4}" y="${y}" text-anchor="end">${name}</text>`);
    const x = labelSpace + a * cell + cell / 2;
    labels.push(
      `<text x="${x}" y="${labelSpace - 4}" transform="rotate(-60 ${x} ${labelSpace - 4})">${name}</text>`,
    );
    for (let b = 0; b < m; b++) {
      const value = matrices.difference[a * all + b]!;
      // White at 0, full red at a difference of 0.5 or more.
      const strength = Math.min(1, value / 0.5);
      const shade = Math.round(255 * (1 - strength));
      const title = `${escapeHtml(matrices.names[a]!)} × ${escapeHtml(matrices.names[b]!)}: |Δ| ${formatNumber(
        value,
      )} (original ${formatNumber(matrices.original[a * all + b]!)}, synthetic ${formatNumber(
        matrices.synthetic[a * all + b]!,
      )})`;
      cells.push(
        `<rect x="${labelSpace + b * cell}" y="${labelSpace + a * cell}" width="${cell}" height="${cell}" fill="rgb(255,${shade},${shade})" stroke="#fff"><title>${title}</title></rect>`,
      );
    }
  }
  const note = all > m ? ` The first ${m} of ${all} variables.` : '';
  return `<section><h2>Correlation difference</h2>
<p>|association in the original − association in the synthetic table| for each pair of variables (Pearson's r, η or Cramér's V by the variables' kinds); white is 0, red 0.5 or more.${note}</p>
<figure><svg viewBox="0 0 ${size} ${size}" width="100%" style="max-width:${size}px" role="img" aria-label="correlation difference heatmap">
${cells.join('')}${labels.join('')}
</svg></figure></section>`;
}
