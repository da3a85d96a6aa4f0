/**
 * Bedrock Runtime's client for the inference gateway, made once per set of clients and destroyed
 * with them: `clients.own(createBedrockRuntime)`. Its own module, so that only the functions that
 * call Bedrock bundle its SDK package.
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { type AwsClientOptions, MODEL_CALL_TIMEOUT_MS, modelCallSettings } from '../clients.ts';

export function createBedrockRuntime(options: AwsClientOptions): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    ...modelCallSettings(options, options.endpoints?.bedrock),
    // Its handler is HTTP/2, which has no connection timeout. It opens a session per call by
    // default, but only when given no options: it is told again here.
    requestHandler: { requestTimeout: MODEL_CALL_TIMEOUT_MS, disableConcurrentStreams: true },
  });
}
