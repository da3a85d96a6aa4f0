/**
 * Children of the local platform end with it, however it ends. SIGKILL, the OOM killer or a crash
 * run no handler, so the platform cannot stop its children then. Instead each child gets a stdin
 * pipe that the platform holds open and never writes, and the variable below asks it to exit when
 * that pipe ends: the kernel closes the platform's end when its process goes, so the child reads
 * EOF. The children that honour it: the shapes endpoint server (containers/shapes-endpoint/server.ts
 * `exitWithParent`) and the trainer (containers/trainer/synthforge_trainer/stop.py
 * `exit_with_parent`). On SageMaker the variable is unset and their stdin is left alone.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

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
