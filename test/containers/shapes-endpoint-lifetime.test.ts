/**
 * The shapes endpoint server ends with the local host that started it: with
 * SYNTHFORGE_EXIT_WITH_PARENT=stdin it exits when its stdin ends, as it does when that host dies;
 * without the variable (SageMaker) stdin is none of its business.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_WITH_PARENT_VARIABLE, exitWithParent } from '../../containers/shared/exit-with-parent.ts';
import { REPO_ROOT } from '../support/spawn.ts';

const SERVER = 'containers/shapes-endpoint/server.ts';
/** A bound for a loaded machine: the wait ends as soon as the server exits. */
const EXIT_MS = 30_000;

describe('exitWithParent', () => {
  it('stops once when stdin ends, if the variable says stdin', async () => {
    // Prepare
    const stdin = new PassThrough();
    let stops = 0;
    const stopped = new Promise<void>((resolve) => {
      exitWithParent({ [EXIT_WITH_PARENT_VARIABLE]: 'stdin' }, stdin, () => {
        stops++;
        resolve();
      });
    });

    // Act
    stdin.end();
    await stopped;
    stdin.destroy(new Error('a late error after the end'));

    // Assess
    expect(stops).toBe(1);
  });

  it.each([
    ['unset', {}],
    ['set to something else', { [EXIT_WITH_PARENT_VARIABLE]: 'tty' }],
  ])('leaves stdin unread when the variable is %s', (_, env) => {
    // Prepare
    const stdin = new PassThrough();

    // Act
    const watching = exitWithParent(env, stdin, () => {
      throw new Error('stopped without being asked to');
    });
    stdin.end();

    // Assess: not watching, and nothing made the stream flow.
    expect(watching).toBe(false);
    expect(stdin.readableFlowing).toBeNull();
  });
});

describe('the server process', () => {
  const started: ChildProcessWithoutNullStreams[] = [];
  afterEach(() => {
    for (const child of started.splice(0)) child.kill('SIGKILL');
  });

  /** Starts the server as the local endpoint host does (a stdin pipe), and resolves with its URL. */
  async function startServer(env: Record<string, string>) {
    const withoutVariable = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => name !== EXIT_WITH_PARENT_VARIABLE),
    );
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', SERVER, 'serve', '--port', '0', '--host', '127.0.0.1'],
      { cwd: REPO_ROOT, env: { ...withoutVariable, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    started.push(child);
    const url = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (match?.[1]) resolve(match[1]);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
    });
    return { child, url };
  }

  /** The exit code, once the child has exited; rejects if that takes longer than `ms`. */
  async function exitCode(child: ChildProcessWithoutNullStreams, ms: number): Promise<number | null> {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const [code] = (await once(child, 'exit', { signal: AbortSignal.timeout(ms) })) as [number | null];
    return code;
  }

  it('exits when its stdin ends with the variable set, and keeps serving without it', async () => {
    // Prepare
    const watching = await startServer({ [EXIT_WITH_PARENT_VARIABLE]: 'stdin' });
    const unwatched = await startServer({});

    // Act: both pipes end, as when the host holding them dies.
    watching.child.stdin.end();
    unwatched.child.stdin.end();
    const code = await exitCode(watching.child, EXIT_MS);
    const ping = await fetch(`${unwatched.url}/ping`);

    // Assess: the one that watched exited cleanly; the other saw the same end and still answers.
    expect(code).toBe(0);
    expect(ping.status).toBe(200);
    expect(unwatched.child.exitCode).toBeNull();
  });
});
