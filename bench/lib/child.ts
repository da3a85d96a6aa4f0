/**
 * Fresh Node processes for the cold-start measurements. Always the Node that runs the suite
 * (process.execPath, the pinned Node 24), never whatever `node` is first on the PATH.
 */
import { spawn } from 'node:child_process';

export interface ChildResult {
  stdout: string;
  stderr: string;
  code: number | null;
  /** Spawn to exit, as seen from the parent. */
  wallMs: number;
}

export function runNode(
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number },
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code, wallMs: performance.now() - started }));
  });
}

/** The smallest environment a process needs: nothing that could configure the code under test. */
export function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}
