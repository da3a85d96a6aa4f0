/**
 * AWS's request-validation wording, which every emulated service answers with (SageMaker's runtime
 * and control plane, Bedrock Runtime, training jobs): "1 validation error detected: Value 'x' at
 * 'member' failed to satisfy constraint: <rule>". A missing member reads `Value null`; a string is
 * quoted; any other value is written as JSON.
 */
export function constraintMessage(member: string, value: unknown, rule: string): string {
  const shown =
    value === null || value === undefined
      ? 'null'
      : typeof value === 'string'
        ? `'${value}'`
        : (JSON.stringify(value) ?? 'null');
  return `1 validation error detected: Value ${shown} at '${member}' failed to satisfy constraint: ${rule}`;
}

export const NOT_NULL = 'Member must not be null';
