/**
 * From measured metrics (quality.ts) to seed 001's answer: which metrics were asked for, the
 * thresholds each must meet, one score per metric and the `quality_score` over them, and `passed`.
 *
 * Each metric's score is 0–1 and is exactly 0.5 at its threshold, so that "passed" and "scores at
 * least a half" agree metric by metric:
 * - a metric that must reach a minimum (sharpness, contrast, colourfulness) scores value / (2 · min),
 *   capped at 1: twice the minimum is a full score;
 * - noise, which must stay under a maximum, scores 1 − value / (2 · max), floored at 0;
 * - brightness, which must stay inside [min, max], scores 1 in the middle half of the band, 0.5 at
 *   either edge, and falls to 0 at black or white.
 * `quality_score` is the mean of the requested metrics' scores; `passed` asks every requested metric
 * to meet its threshold and the score to reach `quality_score_min`.
 */
import type { QualityMetricName, QualityThresholds } from '../../../contracts/datasets.ts';
import { QUALITY_METRICS } from '../../../contracts/datasets.ts';
import type { QualityMetrics } from './quality.ts';

/**
 * The defaults where a request sets no threshold. Sharpness 100 is the usual cut between blurred and
 * sharp photographs for the variance of the Laplacian (OpenCV users' rule of thumb, e.g. Pertuz et al.
 * 2013 compare focus measures of this kind); contrast 0.15 is a luminance σ of 19 grey levels, below
 * which an image looks washed out; noise 0.05 is a σ of 13 grey levels, visible grain.
 */
export const DEFAULT_THRESHOLDS: Required<QualityThresholds> = {
  sharpness_min: 100,
  contrast_min: 0.15,
  noise_level_max: 0.05,
  brightness_min: 0.1,
  brightness_max: 0.9,
  colourfulness_min: 0,
  quality_score_min: 0.5,
};

export interface QualityCheckResult {
  metric: QualityMetricName;
  value: number;
  threshold: number;
  comparison: 'min' | 'max';
  passed: boolean;
}

export interface QualityAssessment {
  quality_score: number;
  metrics: Partial<QualityMetrics>;
  checks: QualityCheckResult[];
  passed: boolean;
}

/** Scores measured metrics against the request's thresholds, over the requested metrics (all by default). */
export function assessQuality(
  measured: QualityMetrics,
  requested: readonly QualityMetricName[] | undefined,
  thresholds: QualityThresholds | undefined,
): QualityAssessment {
  const names = requested && requested.length > 0 ? [...new Set(requested)] : [...QUALITY_METRICS];
  const limits = { ...DEFAULT_THRESHOLDS, ...definedOnly(thresholds ?? {}) };
  const metrics: Partial<QualityMetrics> = {};
  const checks: QualityCheckResult[] = [];
  const scores: number[] = [];
  for (const name of QUALITY_METRICS) {
    if (!names.includes(name)) continue;
    const value = measured[name];
    metrics[name] = round(value, name === 'sharpness' ? 2 : 4);
    scores.push(metricScore(name, value, limits));
    checks.push(...checksOf(name, value, limits));
  }
  const quality_score = round(scores.reduce((sum, s) => sum + s, 0) / scores.length, 4);
  const passed = checks.every((check) => check.passed) && quality_score >= limits.quality_score_min;
  return { quality_score, metrics, checks, passed };
}

function metricScore(name: QualityMetricName, value: number, limits: Required<QualityThresholds>): number {
  switch (name) {
    case 'sharpness':
      return atLeast(value, limits.sharpness_min);
    case 'contrast':
      return atLeast(value, limits.contrast_min);
    case 'colourfulness':
      return atLeast(value, limits.colourfulness_min);
    case 'noise_level':
      return limits.noise_level_max <= 0
        ? value <= 0
          ? 1
          : 0
        : clamp01(1 - value / (2 * limits.noise_level_max));
    case 'brightness':
      return bandScore(value, limits.brightness_min, limits.brightness_max);
  }
}

/** value / (2 · min), capped at 1; any value meets a minimum of 0. */
function atLeast(value: number, min: number): number {
  return min <= 0 ? 1 : clamp01(value / (2 * min));
}

/** 1 in the middle half of [min, max], 0.5 at its edges, linear to 0 at 0 and 1. */
function bandScore(value: number, min: number, max: number): number {
  const quarter = (max - min) / 4;
  const innerLow = min + quarter;
  const innerHigh = max - quarter;
  if (value >= innerLow && value <= innerHigh) return 1;
  if (value < innerLow) {
    if (value >= min) return quarter === 0 ? 1 : 0.5 + (0.5 * (value - min)) / quarter;
    return min <= 0 ? 0 : clamp01((0.5 * value) / min);
  }
  if (value <= max) return quarter === 0 ? 1 : 0.5 + (0.5 * (max - value)) / quarter;
  return max >= 1 ? 0 : clamp01((0.5 * (1 - value)) / (1 - max));
}

function checksOf(
  name: QualityMetricName,
  value: number,
  limits: Required<QualityThresholds>,
): QualityCheckResult[] {
  const min = (threshold: number): QualityCheckResult => ({
    metric: name,
    value,
    threshold,
    comparison: 'min',
    passed: value >= threshold,
  });
  const max = (threshold: number): QualityCheckResult => ({
    metric: name,
    value,
    threshold,
    comparison: 'max',
    passed: value <= threshold,
  });
  switch (name) {
    case 'sharpness':
      return [min(limits.sharpness_min)];
    case 'contrast':
      return [min(limits.contrast_min)];
    case 'colourfulness':
      return [min(limits.colourfulness_min)];
    case 'noise_level':
      return [max(limits.noise_level_max)];
    case 'brightness':
      return [min(limits.brightness_min), max(limits.brightness_max)];
  }
}

const clamp01 = (value: number) => Math.min(1, Math.max(0, value));
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
