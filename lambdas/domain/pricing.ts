/**
 * Published AWS prices (us-east-1) the estimates use. Sources: aws.amazon.com/lambda/pricing,
 * aws.amazon.com/step-functions/pricing, aws.amazon.com/s3/pricing. Estimates, not invoices.
 */
export const PRICES = {
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerRequest: 0.2 / 1_000_000,
  stepFunctionsPerTransition: 0.025 / 1000,
  s3StandardPerGbMonth: 0.023,
  s3PutPerRequest: 0.005 / 1000,
} as const;

/**
 * Billable state transitions of the batch workflow (statemachines/generation-batch.asl.json):
 * StartBatch, the Map state and FinishBatch once per batch, and RunJob once per job on the happy
 * path. `npm run bench` checks these against a local execution.
 */
export const BATCH_TRANSITIONS = { perBatch: 3, perJob: 1 } as const;

/**
 * Billable state transitions of the image workflow (statemachines/image-generation.asl.json):
 * StartBatch, the Map state and FinishBatch once per batch, and one InvokeModel per image — it waits
 * for the endpoint's notification with a task token, so the wait itself costs nothing, however long
 * the endpoint takes to wake from zero. A polling design pays a Wait, a check and a Choice per poll.
 */
export const IMAGE_TRANSITIONS = { perBatch: 3, perImage: 1 } as const;

/** A price or duration rounded to `digits` decimals, as estimates answer them. */
export function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
