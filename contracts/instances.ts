/**
 * Facts about SageMaker instance types that both the stack and the workflow steps need, free of zod
 * (the steps' bundles stay small; contracts/vocabulary.ts says why).
 */

/**
 * Instance families with local NVMe instance storage besides those whose name says so with a `d`
 * (c5d, g4dn, p4d, m6id, ...). SageMaker encrypts such storage in hardware and rejects an endpoint
 * configuration, or a training job, that names a volume KMS key for them.
 */
const INSTANCE_STORE_FAMILIES: ReadonlySet<string> = new Set([
  'g5',
  'g6',
  'g6e',
  'gr6',
  'p5',
  'p5e',
  'p5en',
  'p6-b200',
  'trn1',
  'trn1n',
  'trn2',
]);

/**
 * Whether an instance type (`ml.g5.xlarge`) has local instance storage, in which case its endpoint
 * configuration or training job must not name a KMS key for the ML storage volume.
 */
export function hasInstanceStorage(instanceType: string): boolean {
  const family = instanceType.split('.')[1] ?? '';
  if (INSTANCE_STORE_FAMILIES.has(family)) return true;
  const attributes = /^[a-z]+\d+([a-z]*)/.exec(family)?.[1] ?? '';
  return attributes.includes('d');
}
