import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs a TypeScript entry of bin/ as a user would (through tsx), on the same Node as the tests. */
export function spawnBin(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
  });
}

/** Resolves with everything printed once `pattern` has appeared on stdout (or rejects on exit). */
export function waitForOutput(child: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (pattern.test(output)) resolve(output);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.on('exit', (code) => reject(new Error(`exited ${code} before ${pattern}: ${output}\n${errors}`)));
  });
}

/** Runs to the end; resolves with the exit code and what it printed. */
export function runBin(
  script: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return outputOf(spawnBin(script, args));
}

/** Resolves once `child` has ended and closed its output, with its exit code and all it printed. */
export function outputOf(
  child: ChildProcessWithoutNullStreams,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The last line `npm start` (bin/local.ts) prints once it serves. */
export const LOCAL_READY = /Ctrl-C stops\./;

/** The API's URL and dev key from what `npm start` printed; throws, showing it, when either is missing. */
export function bannerOf(output: string): { url: string; key: string } {
  const url = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
  const key = /API key\s+(sf_\S+)/.exec(output)?.[1];
  if (!url || !key) throw new Error(`no URL or key in:\n${output}`);
  return { url, key };
}
