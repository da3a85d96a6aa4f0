import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { EmdStatus } from '../../contracts/inference.ts';
import { useTempDirs } from '../support/fixture.ts';
import { bannerOf, LOCAL_READY, spawnBin, waitForOutput } from '../support/spawn.ts';

/** `npm start` as a user runs it: the printed URL and key work, and Ctrl-C stops it cleanly. */
async function startPlatform(args: string[], env: Record<string, string> = {}, ready = LOCAL_READY) {
  const child = spawnBin('bin/local.ts', ['--port', '0', ...args], env);
  const output = await waitForOutput(child, ready);
  const { url, key } = bannerOf(output);
  const stop = () =>
    new Promise<number | null>((resolve) => {
      child.on('exit', resolve);
      child.kill('SIGINT');
    });
  return { output, url, key, stop };
}

describe('npm start', () => {
  const aDataDir = useTempDirs();

  it('prints the API, a working dev key and the emulator endpoints, and stops on Ctrl-C', async () => {
    // Prepare
    const platform = await startPlatform(['--memory']);

    // Act
    const health = await fetch(`${platform.url}/health`);
    const generators = await fetch(`${platform.url}/api/v1/generators`, {
      headers: { 'X-API-Key': platform.key },
    });
    const anonymous = await fetch(`${platform.url}/api/v1/generators`);
    const emd = (await (
      await fetch(`${platform.url}/api/emd/status`, { headers: { 'X-API-Key': platform.key } })
    ).json()) as EmdStatus;
    const exitCode = await platform.stop();

    // Assess
    expect(platform.output).toMatch(/DynamoDB\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(platform.output).toMatch(/S3\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(health.status).toBe(200);
    // Idle connections are kept longer than any client keeps them, so a client never sends on one
    // the server is closing (ECONNRESET).
    expect(health.headers.get('keep-alive')).toBe('timeout=65');
    expect(generators.status).toBe(200);
    expect(anonymous.status).toBe(401);
    // The local models warm at start (the platform's own default leaves them at zero copies).
    expect(emd.models.length).toBeGreaterThan(0);
    for (const model of emd.models) expect(model.copies?.desired).toBe(1);
    expect(exitCode).toBe(0);
  });

  it('says at start that training is unavailable and why, and trains once PyTorch is there, without a restart', async () => {
    // Prepare: a python3 that cannot import torch until a file appears, as if python3-torch were
    // installed while the platform runs.
    const dir = await aDataDir('python');
    const installed = join(dir, 'torch-installed');
    const python = join(dir, 'python3');
    await writeFile(
      python,
      `#!/bin/sh\n[ -e '${installed}' ] && exit 0\necho "ModuleNotFoundError: No module named 'torch'" >&2\nexit 1\n`,
      { mode: 0o755 },
    );
    const platform = await startPlatform(['--memory'], { SYNTHFORGE_PYTHON: python }, /Training\s+\S.*\n/);
    const train = () =>
      fetch(`${platform.url}/api/v1/train`, {
        method: 'POST',
        headers: { 'X-API-Key': platform.key, 'Content-Type': 'application/json' },
        body: '{}',
      });

    // Act
    const before = await train();
    await writeFile(installed, '');
    const after = await train();
    await platform.stop();

    // Assess
    expect(platform.output).toMatch(
      /Training\s+unavailable: .*cannot import torch.*sudo apt-get install python3-torch python3-torchvision/,
    );
    expect(before.status).toBe(503);
    expect(await before.json()).toMatchObject({
      error: 'unavailable',
      details: { reason: expect.any(String) },
    });
    // Past the check: what stops this run now is that the tenant has no dataset yet.
    expect(after.status).toBe(422);
    expect(await after.json()).toMatchObject({
      error: 'validation_error',
      details: { parameter: 'dataset' },
    });
  });

  it('keeps its key and completed work in the data dir across a restart', async () => {
    // Prepare
    const dataDir = await aDataDir('start');
    const first = await startPlatform(['--data-dir', dataDir]);
    const submitted = await fetch(`${first.url}/api/v1/jobs/preview`, {
      method: 'POST',
      headers: { 'X-API-Key': first.key, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'shapes', param_values: { seed: 3 } }),
    });
    const { job } = (await submitted.json()) as { job: { id: string } };
    await expect
      .poll(
        async () => {
          const response = await fetch(`${first.url}/api/v1/jobs/${job.id}`, {
            headers: { 'X-API-Key': first.key },
          });
          return ((await response.json()) as { status: string }).status;
        },
        { timeout: 30_000, interval: 200 },
      )
      .toBe('completed');
    await first.stop();

    // Act
    const second = await startPlatform(['--data-dir', dataDir]);
    const after = await fetch(`${second.url}/api/v1/jobs/${job.id}`, {
      headers: { 'X-API-Key': second.key },
    });
    await second.stop();

    // Assess
    expect(second.key).toBe(first.key);
    expect(after.status).toBe(200);
    expect(await after.json()).toMatchObject({ id: job.id, status: 'completed', progress: 100 });
  });

  it('stops cleanly on a Ctrl-C that comes while it is still starting', async () => {
    // Prepare: the data dir's DynamoDB folder appears early in the start, long before the banner.
    const dataDir = await aDataDir('early-stop');
    const child = spawnBin('bin/local.ts', ['--port', '0', '--data-dir', dataDir]);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    await vi.waitFor(async () => expect((await readdir(dataDir)).includes('dynamodb')).toBe(true), {
      timeout: 30_000,
      interval: 5,
    });

    // Act
    child.kill('SIGINT');
    const exit = await exited;

    // Assess
    expect(exit).toEqual({ code: 0, signal: null });
    expect(output).toContain('SIGINT: stopping');
    expect(output).not.toContain('Ctrl-C stops.');
  });
});
