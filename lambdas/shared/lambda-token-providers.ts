/**
 * The AWS SDK's bearer-token providers, as the Lambda bundles have them (LAMBDA_BUNDLE aliases
 * `@aws-sdk/token-providers` to this file). Bedrock Runtime's client offers two ways to sign: SigV4
 * first, then a bearer token. Lambda signs with SigV4 from the role's credentials; the client would
 * prefer the token only if the function had `AWS_BEARER_TOKEN_BEDROCK` or an auth scheme preference
 * naming it, and the stack sets neither. The token's environment variable is still read as the SDK
 * reads it (a few lines); the default token chain behind it, the SSO cache files and the SSO OIDC
 * client in `@aws-sdk/nested-clients`, can never find a token in Lambda and is left out.
 * Only bundles are aliased: the local platform, tests and scripts keep the whole package. A module
 * that imported another of its exports would fail the build rather than lose it silently.
 */
import { setTokenFeature } from '@aws-sdk/core/client';
import { getBearerTokenEnvKey } from '@aws-sdk/core/httpAuthSchemes';
import type {
  nodeProvider as chainProvider,
  fromEnvSigningName as envProvider,
} from '@aws-sdk/token-providers';
import { TokenProviderError } from '@smithy/core/config';

/** The token in `AWS_BEARER_TOKEN_<SIGNING NAME>`, as the SDK's own provider reads it. */
export const fromEnvSigningName: typeof envProvider =
  ({ logger, signingName } = {}) =>
  async () => {
    if (!signingName) {
      throw new TokenProviderError("Please pass 'signingName' to compute environment variable key", {
        logger,
      });
    }
    const key = getBearerTokenEnvKey(signingName);
    const token = process.env[key];
    if (token === undefined) {
      throw new TokenProviderError(`Token not present in '${key}' environment variable`, { logger });
    }
    const identity = { token };
    setTokenFeature(identity, 'BEARER_SERVICE_ENV_VARS', '3');
    return identity;
  };

/** The SDK's default chain ends where this one starts: no token from any provider. */
export const nodeProvider: typeof chainProvider = () => async () => {
  throw new TokenProviderError('Could not load token from any providers', false);
};
