/**
 * The AWS SDK's default credential provider, as the Lambda bundles have it (LAMBDA_BUNDLE aliases
 * `@aws-sdk/credential-provider-node` to this file). Lambda hands every function its role's
 * credentials in environment variables, which is the first place the default chain looks; the rest
 * of the chain (shared ini files, SSO, login, process, web identity, ECS and EC2 metadata, and the STS
 * and SSO clients they build) never runs there, yet made up about 30 KB of every gzipped bundle.
 * Only bundles are aliased: the local platform, tests and scripts keep the whole chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import type { defaultProvider as chainProvider } from '@aws-sdk/credential-provider-node';

export const defaultProvider: typeof chainProvider = (init) => fromEnv(init);
