/**
 * The local platform's child processes: how they are started and the one way they are stopped.
 *
 * Children end with the platform, however it ends. SIGKILL, the OOM killer or a crash run no
 * handler, so the platform cannot stop its children then. Instead each child gets a stdin pipe that
 * the platform holds open and never writes, and the variable below asks it to exit when that pipe
 * ends: the kernel closes the platform's end when its process goes, so the child reads EOF. The
 * children that honour it: the shapes endpoint and local-vision servers (both through
 * containers/shared/exit-with-parent.ts `exitWithParent`) and the trainer
 * (containers/trainer/synthforge_trainer/stop.py `exit_with_parent`). On SageMaker the variable is
 * unset and their stdin is left alone.
 *
 * A stop is SIGTERM, then SIGKILL once a grace has passed: SageMaker stops a container the same way,
 * and the trainer checkpoints on SIGTERM.
 */
import { type ChildProcess, type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

/** The environment that asks a child to exit once its stdin ends. */
const EXIT_WITH_PARENT_ENV: Readonly<Record<string, string>> = {
  SYNTHFORGE_EXIT_WITH_PARENT: 'stdin',
};

/**
 * Spawns a child that ends with this process: this process's environment, the variable above, then
 * `env`; all three stdio streams piped. Its stdin stays open for the child's whole life, nothing is
 * written to it and it is never ended (Node closes it when the child exits): nothing written means
 * no EPIPE, and an error on the pipe anyway must not become an unhandled 'error' that takes the
 * platform down.
 */
export function spawnTiedToParent(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): ChildProcessWithoutNullStreams {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...EXIT_WITH_PARENT_ENV, ...options.env },
    stdio: 'pipe',
  });
  child.stdin.on('error', () => undefined);
  return child;
}

export interface StopChildOptions {
  /** How long the child has to exit after SIGTERM before it gets SIGKILL. */
  graceMs: number;
  /** Called just before the SIGKILL, for a log line. */
  onKill?: () => void;
}

/** Whether the child has exited (or was killed); a child that failed to spawn never runs. */
export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
}

/**
 * Stops a child: SIGTERM now, SIGKILL if it is still running after `graceMs`. Resolves once it has
 * exited; at once when it already had.
 */
export async function stopChild(child: ChildProcess, options: StopChildOptions): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (hasExited(child)) return;
    options.onKill?.();
    child.kill('SIGKILL');
  }, options.graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
