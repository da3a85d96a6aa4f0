/**
 * A model call's failure reaches the caller with the service's message: the message must not carry
 * the account's identifiers (DESIGN: no answer carries an ARN or an account id).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { withoutAwsIdentifiers } from '../../../../lambdas/domain/errors.ts';
import { ModelCallError } from '../../../../lambdas/domain/inference/ports.ts';

describe('ModelCallError', () => {
  it('takes the role ARN and the account out of Bedrock’s access-denied message', () => {
    // Act
    const error = new ModelCallError(
      'denied',
      'User: arn:aws:sts::123456789012:assumed-role/synthforge-prod-Inference/fn is not authorized to perform: ' +
        'bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0',
    );

    // Assess
    expect(error.message).toBe(
      'User: <arn> is not authorized to perform: bedrock:InvokeModel on resource: <arn>',
    );
  });

  it('leaves no 12-digit number and no ARN in any message', () => {
    fc.assert(
      fc.property(fc.string(), fc.stringMatching(/^\d{12}$/), fc.string(), (before, account, after) => {
        // Act
        const text = withoutAwsIdentifiers(`${before} ${account} arn:aws:iam::${account}:role/x ${after}`);

        // Assess
        expect(text).not.toMatch(/\b\d{12}\b/);
        expect(text).not.toMatch(/arn:aws/i);
      }),
    );
  });
});
