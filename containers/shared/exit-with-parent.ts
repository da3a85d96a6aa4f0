/**
 * How the local platform's Node containers end with the process that started them (see
 * lambdas/local/support/child-process.ts): bundled into each container's server by its build.ts.
 */

/** Set to `stdin` by a parent that holds this process's stdin open and never writes to it. */
export const EXIT_WITH_PARENT_VARIABLE = 'SYNTHFORGE_EXIT_WITH_PARENT';

/**
 * Calls `stop` once `stdin` ends, when `env` asks for it (SYNTHFORGE_EXIT_WITH_PARENT=stdin) and
 * only then; answers whether it watches. The local endpoint host starts its containers with a stdin
 * pipe it never writes: the pipe ends when the host's process ends, however it ends (SIGKILL and
 * crashes included, which no signal handler sees), so the server does not outlive it. On SageMaker
 * the variable is unset and stdin is not read.
 */
export function exitWithParent(
  env: NodeJS.ProcessEnv,
  stdin: NodeJS.ReadableStream,
  stop: () => void,
): boolean {
  if (env[EXIT_WITH_PARENT_VARIABLE] !== 'stdin') return false;
  let stopped = false;
  const once = () => {
    if (stopped) return;
    stopped = true;
    stop();
  };
  stdin.once('end', once);
  stdin.once('error', once);
  stdin.resume();
  return true;
}
