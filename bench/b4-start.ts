/**
 * B4, `npm start` to a working API: the time from spawning `npm start`'s own command
 * (`node --import tsx bin/local.ts`, on a free port and a fresh data folder, as on a first start)
 * to the first 200 on GET /health, next to the same for the transport floor (bench/servers/floor.ts
 * under the same tsx). Both are polled every 10 ms from the moment of the spawn; floor and platform
 * alternate, and the ratio is the median of the per-round ratios.
 *
 * The target is absolute: `npm start` answers within 2 s on the 2-core dev machine.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasExited, stopChild } from '../lambdas/local/support/child-process.ts';
import { REPO_ROOT } from './bundle.ts';
import { bareEnv } from './lib/child.ts';
import { fmt, type Row, row } from './lib/rows.ts';
import { bootstrapMedianCi, median, pairedRatios, summarize } from './lib/stats.ts';

export interface B4Options {
  rounds: number;
  log: (line: string) => void;
}

/** The aim for `npm start`, spawn to a 200 on /health. */
const START_TARGET_MS = 2_000;
const GIVE_UP_MS = 120_000;

export async function benchStart(options: B4Options): Promise<Row[]> {
  const platform: number[] = [];
  const floor: number[] = [];
  // One discarded start of each: tsx compiles the sources into its cache on a first run.
  await startPlatform();
  await startFloor();
  for (let round = 0; round < options.rounds; round++) {
    if (round % 2 === 0) {
      floor.push(await startFloor());
      platform.push(await startPlatform());
    } else {
      platform.push(await startPlatform());
      floor.push(await startFloor());
    }
    options.log(`B4: round ${round + 1}/${options.rounds}: ${fmt(platform.at(-1) ?? Number.NaN)} ms`);
  }
  const ratios = pairedRatios(platform, floor);
  const project = summarize(platform);
  return [
    row({
      bench: 'B4',
      metric: 'npm start: spawn to the first 200 on /health',
      unit: 'ms',
      reference: median(floor),
      project: project.p50,
      ratio: median(ratios),
      ratioCi: bootstrapMedianCi(ratios),
      note:
        `n=${platform.length}; reference = a bare node:http server under the same tsx; ` +
        `platform min ${fmt(project.min)}, max ${fmt(project.max)} ms; fresh data folder each start; ` +
        `target ≤ ${START_TARGET_MS} ms ${project.p50 <= START_TARGET_MS ? '✓' : '✗'}`,
    }),
  ];
}

async function startPlatform(): Promise<number> {
  const dataDir = await mkdtemp(join(tmpdir(), 'synthforge-b4-'));
  try {
    const port = await freePort();
    return await timeToHealth(
      ['--import', 'tsx', 'bin/local.ts', '--port', String(port), '--data-dir', dataDir],
      port,
      // What `npm start` runs with: its process-defaults set the rest.
      bareEnv(),
    );
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function startFloor(): Promise<number> {
  const port = await freePort();
  return timeToHealth(
    ['--import', 'tsx', 'bench/servers/floor.ts'],
    port,
    bareEnv({ BENCH_PORT: String(port) }),
  );
}

/** Spawns `node <args>` and polls GET /health on `port` until it answers 200; then stops it. */
async function timeToHealth(args: string[], port: number, env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  // stdin is a pipe: the floor serves until it closes; the platform ignores it.
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  try {
    while (performance.now() - started < GIVE_UP_MS) {
      if (exited) throw new Error(`node ${args.join(' ')} exited before answering: ${stderr.slice(-300)}`);
      if (await healthy(port)) return performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`node ${args.join(' ')} did not answer /health within ${GIVE_UP_MS} ms`);
  } finally {
    await stop(child);
  }
}

async function healthy(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** The floor ends when its stdin closes; either process on SIGTERM, then SIGKILL after 15 s. */
async function stop(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  child.stdin?.end();
  await stopChild(child, { graceMs: 15_000 });
}

/** A port nothing listens on now (the OS picks it; closed again at once). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
