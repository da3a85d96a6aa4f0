/**
 * The tracer is loaded only where tracing is on: importing the X-Ray SDK installs async hooks
 * (cls-hooked) that cost every request, traced or not. Each case imports a handler in a fresh
 * process and lists every module that process loaded.
 */
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tracingEnabled } from '../../../lambdas/shared/powertools.ts';
import { outputOf, REPO_ROOT } from '../../support/spawn.ts';

/** Runs in the child: records each module loaded (import and require alike), imports the handler. */
const PROBE = `
import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ load(url, context, nextLoad) { loaded.push(url); return nextLoad(url, context); } });
const module = await import(process.env.PROBE_MODULE);
process.stdout.write(JSON.stringify({ handler: typeof module.handler, loaded }));
`;

const HANDLER = pathToFileURL(`${REPO_ROOT}/lambdas/handlers/api/jobs.ts`).href;
const X_RAY = /\/node_modules\/(aws-xray-sdk-core|cls-hooked)\//;

async function importHandler(env: Record<string, string>): Promise<{ handler: string; loaded: string[] }> {
  // Only PATH of this process's environment: nothing of it may turn tracing on or off.
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PROBE], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, PROBE_MODULE: HANDLER, ...env },
  });
  const { code, stdout, stderr } = await outputOf(child);
  if (code !== 0) throw new Error(`the probe exited ${code}: ${stderr.slice(-1000)}`);
  return JSON.parse(stdout);
}

const IN_LAMBDA = { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' };

describe('withPowertools', () => {
  it.each([
    ['outside Lambda (npm start, the tests, the benchmark)', {}],
    ['in Lambda with POWERTOOLS_TRACE_ENABLED=false', { ...IN_LAMBDA, POWERTOOLS_TRACE_ENABLED: 'false' }],
  ])('loads neither the X-Ray SDK nor cls-hooked %s', async (_where, env) => {
    // Act
    const { handler, loaded } = await importHandler(env);

    // Assess
    expect(handler).toBe('function');
    expect(loaded.length).toBeGreaterThan(100);
    expect(loaded.filter((url) => X_RAY.test(url))).toEqual([]);
  });

  it('loads the tracer in Lambda when tracing is on (the deployed functions trace)', async () => {
    const { handler, loaded } = await importHandler(IN_LAMBDA);

    expect(handler).toBe('function');
    expect(loaded.some((url) => X_RAY.test(url))).toBe(true);
  });
});

describe('tracingEnabled', () => {
  it("decides as Powertools' Tracer does", () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled(IN_LAMBDA)).toBe(true);
    expect(tracingEnabled({ ...IN_LAMBDA, POWERTOOLS_TRACE_ENABLED: 'FALSE' })).toBe(false);
    expect(tracingEnabled({ ...IN_LAMBDA, POWERTOOLS_TRACE_ENABLED: 'true' })).toBe(true);
    expect(tracingEnabled({ ...IN_LAMBDA, AWS_SAM_LOCAL: 'true' })).toBe(false);
    expect(tracingEnabled({ AWS_EXECUTION_ENV: 'AWS_Lambda_amplify-mock' })).toBe(false);
  });
});
