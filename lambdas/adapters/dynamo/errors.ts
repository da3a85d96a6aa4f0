/** DynamoDB answered that a ConditionExpression did not hold. */
export function isConditionalCheckFailure(error: unknown): boolean {
  // By name rather than instanceof: a bundle may hold two copies of the SDK's error classes.
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
