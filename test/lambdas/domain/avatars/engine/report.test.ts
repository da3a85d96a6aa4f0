import { beforeAll, describe, expect, it } from 'vitest';
import { computePrivacy } from '../../../../../lambdas/domain/avatars/engine/metrics/privacy.ts';
import { computeSignal } from '../../../../../lambdas/domain/avatars/engine/metrics/signal.ts';
import {
  PRIVACY_METRIC_NAMES,
  SIGNAL_METRIC_NAMES,
} from '../../../../../lambdas/domain/avatars/engine/metrics/targets.ts';
import {
  escapeHtml,
  formatNumber,
  renderReport,
  SCATTER_MAX_POINTS,
} from '../../../../../lambdas/domain/avatars/engine/report.ts';
import { createRandom } from '../../../../../lambdas/domain/avatars/engine/rng.ts';
import type { Table } from '../../../../../lambdas/domain/avatars/engine/table.ts';
import { category, numbers, table } from './metrics/tables.ts';

const HOSTILE = '<script>alert("x")</script>';

/** A table whose names and levels try to break out of the page, and a noisy copy of it. */
function tables(rows: number): { original: Table; synthetic: Table } {
  const random = createRandom(11);
  const x = Array.from({ length: rows }, () => random.normal());
  const y = x.map((value) => 2 * value + random.normal());
  const levels = ['<b>bold</b>', 'a & b', "it's"];
  const c = Array.from({ length: rows }, () => levels[random.int(3)]!);
  const original = table(numbers(HOSTILE, x), numbers('y', y), category('c" onload="alert(1)', c));
  const synthetic = table(
    numbers(
      HOSTILE,
      x.map((value) => value + 0.2 * random.normal()),
    ),
    numbers(
      'y',
      y.map((value) => value + 0.2 * random.normal()),
    ),
    category('c" onload="alert(1)', [...c].reverse()),
  );
  return { original, synthetic };
}

async function render(rows: number): Promise<string> {
  const { original, synthetic } = tables(rows);
  const privacy = await computePrivacy(original, synthetic, {
    random: createRandom(0),
    tableName: 'patients <2024>',
    knownVariables: ['y'],
    target: HOSTILE,
  });
  return renderReport({
    tableName: 'patients <2024>',
    parameters: { k: 20, ncp: 2, seed: 42, imputation: null, note: '</td><script>', variables: ['a', 'b'] },
    privacy: privacy.metrics,
    signal: computeSignal(original, synthetic),
    projection: { records: privacy.records, synthetic: privacy.synthetic },
    generatedAt: '2026-01-01T00:00:00Z',
  });
}

describe('renderReport', () => {
  let html = '';
  beforeAll(async () => {
    html = await render(300);
  });

  it('shows every privacy and signal metric with its target and status', () => {
    for (const name of [...PRIVACY_METRIC_NAMES, ...SIGNAL_METRIC_NAMES, 'hellinger_std']) {
      expect(html).toContain(`<th scope="row">${name}</th>`);
    }
    expect(html).toContain('&gt; 90');
    expect(html).toContain('&lt; 0.1');
    expect(html).toMatch(/✓ met|✗ not met/);
    expect(html).toContain('not computed');
    expect(html).toContain('synthforge');
  });

  it('shows the run’s parameters', () => {
    expect(html).toContain('<th scope="row">k</th><td>20</td>');
    expect(html).toContain('<th scope="row">variables</th><td>a, b</td>');
  });

  it('escapes every name, level and parameter that comes from the user', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).not.toContain('" onload="');
    expect(html).toContain('&lt;b&gt;bold&lt;/b&gt;');
    expect(html).toContain('a &amp; b');
    expect(html).toContain('patients &lt;2024&gt;');
  });

  it('is self-contained: no script, no link, nothing to fetch', () => {
    expect(html).not.toMatch(/https?:/i);
    expect(html).not.toMatch(/\bsrc=|<link|<img|<iframe|@import|url\(/i);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
  });

  it('draws the projection, a chart per variable and the correlation-difference heatmap', () => {
    expect(html).toContain('aria-label="projection scatter"');
    expect(html.match(/<circle /g)).toHaveLength(600);
    expect(html.match(/<figure><figcaption>/g)).toHaveLength(3);
    expect(html).toContain('aria-label="correlation difference heatmap"');
  });

  it(`samples at most ${SCATTER_MAX_POINTS} points of each set`, async () => {
    const large = await render(6000);

    expect(large.match(/<circle /g)).toHaveLength(2 * SCATTER_MAX_POINTS);
  });

  it('renders with metrics alone, without charts', () => {
    const bare = renderReport({ tableName: 't', parameters: {} });

    expect(bare).toContain('<h1>Avatarization report: t</h1>');
    expect(bare).not.toContain('<svg');
  });
});

describe('escapeHtml and formatNumber', () => {
  it('escape the five characters that matter in text and quoted attributes', () => {
    expect(escapeHtml(`<a href='x' title="y">&</a>`)).toBe(
      '&lt;a href=&#39;x&#39; title=&quot;y&quot;&gt;&amp;&lt;/a&gt;',
    );
  });

  it('show numbers with sensible precision and missing values as a dash', () => {
    expect(formatNumber(92.67935578330892)).toBe('92.68');
    expect(formatNumber(24)).toBe('24');
    expect(formatNumber(0.005856515373352855)).toBe('0.00586');
    expect(formatNumber(328.4)).toBe('328.4');
    expect(formatNumber(null)).toBe('—');
  });
});
