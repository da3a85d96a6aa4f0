import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiGatewayConnectionMessenger } from '../../../../lambdas/adapters/apigateway/connection-messenger.ts';

const management = mockClient(ApiGatewayManagementApiClient);
afterEach(() => management.reset());

const messenger = () =>
  new ApiGatewayConnectionMessenger({
    region: 'eu-west-1',
    callbackUrl: 'https://abcdef123.execute-api.eu-west-1.amazonaws.com/dev',
  });

describe('ApiGatewayConnectionMessenger', () => {
  it('posts the message to the connection', async () => {
    management.on(PostToConnectionCommand).resolves({});

    expect(await messenger().send('L0SM9cOFvHcCIhw=', '{"type":"pong"}')).toBe('sent');

    const calls = management.commandCalls(PostToConnectionCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input.ConnectionId).toBe('L0SM9cOFvHcCIhw=');
    expect(new TextDecoder().decode(calls[0]?.args[0].input.Data as Uint8Array)).toBe('{"type":"pong"}');
  });

  it('answers gone, after one call, for a 410 GoneException', async () => {
    management
      .on(PostToConnectionCommand)
      .rejects(new GoneException({ message: 'gone', $metadata: { httpStatusCode: 410 } }));

    expect(await messenger().send('L0SM9cOFvHcCIhw=', '{}')).toBe('gone');
    expect(management.commandCalls(PostToConnectionCommand)).toHaveLength(1);
  });

  it('throws any other failure, for the event to be retried', async () => {
    management
      .on(PostToConnectionCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'LimitExceededException' }));
    await expect(messenger().send('L0SM9cOFvHcCIhw=', '{}')).rejects.toThrow('slow down');
  });
});
