import { describe, expect, it } from 'vitest';
import { hasInstanceStorage } from '../../contracts/instances.ts';

describe('hasInstanceStorage', () => {
  it('knows which instance types have local NVMe storage (and so take no volume key)', () => {
    for (const type of [
      'ml.g5.xlarge',
      'ml.g4dn.xlarge',
      'ml.g6e.2xlarge',
      'ml.p4d.24xlarge',
      'ml.m5d.large',
    ]) {
      expect(hasInstanceStorage(type), type).toBe(true);
    }
    for (const type of ['ml.m5.large', 'ml.c5.xlarge', 'ml.inf2.xlarge', 'ml.g5g.xlarge', 'ml.p3.2xlarge']) {
      expect(hasInstanceStorage(type), type).toBe(false);
    }
  });
});
