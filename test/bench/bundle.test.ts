/**
 * What the Lambda bundles carry, built exactly as the stack builds them (bench/bundle.ts uses the
 * construct's LAMBDA_BUNDLE): nothing a function never runs where it is cheap to tell.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltBundles, bundleEntries } from '../../bench/bundle.ts';
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
