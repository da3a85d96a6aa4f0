import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { ConnectionMessenger } from '../../domain/ports.ts';
import { clientSettings } from '../clients.ts';

export interface ApiGatewayConnectionMessengerOptions {
  region: string;
  /** The stage's callback URL: `https://<api-id>.execute-api.<region>.amazonaws.com/<stage>`. */
  callbackUrl: string;
}

/**
 * Sends to WebSocket clients with API Gateway's `PostToConnection`. A connection that has closed
 * answers 410 GoneException, which is an outcome here, not an error: the SDK does not retry it and
 * neither does the caller.
 */
export class ApiGatewayConnectionMessenger implements ConnectionMessenger {
  readonly #client: ApiGatewayManagementApiClient;

  constructor(options: ApiGatewayConnectionMessengerOptions) {
    // The endpoint is the API's own, not an emulator's: the default credential chain signs.
    this.#client = new ApiGatewayManagementApiClient({
      ...clientSettings({ region: options.region }, undefined),
      endpoint: options.callbackUrl,
    });
  }

  async send(connectionId: string, data: string): Promise<'sent' | 'gone'> {
    try {
      await this.#client.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: new TextEncoder().encode(data) }),
      );
      return 'sent';
    } catch (error) {
      if (isGone(error)) return 'gone';
      throw error;
    }
  }

  destroy(): void {
    this.#client.destroy();
  }
}

/** By name or status rather than instanceof: a bundle may hold two copies of the SDK's error classes. */
export function isGone(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return error.name === 'GoneException' || status === 410;
}
