/**
 * synthforge/local-vision as a process: launched the way the local SageMaker host launches a
 * container (childProcessLauncher), ended with the host that started it, and bundled for its image.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { buildLocalVision, DEFAULT_OUTDIR } from '../../../containers/local-vision/build.ts';
import { LOCAL_VISION_SERVER } from '../../../containers/local-vision/entry.ts';
import {
  parseServeArguments,
  LOCAL_VISION_SERVER as REEXPORTED,
} from '../../../containers/local-vision/server.ts';
import { EXIT_WITH_PARENT_VARIABLE } from '../../../containers/shared/exit-with-parent.ts';
import { childProcessLauncher } from '../../../lambdas/local/sagemaker/instances.ts';
import { REPO_ROOT } from '../../support/spawn.ts';
import { dataUrl, TEXT, textImage, userTurn } from './images.ts';

/** Bounds for a loaded machine: each wait ends as soon as its condition holds. */
const READY_MS = 60_000;
const EXIT_MS = 30_000;

async function pingUntilReady(url: string): Promise<number> {
  const started = performance.now();
  for (;;) {
    const status = await fetch(`${url}/ping`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return performance.now() - started;
    if (performance.now() - started > READY_MS) throw new Error(`${url}/ping did not answer 200`);
    await sleep(50);
  }
}

async function askForText(url: string): Promise<string> {
  const response = await fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages: [userTurn('Read it.', dataUrl(await textImage('png'), 'image/png'))] }),
  });
  expect(response.status).toBe(200);
  const completion = (await response.json()) as { choices: [{ message: { content: string } }] };
  return completion.choices[0].message.content;
}

describe('parseServeArguments', () => {
  it('reads SageMaker defaults and the environment, then the flags', () => {
    expect(parseServeArguments(['serve'])).toEqual({
      port: 8080,
      host: '0.0.0.0',
      faceDetector: 'tiny',
      msPerToken: 0,
      standsInFor: undefined,
    });
    expect(
      parseServeArguments(['serve'], {
        SAGEMAKER_BIND_TO_PORT: '9000',
        LOCAL_VISION_FACE_DETECTOR: 'ssd',
        LOCAL_VISION_MS_PER_TOKEN: '5',
        SYNTHFORGE_STANDS_IN_FOR: 'Qwen/Qwen2-VL-7B-Instruct',
      }),
    ).toEqual({
      port: 9000,
      host: '0.0.0.0',
      faceDetector: 'ssd',
      msPerToken: 5,
      standsInFor: 'Qwen/Qwen2-VL-7B-Instruct',
    });
    expect(
      parseServeArguments(
        ['serve', '--port', '0', '--host', '127.0.0.1', '--face-detector', 'tiny', '--ms-per-token', '2'],
        { LOCAL_VISION_FACE_DETECTOR: 'ssd' },
      ),
    ).toMatchObject({ port: 0, host: '127.0.0.1', faceDetector: 'tiny', msPerToken: 2 });
  });

  it.each([
    [[], /usage/],
    [['serve', '--port'], /--port needs a value/],
    [['serve', '--port', '70000'], /--port must be an integer/],
    [['serve', '--face-detector', 'mtcnn'], /--face-detector must be one of tiny, ssd/],
    [['serve', '--ms-per-token', '-1'], /--ms-per-token must be a number >= 0/],
    [['serve', '--gpus', '1'], /unknown option --gpus/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseServeArguments(argv)).toThrow(message);
  });
});

describe('the server process', () => {
  const started: ChildProcessWithoutNullStreams[] = [];
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const child of started.splice(0)) child.kill('SIGKILL');
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });

  it('starts under the local SageMaker host, answers once its models load, and stops on SIGTERM', async () => {
    // Prepare: the host's own launcher, given this container's server.
    const launch = childProcessLauncher({
      args: ['--import', 'tsx', LOCAL_VISION_SERVER, 'serve', '--port', '0', '--host', '127.0.0.1'],
    });

    // Act
    const handle = await launch({ endpointName: 'local-vision' });
    stops.push(() => handle.stop());
    const readyMs = await pingUntilReady(handle.url);
    const answer = await askForText(handle.url);
    await handle.stop();
    await handle.exited;

    // Assess
    expect(relative(REPO_ROOT, LOCAL_VISION_SERVER)).toBe(join('containers', 'local-vision', 'server.ts'));
    expect(REEXPORTED).toBe(LOCAL_VISION_SERVER);
    expect(readyMs).toBeLessThan(READY_MS);
    expect(answer).toContain(`text reads "${TEXT}"`);
  });

  it('exits when its stdin ends, with SYNTHFORGE_EXIT_WITH_PARENT=stdin', async () => {
    // Prepare
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', LOCAL_VISION_SERVER, 'serve', '--port', '0', '--host', '127.0.0.1'],
      { cwd: REPO_ROOT, env: { ...process.env, [EXIT_WITH_PARENT_VARIABLE]: 'stdin' }, stdio: 'pipe' },
    );
    started.push(child);
    await waitForListening(child);

    // Act: the pipe ends, as when the host holding it dies.
    child.stdin.end();
    const [code] = (await once(child, 'exit', { signal: AbortSignal.timeout(EXIT_MS) })) as [number | null];

    // Assess
    expect(code).toBe(0);
  });

  it('runs from its bundle, with the model packages it names installed', async () => {
    // Prepare: inside the repository, so that the bundle finds the packages in node_modules as the
    // image finds them in its own.
    await mkdir(DEFAULT_OUTDIR, { recursive: true });
    const directory = await mkdtemp(join(DEFAULT_OUTDIR, 'test-'));
    stops.push(() => rm(directory, { recursive: true, force: true }));
    const bundle = await buildLocalVision(directory);
    const manifest = JSON.parse(await readFile(join(directory, 'package.json'), 'utf8'));
    const root = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8'));

    // Act
    const child = spawn(process.execPath, [bundle, 'serve', '--port', '0', '--host', '127.0.0.1'], {
      cwd: directory,
      stdio: 'pipe',
    });
    started.push(child);
    const url = await waitForListening(child);
    await pingUntilReady(url);
    const answer = await askForText(url);
    const exited = once(child, 'exit', { signal: AbortSignal.timeout(EXIT_MS) });
    child.kill('SIGTERM');

    // Assess
    expect(answer).toContain(`text reads "${TEXT}"`);
    expect((await exited)[0]).toBe(0);
    expect(Object.keys(manifest.dependencies).sort()).toEqual([
      '@tensorflow/tfjs',
      '@tensorflow/tfjs-backend-wasm',
      '@tesseract.js-data/eng',
      '@vladmandic/face-api',
      'sharp',
      'tesseract.js',
    ]);
    for (const [name, version] of Object.entries(manifest.dependencies)) {
      expect(version).toBe(root.dependencies[name]);
    }
  });
});

/** The URL from the line the server prints once it listens. */
function waitForListening(child: ChildProcessWithoutNullStreams): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /local-vision listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
}
