import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runBin } from '../support/spawn.ts';

describe('npm run keys', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'synthforge-keys-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });
  const keys = (...args: string[]) => runBin('bin/keys.ts', [...args, '--data-dir', dataDir]);

  it('creates a key shown once, lists it without the key, and revokes it', async () => {
    // Act
    const created = await keys('create', '--tenant', 'acme', '--label', 'ci');
    const keyId = /created (key_[0-9a-f]+)/.exec(created.stdout)?.[1] ?? '';
    const key = /(sf_[A-Za-z0-9_-]{43})/.exec(created.stdout)?.[1] ?? '';
    const listed = await keys('list');
    const revoked = await keys('revoke', keyId);
    const relisted = await keys('list');

    // Assess
    expect(created.code).toBe(0);
    expect(key).not.toBe('');
    expect(listed.stdout).toMatch(new RegExp(`${keyId}\\s+acme\\s+\\S+\\s+-`));
    expect(listed.stdout).not.toContain(key);
    expect(revoked).toMatchObject({ code: 0, stdout: expect.stringContaining(`revoked ${keyId}`) });
    expect(relisted.stdout).toMatch(new RegExp(`${keyId}\\s+acme\\s+\\S+\\s+\\d{4}-`));
  });

  it('refuses a tenant name that could not be a key prefix, and says why', async () => {
    const result = await keys('create', '--tenant', 'Acme#1');

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/tenant must match/);
  });

  it('defaults to the data folder npm start uses, from whatever folder either is run', () => {
    // Prepare: a working directory other than the repository root (tsx by path: it is not installed there).
    const tsx = join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
    const help = (script: string) =>
      spawnSync(process.execPath, ['--import', tsx, join(REPO_ROOT, script), '--help'], {
        cwd: dataDir,
        encoding: 'utf8',
      });

    // Act
    const keysHelp = help('bin/keys.ts');
    const startHelp = help('bin/local.ts');

    // Assess: both name the repository's .synthforge/, not one under the working directory.
    const repoData = join(REPO_ROOT, '.synthforge');
    expect(keysHelp.status).toBe(0);
    expect(keysHelp.stderr).toContain(`default ${repoData}`);
    expect(startHelp.status).toBe(0);
    expect(startHelp.stdout).toContain(`--data-dir ${repoData}]`);
  });

  it('answers a usage error with exit code 2', async () => {
    const result = await keys('rotate');

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/usage: npm run keys/);
  });
});
