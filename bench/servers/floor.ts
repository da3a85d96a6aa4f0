/**
 * The transport floor for B2/B3 (and B4's start-up floor): a bare node:http server on 127.0.0.1
 * that reads the request body and answers a fixed JSON document. Nothing any local API can answer
 * faster over the same socket. Run as a child by bench/lib/server-process.ts; prints {"url"}, then
 * answers "usage" on stdin with its CPU time so far, and serves until stdin closes. Listens on
 * BENCH_PORT when set (B4 polls a port it chose), else on a free port.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { answer } from '../lib/server-process.ts';

const BODY = JSON.stringify({ id: '01JBENCHFLOOR0000000000000', status: 'completed', progress: 1 });

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(BODY),
    });
    response.end(BODY);
  });
});
server.keepAliveTimeout = 30_000;
server.listen(Number(process.env.BENCH_PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  answer({ url: `http://127.0.0.1:${port}` });
});
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === 'usage') {
    const cpu = process.cpuUsage();
    answer({ cpuMs: (cpu.user + cpu.system) / 1000 });
  }
});
lines.on('close', () => {
  server.close();
  server.closeAllConnections();
});
