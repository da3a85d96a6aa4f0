/** Starting and stopping the local servers (lambdas/local/support/http.ts). */
import { Agent, createServer, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { closeServer, listen } from '../../../../lambdas/local/support/http.ts';

describe('listen and closeServer', () => {
  it('listen answers the port it got, and closeServer ends even while a client keeps its connection', async () => {
    // Prepare: a client whose keep-alive connection stays open after its answer.
    const server = createServer((_request, response) => response.end('ok'));
    const port = await listen(server, 0);
    await new Promise<void>((resolve, reject) => {
      const agentRequest = request(
        { port, host: '127.0.0.1', agent: new Agent({ keepAlive: true }) },
        (response) => {
          response.resume();
          response.on('end', resolve);
        },
      );
      agentRequest.on('error', reject);
      agentRequest.end();
    });

    // Act
    const closing = closeServer(server);

    // Assess
    expect(port).toBeGreaterThan(0);
    await expect(closing).resolves.toBeUndefined();
    expect(server.listening).toBe(false);
    await expect(closeServer(server)).resolves.toBeUndefined();
  });

  it('listen rejects a port that is taken, and leaves no error listener behind', async () => {
    // Prepare
    const first = createServer();
    const port = await listen(first, 0);
    const second = createServer();

    // Act
    const taken = listen(second, port);

    // Assess
    await expect(taken).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(first.listenerCount('error')).toBe(0);
    await closeServer(first);
  });
});
