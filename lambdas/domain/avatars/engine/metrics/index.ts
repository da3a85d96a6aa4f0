/** The avatar engine's privacy and signal metrics, with their targets. */
export { alignSynthetic, MetricsInputError } from './align.ts';
export {
  type ClosestDistances,
  closestDistances,
  closestRate,
  hiddenRate,
  LOCAL_CLOAKING_CAP,
  type LocalCloaking,
  type LocalCloakingOptions,
  localCloaking,
} from './distance.ts';
export { type InferenceResult, inferenceAttack } from './inference.ts';
export { localCloakingParallel, type ParallelLocalCloakingOptions } from './local-cloaking-parallel.ts';
export {
  computePrivacy,
  computePrivacyMetrics,
  defaultNcp,
  PRIVACY_DEFINITIONS,
  type PrivacyComputation,
  type PrivacyDetails,
  type PrivacyMetrics,
  type PrivacyMetricsOptions,
} from './privacy.ts';
export {
  categoricalHiddenRate,
  columnDirectMatchProtection,
  correlationProtectionRate,
  rowDirectMatchProtection,
} from './rows.ts';
export {
  type Associations,
  associations,
  computeSignal,
  computeSignalMetrics,
  correlationDifferenceRatio,
  type Distribution,
  hellinger,
  type SignalComputation,
  type SignalMetrics,
  type SignalMetricsOptions,
  variableDistributions,
} from './signal.ts';
export * from './targets.ts';
