import { describe, expect, it } from 'vitest';
import {
  evaluateTargets,
  meetsTarget,
  PRIVACY_METRIC_NAMES,
  PRIVACY_TARGETS,
  SIGNAL_TARGETS,
} from '../../../../../../lambdas/domain/avatars/engine/metrics/targets.ts';

describe('targets', () => {
  it('are the v0 API strings, one for each privacy metric of the client', () => {
    expect(Object.keys(PRIVACY_TARGETS)).toEqual([...PRIVACY_METRIC_NAMES]);
    expect(PRIVACY_TARGETS.hidden_rate).toBe('> 90');
    expect(PRIVACY_TARGETS.local_cloaking).toBe('> 5');
    expect(PRIVACY_TARGETS.distance_to_closest).toBe('> 0.2');
    expect(SIGNAL_TARGETS).toEqual({ hellinger_mean: '< 0.1', correlation_difference_ratio: '< 10' });
  });

  it.each([
    [92.68, '> 90', true],
    [90, '> 90', false],
    [90, '>= 90', true],
    [0.05, '< 0.1', true],
    [0.1, '< 0.1', false],
    [0.1, '<= 0.1', true],
    [-3, '> -5', true],
  ])('%d against "%s" is %s', (value, target, met) => {
    expect(meetsTarget(value, target)).toBe(met);
  });

  it('leaves a metric that was not computed neither met nor missed', () => {
    expect(meetsTarget(null, '> 90')).toBeNull();
    expect(meetsTarget(Number.NaN, '> 90')).toBeNull();
  });

  it('refuses a target it cannot read', () => {
    expect(() => meetsTarget(1, 'about 90')).toThrow(/cannot read the target "about 90"/);
  });

  it('evaluates every metric that has a target', () => {
    expect(
      evaluateTargets({ hellinger_mean: 0.2, correlation_difference_ratio: null }, SIGNAL_TARGETS),
    ).toEqual({
      hellinger_mean: false,
      correlation_difference_ratio: null,
    });
  });
});
