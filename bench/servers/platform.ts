/**
 * The local platform for B2/B3, in a process of its own (as `npm start` runs it), so that the load
 * generator does not share its event loop. Prints {"url", "devKey"}; then answers line commands on
 * stdin, one JSON line each:
 * - "idle": waits until every batch execution has ended, then {"idle": true};
 * - "usage": this process's CPU time so far (every thread: the API, the in-process emulators and
 *   the render worker) and the DynamoDB calls its clients have made, in all and by operation;
 * - "hold" / "release": holds every new batch execution at its first step (StartBatch), or lets
 *   the held ones go, so that a submission's own cost is measured apart from its execution's.
 * Stops when stdin closes.
 *
 * The rate limit is raised out of the way: the benchmark measures the API, not the limiter's 429s.
 * Powertools settings come from the environment the parent gives (they are read at import).
 * It uses few of the platform's options and fields, so that it measures an older tree for
 * before/after figures with small edits (before issue 12, `platform.workflow` for
 * `platform.workflows.generationBatch`).
 */
import { createInterface } from 'node:readline';
import { startLocalPlatform } from '../../lambdas/local/platform.ts';
import { answer } from '../lib/server-process.ts';

const UNLIMITED = { perSecond: 1e9, burst: 1e9 };

let held: Promise<void> | undefined;
let release = () => {};

const platform = await startLocalPlatform({
  port: 0,
  retryIntervalMs: 0,
  rateLimit: UNLIMITED,
  wrapTask: (placeholder, task) =>
    placeholder === 'StartBatchFunctionArn'
      ? async (runtime, event) => {
          await held;
          return task(runtime, event);
        }
      : task,
});

// Every call any part of the platform makes through its DynamoDB client (the document client
// shares the base client's middleware stack), counted once per `send`, retries not included.
const dynamoCalls = new Map<string, number>();
platform.runtime.clients.dynamo.middlewareStack.add(
  (next, context) => (args) => {
    const operation = String(context.commandName ?? 'unknown').replace(/Command$/, '');
    dynamoCalls.set(operation, (dynamoCalls.get(operation) ?? 0) + 1);
    return next(args);
  },
  { step: 'initialize', name: 'benchDynamoCallCounter' },
);

answer({ url: platform.url, devKey: platform.devKey });

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const command = line.trim();
  if (command === 'idle') {
    void platform.workflows.generationBatch.idle().then(() => answer({ idle: true }));
  } else if (command === 'usage') {
    const cpu = process.cpuUsage();
    answer({ cpuMs: (cpu.user + cpu.system) / 1000, dynamoCalls: Object.fromEntries(dynamoCalls) });
  } else if (command === 'hold') {
    held ??= new Promise<void>((resolve) => {
      release = resolve;
    });
    answer({ held: true });
  } else if (command === 'release') {
    release();
    held = undefined;
    answer({ held: false });
  }
});
lines.on('close', () => {
  void platform.stop().then(() => process.exit(0));
});
