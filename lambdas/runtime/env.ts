/** Reading the settings the CDK stack gives each function. */
import { createHash } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DEFAULT_RATE_LIMITS, parseRateLimits, type RateLimits } from '../domain/rate-limits.ts';

/**
 * A number setting (every one is a count, a size or a time: 0 or more); a value that is not one
 * fails the cold start, naming the variable. An empty value is no number (`Number('')` would read
 * it as 0).
 */
export function numberFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  const value = text === undefined ? fallback : text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(
      `environment variable ${name} must be a number of 0 or more, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/**
 * `RATE_LIMITS`: seed 001's requests per minute by group, as JSON (`{"generation":10,…}`; the stack
 * sets it from the stage's `rateLimits`). Unset: the seed's numbers. A value that is not valid fails
 * the cold start, naming the variable.
 */
export function rateLimitsFrom(env: NodeJS.ProcessEnv): RateLimits {
  const text = env.RATE_LIMITS;
  if (text === undefined || text === '') return DEFAULT_RATE_LIMITS;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('environment variable RATE_LIMITS must be JSON');
  }
  return parseRateLimits(value, 'environment variable RATE_LIMITS');
}

/**
 * The functions that list (and so issue cursors) read the secret the stack generates. The others
 * never issue a cursor; they get a placeholder that nothing relies on.
 */
export async function cursorSecretFrom(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.CURSOR_SECRET) return env.CURSOR_SECRET;
  if (env.CURSOR_SECRET_ARN) {
    const client = new SecretsManagerClient({ region: env.AWS_REGION ?? 'us-east-1' });
    try {
      const { SecretString } = await client.send(
        new GetSecretValueCommand({ SecretId: env.CURSOR_SECRET_ARN }),
      );
      if (!SecretString)
        throw new Error('environment variable CURSOR_SECRET_ARN names a secret without a string value');
      return SecretString;
    } finally {
      client.destroy();
    }
  }
  return createHash('sha256')
    .update(`synthforge-unlisted:${env.AWS_LAMBDA_FUNCTION_NAME ?? 'local'}`)
    .digest('hex');
}
