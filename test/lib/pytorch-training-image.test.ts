import { Fact, FactName, RegionInfo } from 'aws-cdk-lib/region-info';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PYTORCH_TRAINING_REGISTRIES,
  pytorchTrainingTag,
  trainingProcessorFor,
} from '../../lib/pytorch-training-image.ts';

describe('the PyTorch training image', () => {
  it('agrees with CDK’s Deep Learning Containers accounts wherever both sources know the region', () => {
    // Two independent copies of AWS's registry list: the SageMaker Python SDK's (ours) and CDK's.
    const known = RegionInfo.regions
      .map((region) => [region.name, Fact.find(region.name, FactName.DLC_REPOSITORY_ACCOUNT)] as const)
      .filter(([name, account]) => account !== undefined && PYTORCH_TRAINING_REGISTRIES[name] !== undefined);
    expect(known.length).toBeGreaterThan(25);
    for (const [name, account] of known) expect(PYTORCH_TRAINING_REGISTRIES[name], name).toBe(account);
    expect(PYTORCH_TRAINING_REGISTRIES['us-east-1']).toBe('763104351884');
  });

  it('is tagged as the SageMaker Python SDK tags it', () => {
    expect(pytorchTrainingTag('gpu')).toBe('2.6.0-gpu-py312');
    expect(pytorchTrainingTag('cpu')).toBe('2.6.0-cpu-py312');
  });

  it('is the GPU build exactly when one of the stage’s training instances has a GPU (g, gr and p families)', () => {
    // Each type tagged with whether it has a GPU: the expectation comes from the lists, not a regex.
    const gpu = fc
      .constantFrom(
        'ml.g4dn.xlarge',
        'ml.g5.2xlarge',
        'ml.g6e.xlarge',
        'ml.gr6.4xlarge',
        'ml.p3.2xlarge',
        'ml.p4d.24xlarge',
      )
      .map((type) => ({ type, hasGpu: true }));
    const cpu = fc
      .constantFrom('ml.m5.large', 'ml.c5.xlarge', 'ml.r5.2xlarge', 'ml.t3.medium', 'ml.m6i.4xlarge')
      .map((type) => ({ type, hasGpu: false }));
    fc.assert(
      fc.property(fc.array(fc.oneof(gpu, cpu), { minLength: 1, maxLength: 6 }), (tagged) => {
        const expected = tagged.some(({ hasGpu }) => hasGpu) ? 'gpu' : 'cpu';
        expect(trainingProcessorFor(tagged.map(({ type }) => type))).toBe(expected);
      }),
    );
  });
});
