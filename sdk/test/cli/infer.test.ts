/**
 * `synthforge infer` in process against a server the test scripts: frames read from files and sent
 * as base64 (or uploaded when too large to go inline), the answer on stdout and the usage on stderr,
 * `--stream` and `--json`, and a model waking from zero with and without `--wait`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INFERENCE_MAX_BODY_BYTES } from '../../../contracts/inference.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { runInProcess } from '../support/cli.ts';
import { answerOf, DONE, delta, errorOf, START } from '../support/inference-fixtures.ts';
import {
  type ScriptedServer,
  sendJson,
  sseEvent,
  startEventStream,
  startScriptedServer,
} from '../support/scripted-server.ts';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
let server: ScriptedServer;
let dir: string;

beforeAll(async () => {
  server = await startScriptedServer();
  dir = await mkdtemp(join(tmpdir(), 'synthforge-infer-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  server.requests.length = 0;
});

const cli = (argv: string[]) =>
  runInProcess(argv, { env: { SYNTHFORGE_API_URL: server.url, SYNTHFORGE_API_KEY: 'sf_cli_key' } });

const sentBody = (index = 0) => JSON.parse(server.requests[index]?.body.toString() ?? 'null');

describe('synthforge infer', () => {
  it('sends the prompt and the frame files as base64; prints the answer, and the usage on stderr', async () => {
    // Prepare
    const frame = join(dir, 'sign.png');
    await writeFile(frame, PNG);
    server.handle((_, response) =>
      sendJson(
        response,
        200,
        answerOf('A sign that reads STOP.', { key: 'claude4', model_id: 'us.anthropic.claude' }),
      ),
    );

    // Act
    const run = await cli([
      'infer',
      'claude4',
      '--text',
      'What does the sign say?',
      '--frame',
      frame,
      '--max-tokens',
      '64',
      '--temperature',
      '0.2',
    ]);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toBe('A sign that reads STOP.\n');
    expect(run.stderr).toBe(
      'claude4: us.anthropic.claude (answered by synthforge/local-vision, standing in) · 17 tokens in, 5 out, 42 ms\n',
    );
    expect(server.requests[0]?.url).toBe('/api/claude4');
    expect(server.requests[0]?.headers['x-api-key']).toBe('sf_cli_key');
    expect(sentBody()).toEqual({
      text: 'What does the sign say?',
      frames: [PNG.toString('base64')],
      max_tokens: 64,
      temperature: 0.2,
    });
  });

  it('asks an EMD model by its key and prints the whole answer with --json; an MP4 makes it a video', async () => {
    // Prepare
    const clip = join(dir, 'clip.mp4');
    await writeFile(clip, Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypisom')]));
    server.handle((_, response) => sendJson(response, 200, answerOf('A clip.')));

    // Act
    const run = await cli(['infer', 'qwen2-vl-7b', '-t', 'Describe it', '-f', clip, '--json']);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(JSON.parse(run.stdout)).toEqual(answerOf('A clip.'));
    expect(run.stderr).toBe('');
    expect(server.requests[0]?.url).toBe('/api/emd/qwen2-vl-7b');
    expect(sentBody()).toMatchObject({ text: 'Describe it', mediaType: 'video' });
  });

  it('prints the tokens as they come with --stream, and each event as a JSON line with --json', async () => {
    // Prepare
    server.handle((_, response) => {
      startEventStream(response);
      response.end([START, delta('Hello'), delta(', '), delta('world'), DONE].map(sseEvent).join(''));
    });

    // Act
    const human = await cli(['infer', 'qwen2-vl-7b', '--text', 'Greet', '--stream']);
    const json = await cli(['infer', 'qwen2-vl-7b', '--text', 'Greet', '--stream', '--json']);

    // Assess
    expect(human.code, human.stderr).toBe(EXIT.ok);
    expect(human.stdout).toBe('Hello, world\n');
    expect(human.stderr).toBe(
      'qwen2-vl-7b: Qwen/Qwen2-VL-7B-Instruct (answered by synthforge/local-vision, standing in)\n' +
        '17 tokens in, 3 out, 40 ms\n',
    );
    expect(server.requests[0]?.url).toBe('/api/stream/qwen2-vl-7b');
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([START, delta('Hello'), delta(', '), delta('world'), DONE]);
  });

  it('ends the printed line and exits 3 when the stream ends in an error event', async () => {
    // Prepare
    server.handle((_, response) => {
      startEventStream(response);
      response.end(
        sseEvent(START) +
          sseEvent(delta('Half an ans')) +
          sseEvent({ type: 'error', error: 'the model failed', code: 'model_error', status: 500 }),
      );
    });

    // Act
    const run = await cli(['infer', 'nova', '--text', 'Go', '--stream']);

    // Assess
    expect(run.code).toBe(EXIT.unavailable);
    expect(run.stdout).toBe('Half an ans\n');
    expect(run.stderr).toContain('error: the model failed (HTTP 500, MODEL_ERROR, request id req-stream)');
  });

  it('says how to wait for a waking model, and waits for it with --wait', async () => {
    // Prepare
    let calls = 0;
    server.handle((_, response) => {
      calls++;
      if (calls <= 2) {
        return sendJson(
          response,
          503,
          errorOf('unavailable', 'model gemma-3-4b is scaled to zero and waking', {
            estimated_ready_at: '2026-11-22T10:01:00.000Z',
          }),
          { 'retry-after': '0' },
        );
      }
      return sendJson(response, 200, answerOf('Awake now.'));
    });

    // Act
    const unwaited = await cli(['infer', 'gemma-3-4b', '--text', 'Hi']);
    const waited = await cli(['infer', 'gemma-3-4b', '--text', 'Hi', '--wait', '--timeout', '1m']);

    // Assess
    expect(unwaited.code).toBe(EXIT.unavailable);
    expect(unwaited.stderr).toContain('error: model gemma-3-4b is scaled to zero and waking (HTTP 503)');
    expect(unwaited.stderr).toContain(
      'ready about 2026-11-22 10:01:00Z; wait for it with: synthforge infer gemma-3-4b --wait',
    );
    expect(waited.code, waited.stderr).toBe(EXIT.ok);
    expect(waited.stdout).toBe('Awake now.\n');
    expect(waited.stderr).toMatch(
      /^model gemma-3-4b is waking, ready about 2026-11-22 10:01:00Z; asking again in 0s/,
    );
  });

  it('neither waits for nor advises --wait on a 503 that is no waking model, nor for claude4 and nova', async () => {
    // Prepare: a model that timed out, answered as the gateway does (Retry-After, no estimated_ready_at).
    server.handle((_, response) =>
      sendJson(response, 503, errorOf('unavailable', 'model gemma-3-4b did not answer within 25 s'), {
        'retry-after': '0',
      }),
    );

    // Act
    const timedOut = await cli(['infer', 'gemma-3-4b', '--text', 'Hi', '--wait', '--timeout', '1m']);
    const bedrock = await cli(['infer', 'nova', '--text', 'Hi', '--stream', '--wait']);

    // Assess
    expect(timedOut.code).toBe(EXIT.unavailable);
    expect(timedOut.stderr).not.toContain('waking');
    expect(timedOut.stderr).not.toContain('--wait');
    expect(bedrock.code).toBe(EXIT.unavailable);
    expect(bedrock.stderr).toContain('--wait is for EMD models: nova never scales to zero');
    expect(server.requests).toHaveLength(2);
  });

  it('uploads a frame too large to go inline and sends its s3:// URI instead', async () => {
    // Prepare
    const big = join(dir, 'big.png');
    const small = join(dir, 'small.png');
    await writeFile(big, Buffer.concat([PNG, randomBytes(INFERENCE_MAX_BODY_BYTES)]));
    await writeFile(small, PNG);
    server.handle((request, response) => {
      if (request.url === '/api/uploads') {
        return sendJson(response, 200, {
          method: 'PUT',
          url: `${server.url}/bucket/uploads/big.png?X-Amz-Signature=x`,
          headers: { 'content-type': 'image/png' },
          s3_uri: 's3://bucket/tenant/uploads/big.png',
          expires_at: '2026-11-22T11:00:00.000Z',
        });
      }
      if (request.method === 'PUT') return void response.writeHead(200).end();
      return sendJson(response, 200, answerOf('Two images.'));
    });

    // Act
    const run = await cli(['infer', 'claude4', '--text', 'Compare', '--frame', big, '--frame', small]);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(server.requests.map((request) => `${request.method} ${request.url.split('?')[0]}`)).toEqual([
      'POST /api/uploads',
      'PUT /bucket/uploads/big.png',
      'POST /api/claude4',
    ]);
    expect(server.requests[1]?.body.length).toBe(PNG.length + INFERENCE_MAX_BODY_BYTES);
    expect(sentBody(2).frames).toEqual(['s3://bucket/tenant/uploads/big.png', PNG.toString('base64')]);
    expect(run.stderr).toContain('uploaded');
  });

  it('exits 2 and sends nothing without --text, with an unreadable frame, or a bad option', async () => {
    // Act
    const runs = await Promise.all([
      cli(['infer', 'claude4']),
      cli(['infer', 'claude4', '--text', 'x', '--frame', join(dir, 'missing.png')]),
      cli(['infer', 'claude4', '--text', 'x', '--media', 'audio']),
      cli(['infer', 'claude4', '--text', 'x', '--temperature', 'warm']),
      cli(['infer', '--text', 'x']),
    ]);

    // Assess
    expect(runs.map((run) => run.code)).toEqual(Array(5).fill(EXIT.usage));
    expect(runs[0]?.stderr).toContain('give the prompt with --text');
    expect(runs[1]?.stderr).toContain('cannot read --frame');
    expect(runs[2]?.stderr).toContain('--media must be one of image, video');
    expect(runs[3]?.stderr).toContain('--temperature takes a number');
    expect(runs[4]?.stderr).toContain('missing MODEL');
    expect(server.requests).toHaveLength(0);
  });
});
