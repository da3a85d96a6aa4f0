/**
 * What the Lambda bundles carry, built exactly as the stack builds them (bench/bundle.ts uses the
 * construct's LAMBDA_BUNDLE): nothing a function never runs where it is cheap to tell.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltBundle, type BuiltBundles, bundleEntries, REPO_ROOT } from '../../bench/bundle.ts';
import { LAMBDA_ENTRIES } from '../../bench/entries.ts';

const outDir = mkdtempSync(join(tmpdir(), 'synthforge-bundles-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

let built: BuiltBundles;
beforeAll(async () => {
  built = await bundleEntries(LAMBDA_ENTRIES, outDir);
});

describe('the Lambda bundles', () => {
  it('carry only the parts of zod the contracts call: no locale but English, no JSON Schema reader', () => {
    // `import { z }` (a value holding the whole namespace) instead of `import * as z` brings them back.
    const unused = /node_modules\/zod\/v4\/(locales\/(?!en\.js)|classic\/from-json-schema)/;
    for (const bundle of built.bundles) {
      expect(
        bundle.inputs.filter((input) => unused.test(input)),
        bundle.entry.name,
      ).toEqual([]);
    }
  });

  it('do not run the X-Ray SDK when imported with tracing off, and do in Lambda with tracing on', () => {
    // Prepare: the Tracer module marks its load by setting AWS_XRAY_CONTEXT_MISSING.
    const bundle = built.bundles.find((candidate) => candidate.entry.name === 'api-jobs');
    if (!bundle) throw new Error('no api-jobs bundle');
    const probe = `await import(${JSON.stringify(bundle.file)}); console.log(process.env.AWS_XRAY_CONTEXT_MISSING ?? 'unset');`;
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, ...env },
        timeout: 60_000,
      });

    // Act
    const local = run({});
    const lambdaOff = run({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', POWERTOOLS_TRACE_ENABLED: 'false' });
    const lambdaOn = run({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' });

    // Assess
    for (const result of [local, lambdaOff, lambdaOn]) expect(result.status, result.stderr).toBe(0);
    expect(local.stdout.trim()).toBe('unset');
    expect(lambdaOff.stdout.trim()).toBe('unset');
    expect(lambdaOn.stdout.trim()).toBe('IGNORE_ERROR');
  });
});

describe('the Lambda bundles and credentials', () => {
  it('carry no credential or token provider Lambda never reaches: the environment is where its credentials are', () => {
    // Everything past the environment variables in the SDK's default chain, the bearer-token chain
    // (Bedrock's client), and the clients they build.
    const unreachable =
      /node_modules\/@aws-sdk\/(credential-provider-(ini|sso|process|web-identity|login|node)|token-providers|nested-clients)\//;
    for (const bundle of built.bundles) {
      expect(
        bundle.inputs.filter((input) => unreachable.test(input)),
        bundle.entry.name,
      ).toEqual([]);
    }
  });
});

describe('the Lambda bundles with packages installed beside them', () => {
  const beside = () => built.bundles.filter((bundle) => (bundle.entry.nodeModules ?? []).length > 0);

  it('are the datasets functions, each leaving those packages out of its code', () => {
    // Assess: the stack installs them in the function's node_modules (NodejsFunction `nodeModules`).
    expect(beside().map((bundle) => bundle.entry.name)).toEqual(
      expect.arrayContaining(['api-validation', 'api-profiles', 'api-exports', 'wf-run-dataset-job']),
    );
    for (const bundle of beside()) {
      const inlined = bundle.inputs.filter((input) =>
        (bundle.entry.nodeModules ?? []).some((name) => input.includes(`node_modules/${name}/`)),
      );
      expect(inlined, bundle.entry.name).toEqual([]);
    }
  });

  it('import in Node with only those packages in a node_modules folder beside them, as in Lambda', async () => {
    // Prepare: each package linked from the repository's node_modules (its own dependencies then
    // resolve from there, as npm installs them beside it in the function).
    for (const bundle of beside()) installBeside(bundle);

    // Act
    const results = await Promise.all(beside().map(importHandler));

    // Assess: each answers that it exports a handler, or says what a cold start would fail on.
    expect(
      results.map(({ name, status, stdout, error }) => ({
        name,
        answer: status === 0 ? stdout.trim() : error,
      })),
    ).toEqual(results.map(({ name }) => ({ name, answer: 'function' })));
  });
});

function installBeside(bundle: BuiltBundle): void {
  for (const name of bundle.entry.nodeModules ?? []) {
    const link = join(dirname(bundle.file), 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules', name), link, 'dir');
  }
}

/** Imports the bundle in a Node of its own, with an empty environment as B1's probes. */
function importHandler(
  bundle: BuiltBundle,
): Promise<{ name: string; status: number | null; stdout: string; error: string }> {
  // The error caught and printed by the probe: Node's own report of an uncaught one starts with the
  // minified line it came from, hundreds of kilobytes long.
  const probe = `try { const module = await import(${JSON.stringify(bundle.file)}); console.log(typeof module.handler); } catch (error) { console.error(\`\${error.name}: \${error.message}\`); process.exit(1); }`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', probe], {
      env: { PATH: process.env.PATH },
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('close', (status) =>
      resolve({ name: bundle.entry.name, status, stdout, error: stderr.trim().slice(0, 300) }),
    );
  });
}
