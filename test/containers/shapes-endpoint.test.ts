import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildShapesEndpoint } from '../../containers/shapes-endpoint/build.ts';
import {
  createShapesEndpointServer,
  parseServeArguments,
  parseTextToImageRequest,
  shapesParamsForPrompt,
} from '../../containers/shapes-endpoint/server.ts';

let server: Server;
let url: string;

beforeAll(async () => {
  server = createShapesEndpointServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function invoke(body: unknown, headers: Record<string, string> = { Accept: 'image/png' }): Promise<Response> {
  return fetch(`${url}/invocations`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function png(response: Response): Promise<{ bytes: Buffer; image: PNG }> {
  const bytes = Buffer.from(await response.arrayBuffer());
  return { bytes, image: PNG.sync.read(bytes) };
}

describe('the shapes endpoint container', () => {
  it('answers GET /ping with 200 when ready', async () => {
    const response = await fetch(`${url}/ping`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'Healthy' });
  });

  it('renders a PNG of the requested size and says which seed it used', async () => {
    // Act
    const response = await invoke({ inputs: 'a few pastel stars', parameters: { width: 320, height: 200 } });

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(Number(response.headers.get('x-seed'))).toBeGreaterThanOrEqual(0);
    const { image } = await png(response);
    expect([image.width, image.height]).toEqual([320, 200]);
  });

  it('gives the same bytes for the same prompt and seed, and replays a drawn seed', async () => {
    const request = { inputs: 'many dark circles', parameters: { seed: 1234, width: 128, height: 128 } };

    const first = await png(await invoke(request));
    const second = await png(await invoke(request));
    const drawn = await invoke({ inputs: 'many dark circles', parameters: { width: 128, height: 128 } });
    const replayed = await invoke({
      inputs: 'many dark circles',
      parameters: { width: 128, height: 128, seed: Number(drawn.headers.get('x-seed')) },
    });

    const large = { inputs: 'stars', parameters: { seed: 4_294_967_295, width: 64, height: 64 } };
    const largeSeed = await invoke(large);

    expect(first.bytes.equals(second.bytes)).toBe(true);
    expect(largeSeed.status).toBe(200);
    expect(largeSeed.headers.get('x-seed')).toBe('4294967295');
    expect((await png(drawn)).bytes.equals((await png(replayed)).bytes)).toBe(true);
  });

  it('lets the prompt words change the scene', async () => {
    const parameters = { seed: 99, width: 128, height: 128 };

    const circles = await png(await invoke({ inputs: 'circles', parameters }));
    const stars = await png(await invoke({ inputs: 'stars', parameters }));
    const unrelated = await png(await invoke({ inputs: 'a photo of a cat', parameters }));
    const alsoUnrelated = await png(await invoke({ inputs: 'a photo of a dog', parameters }));

    expect(circles.bytes.equals(stars.bytes)).toBe(false);
    // Words the mapping does not know leave the scene to the seed alone.
    expect(unrelated.bytes.equals(alsoUnrelated.bytes)).toBe(true);
  });

  it('answers a base64 JSON string without Accept, as the Hugging Face toolkit does', async () => {
    const request = { inputs: 'three squares', parameters: { seed: 5, width: 64, height: 64 } };

    const json = await invoke(request, {});
    const raw = await png(await invoke(request));

    expect(json.headers.get('content-type')).toBe('application/json');
    expect(Buffer.from((await json.json()) as string, 'base64').equals(raw.bytes)).toBe(true);
  });

  it.each([
    [
      'width is not a number',
      { inputs: 'stars', parameters: { width: 'wide' } },
      '"width" must be an integer',
    ],
    ['inputs is missing', { parameters: { width: 64 } }, '"inputs" (the prompt) is required'],
    ['width is not a multiple of 8', { inputs: 'stars', parameters: { width: 100 } }, 'divisible by 8'],
    [
      'a parameter is unknown',
      { inputs: 'stars', parameters: { strength: 1 } },
      'unknown parameter "strength"',
    ],
    ['the body is not JSON', '{"inputs": ', 'not valid JSON'],
  ])('answers 400 in the model server error shape when %s', async (_, body, message) => {
    const response = await invoke(body);

    expect(response.status).toBe(400);
    const error = (await response.json()) as { code: number; type: string; message: string };
    expect(error).toMatchObject({ code: 400, type: 'InternalServerException' });
    expect(error.message).toContain(message);
  });

  it('refuses content and accept types it cannot handle', async () => {
    const text = await fetch(`${url}/invocations`, { method: 'POST', body: 'stars' });
    const jpeg = await invoke({ inputs: 'stars' }, { Accept: 'image/jpeg' });

    expect(text.status).toBe(400);
    expect(jpeg.status).toBe(400);
    expect(((await jpeg.json()) as { message: string }).message).toContain('image/jpeg');
  });
});

describe('shapesParamsForPrompt', () => {
  const base = { negativePrompt: '', guidanceScale: 7.5, width: 256, height: 128, seed: 3 };

  it('maps class, palette, background, count, size and effect words', () => {
    expect(
      shapesParamsForPrompt({ ...base, prompt: 'Five big pastel STARS on a gradient, blurry and upright' }),
    ).toEqual({
      image_width: 256,
      image_height: 128,
      frames: 1,
      seed: 3,
      classes: 'star',
      palette: 'pastel',
      background: 'gradient',
      min_objects: 5,
      max_objects: 5,
      min_size: 0.35,
      max_size: 0.6,
      blur: 2,
      max_rotation_deg: 0,
    });
  });

  it('draws all classes when several are named, and honours the negative prompt and guidance', () => {
    expect(shapesParamsForPrompt({ ...base, prompt: 'circles and triangles' }).classes).toBe('all');
    expect(
      shapesParamsForPrompt({ ...base, prompt: 'dark grainy stars', negativePrompt: 'dark, noisy' }),
    ).toMatchObject({ classes: 'star', noise: 0 });
    expect(shapesParamsForPrompt({ ...base, prompt: 'dark stars', guidanceScale: 1 })).toEqual({
      image_width: 256,
      image_height: 128,
      frames: 1,
      seed: 3,
    });
  });

  it('applies the toolkit defaults to a bare prompt', () => {
    expect(parseTextToImageRequest({ inputs: 'stars' })).toEqual({
      prompt: 'stars',
      negativePrompt: '',
      width: 512,
      height: 512,
      steps: 50,
      guidanceScale: 7.5,
      seed: undefined,
    });
  });
});

describe('the container entry point', () => {
  it('takes `serve` with SageMaker’s port 8080 by default', () => {
    expect(parseServeArguments(['serve'], {})).toEqual({ port: 8080, host: '0.0.0.0', msPerStep: 0 });
    expect(parseServeArguments(['serve', '--port', '0'], { SAGEMAKER_BIND_TO_PORT: '9000' }).port).toBe(0);
    expect(parseServeArguments(['serve'], { SAGEMAKER_BIND_TO_PORT: '9000' }).port).toBe(9000);
    expect(() => parseServeArguments([], {})).toThrow(/usage/);
  });

  let directory: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'shapes-endpoint-'));
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    await rm(directory, { recursive: true, force: true });
  });

  it('bundles into one module whose server answers /ping and /invocations', async () => {
    // Prepare
    const bundle = await buildShapesEndpoint(join(directory, 'server.mjs'));

    // Act
    child = spawn(process.execPath, [bundle, 'serve', '--port', '0', '--host', '127.0.0.1'], {
      cwd: directory,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const port = await new Promise<string>((resolve, reject) => {
      let output = '';
      child?.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        if (match?.[1]) resolve(match[1]);
      });
      child?.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child?.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
    });
    const ping = await fetch(`http://127.0.0.1:${port}/ping`);
    const image = await fetch(`http://127.0.0.1:${port}/invocations`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'image/png' },
      body: JSON.stringify({ inputs: 'stars', parameters: { width: 64, height: 96, seed: 1 } }),
    });
    const exited = new Promise((resolve) => child?.once('exit', (code, signal) => resolve(signal ?? code)));
    child.kill('SIGTERM');

    // Assess
    expect(ping.status).toBe(200);
    const decoded = PNG.sync.read(Buffer.from(await image.arrayBuffer()));
    expect([decoded.width, decoded.height]).toEqual([64, 96]);
    expect(await exited).toBe(0);
  });
});
