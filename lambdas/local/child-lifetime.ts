/**
 * Children of the local platform end with it, however it ends. SIGKILL, the OOM killer or a crash
 * run no handler, so the platform cannot stop its children then. Instead each child gets a stdin
 * pipe that the platform holds open and never writes, and the variable below asks it to exit when
 * that pipe ends: the kernel closes the platform's end when its process goes, so the child reads
 * EOF. The children that honour it: the shapes endpoint server (containers/shapes-endpoint/server.ts
 * `exitWithParent`) and the trainer (containers/trainer/synthforge_trainer/stop.py
 * `exit_with_parent`). On SageMaker the variable is unset and their stdin is left alone.
 */
import type { ChildProcess } from 'node:child_process';

/** The environment that asks a child to exit once its stdin ends. */
export const EXIT_WITH_PARENT_ENV: Readonly<Record<string, string>> = {
  SYNTHFORGE_EXIT_WITH_PARENT: 'stdin',
};

/**
 * Keeps the child's stdin pipe open for its whole life: nothing is written and it is never ended
 * (Node closes it when the child exits). Nothing written means no EPIPE; an error on the pipe
 * anyway must not become an unhandled 'error' that takes the platform down.
 */
export function holdStdinOpen(child: ChildProcess): void {
  child.stdin?.on('error', () => undefined);
}
