/**
 * The local platform for B2/B3, in a process of its own (as `npm start` runs it), so that the load
 * generator does not share its event loop. Prints {"url", "devKey"}; then answers line commands on
 * stdin: "idle" (waits until every batch execution has ended, then prints {"idle": true}). Stops
 * when stdin closes.
 *
 * The rate limit is raised out of the way: the benchmark measures the API, not the limiter's 429s.
 * Powertools settings come from the environment the parent gives (they are read at import).
 */
import { createInterface } from 'node:readline';
import { startLocalPlatform } from '../../lambdas/local/platform.ts';
import { answer } from '../lib/server-process.ts';

const UNLIMITED = { perSecond: 1e9, burst: 1e9 };

const platform = await startLocalPlatform({ port: 0, retryIntervalMs: 0, rateLimit: UNLIMITED });
answer({ url: platform.url, devKey: platform.devKey });

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === 'idle') {
    void platform.workflow.idle().then(() => answer({ idle: true }));
  }
});
lines.on('close', () => {
  void platform.stop().then(() => process.exit(0));
});
