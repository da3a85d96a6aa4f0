/** `synthforge images …` against the local platform's shapes endpoint, in process. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../../../test/support/platform.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { runInProcess } from '../support/cli.ts';

const fixture = usePlatform();
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

const cli = (argv: string[]) =>
  runInProcess(argv, {
    env: {
      SYNTHFORGE_API_URL: fixture.platform.url,
      SYNTHFORGE_API_KEY: fixture.platform.devKey,
      SYNTHFORGE_CONFIG_DIR: join(tmpdir(), 'synthforge-cli-unused-config'),
    },
  });

describe('synthforge images', () => {
  it('generates an image and saves the PNG', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'synthforge-images-'));
    dirs.push(dir);
    const out = join(dir, 'stars.png');

    // Act
    const run = await cli([
      'images',
      'generate',
      'pastel stars',
      '--width',
      '96',
      '--height',
      '64',
      '--seed',
      '9',
      '-o',
      out,
    ]);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toMatch(
      /^Image [0-9A-Z]{26}: s3:\/\/.+\/image\.png\n {2}96×64, 20 steps, seed 9, model synthforge\/shapes\n/,
    );
    const png = PNG.sync.read(await readFile(out));
    expect([png.width, png.height]).toEqual([96, 64]);
  });

  it('submits a batch of prompts and shows it', async () => {
    // Act
    const submitted = await cli([
      'images',
      'batch',
      'dark circles',
      'vivid stars',
      '--width',
      '64',
      '--height',
      '64',
      '--json',
    ]);
    const { batch_id: batchId } = JSON.parse(submitted.stdout) as { batch_id: string };
    let status = await cli(['images', 'status', batchId, '--json']);
    for (let tries = 0; JSON.parse(status.stdout).status !== 'completed' && tries < 200; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = await cli(['images', 'status', batchId, '--json']);
    }

    // Assess
    expect(submitted.code, submitted.stderr).toBe(EXIT.ok);
    const shown = JSON.parse(status.stdout) as { images: { prompt: string; status: string }[] };
    expect(shown.images.map((image) => [image.prompt, image.status])).toEqual([
      ['dark circles', 'completed'],
      ['vivid stars', 'completed'],
    ]);
    expect((await cli(['images', 'status', batchId])).stdout).toMatch(/"vivid stars" {2}s3:\/\//);
  });

  it("exits 2 with seed 001's message for a documented bad input", async () => {
    const run = await cli(['images', 'generate', 'x', '--width', '2048']);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain('error: Invalid parameter: width must be between 64 and 1024 (HTTP 400');
    expect(run.stderr).toContain('constraint: width <= 1024');
  });
});
