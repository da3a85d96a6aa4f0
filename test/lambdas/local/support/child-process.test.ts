/**
 * The one way a local child is started and stopped (lambdas/local/support/child-process.ts): tied to
 * this process through its stdin, stopped with SIGTERM and, past the grace, SIGKILL.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hasExited, spawnTiedToParent, stopChild } from '../../../../lambdas/local/support/child-process.ts';

/** A Node child running `script`, resolved once it has printed `ready` (its handlers are in place). */
async function nodeChild(script: string): Promise<ChildProcessWithoutNullStreams> {
  const child = spawnTiedToParent(process.execPath, ['-e', script], { cwd: process.cwd() });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the child exited (${code}) before it was ready`)));
  });
  return child;
}

const KEEP_ALIVE = 'setInterval(() => {}, 1000);';

describe('stopChild', () => {
  it('stops a child that honours SIGTERM with SIGTERM alone', async () => {
    // Prepare
    const child = await nodeChild(`${KEEP_ALIVE} console.log('ready');`);
    let killed = false;

    // Act
    await stopChild(child, { graceMs: 10_000, onKill: () => (killed = true) });

    // Assess
    expect(child.signalCode).toBe('SIGTERM');
    expect(killed).toBe(false);
    expect(hasExited(child)).toBe(true);
  });

  it('escalates to SIGKILL once the grace has passed when the child ignores SIGTERM', async () => {
    // Prepare: a child that traps SIGTERM and carries on.
    const child = await nodeChild(`process.on('SIGTERM', () => {}); ${KEEP_ALIVE} console.log('ready');`);
    let killed = false;
    const started = Date.now();

    // Act
    await stopChild(child, { graceMs: 300, onKill: () => (killed = true) });

    // Assess
    expect(child.signalCode).toBe('SIGKILL');
    expect(killed).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('resolves at once for a child that has already exited, and signals nothing', async () => {
    // Prepare
    const exited = spawnTiedToParent(process.execPath, ['-e', 'process.exit(3)'], { cwd: process.cwd() });
    await new Promise((resolve) => exited.once('exit', resolve));
    let killed = false;

    // Act
    await stopChild(exited, { graceMs: 10, onKill: () => (killed = true) });

    // Assess
    expect(exited.exitCode).toBe(3);
    expect(exited.signalCode).toBeNull();
    expect(killed).toBe(false);
  });
});

describe('spawnTiedToParent', () => {
  it('asks the child to exit with its parent, and keeps the given environment on top', async () => {
    // Act
    const child = spawnTiedToParent(
      process.execPath,
      ['-e', 'console.log(JSON.stringify([process.env.SYNTHFORGE_EXIT_WITH_PARENT, process.env.EXTRA]))'],
      { cwd: process.cwd(), env: { EXTRA: 'kept' } },
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    await new Promise((resolve) => child.once('close', resolve));

    // Assess
    expect(JSON.parse(output)).toEqual(['stdin', 'kept']);
  });
});
