/**
 * synthforge/local-vision's server in this process, with its real models (loaded once for the file):
 * it reads text back from rendered images, finds the faces in a photo, answers the same text to the
 * same request, streams that text token by token, and refuses bad requests as OpenAI does.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_IMAGE_PIXELS } from '../../../containers/local-vision/analyze.ts';
import { countTokens, IMAGE_PROMPT_TOKENS, tokenize } from '../../../containers/local-vision/answer.ts';
import type { ChatCompletion, ChatCompletionChunk } from '../../../containers/local-vision/chat.ts';
import { createLocalVisionServer, type LocalVisionOptions } from '../../../containers/local-vision/server.ts';
import { closeVisionModels } from '../../../lambdas/adapters/vision/bundled-models.ts';
import { dataUrl, facePhoto, TEXT, TEXT_HEIGHT, TEXT_WIDTH, textImage, userTurn } from './images.ts';

const QUESTION = 'What is in this image?';
const servers: Server[] = [];
let url: string;
let firstPing: number;

async function start(options: LocalVisionOptions = {}): Promise<string> {
  const server = createLocalVisionServer(options);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  url = await start();
  firstPing = (await fetch(`${url}/ping`)).status;
  // Both models load once for the file; later servers of this process find them loaded.
  while ((await fetch(`${url}/ping`)).status !== 200) await sleep(50);
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await closeVisionModels();
});

function invoke(body: unknown, at = url, contentType = 'application/json'): Promise<Response> {
  return fetch(`${at}/invocations`, {
    method: 'POST',
    headers: { 'Content-Type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function complete(body: Record<string, unknown>, at = url): Promise<ChatCompletion> {
  const response = await invoke(body, at);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as ChatCompletion;
}

const contentOf = (completion: ChatCompletion) => completion.choices[0].message.content;

describe('the local vision container', () => {
  it('answers GET /ping with 503 while its models load, then 200', async () => {
    const ping = await fetch(`${url}/ping`);

    expect(firstPing).toBe(503);
    expect(ping.status).toBe(200);
    expect(await ping.json()).toEqual({ status: 'Healthy' });
  });

  it.each([
    ['png', 'image/png', 'PNG'],
    ['jpeg', 'image/jpeg', 'JPEG'],
  ] as const)('reads the text of a %s back, and describes it', async (format, mediaType, named) => {
    // Prepare
    const image = await textImage(format);

    // Act
    const completion = await complete({ messages: [userTurn(QUESTION, dataUrl(image, mediaType))] });

    // Assess
    const content = contentOf(completion);
    expect(content).toContain(
      `I see 1 image. Image 1: a ${TEXT_WIDTH}×${TEXT_HEIGHT} ${named}, mostly white (`,
    );
    expect(content).toContain(`text reads "${TEXT}"; no faces.`);
    expect(content).toContain('standing in for a hosted vision-language model');
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: 'synthforge/local-vision',
      choices: [{ index: 0, message: { role: 'assistant' }, finish_reason: 'stop' }],
    });
    expect(completion.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    expect(Math.abs(completion.created - Date.now() / 1000)).toBeLessThan(60);
    const promptTokens = countTokens(QUESTION) + IMAGE_PROMPT_TOKENS;
    const completionTokens = tokenize(content).length;
    expect(completion.usage).toEqual({
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    });
  });

  it('finds the faces in a photo, and names the model it stands in for and the temperature', async () => {
    // Prepare
    const photo = await facePhoto();

    // Act
    const completion = await complete({
      model: 'Qwen/Qwen2-VL-7B-Instruct',
      temperature: 0.1,
      max_tokens: 1024,
      messages: [{ role: 'system', content: 'Be brief.' }, userTurn(QUESTION, dataUrl(photo, 'image/jpeg'))],
    });

    // Assess: three people, each box well inside the frame.
    const content = contentOf(completion);
    expect(content).toContain('Image 1: a 1920×1280 JPEG');
    const boxes = [...content.matchAll(/x (\d+), y (\d+), (\d+)×(\d+), score (0\.\d\d)/g)];
    expect(content).toContain('3 faces (');
    expect(boxes).toHaveLength(3);
    for (const [, x, y, width, height, score] of boxes) {
      expect(Number(x) + Number(width)).toBeLessThanOrEqual(1920);
      expect(Number(y) + Number(height)).toBeLessThanOrEqual(1280);
      expect(Number(width)).toBeGreaterThan(100);
      expect(Number(score)).toBeGreaterThanOrEqual(0.5);
    }
    expect(content).toContain('standing in for Qwen/Qwen2-VL-7B-Instruct');
    expect(content).toContain('temperature 0.1 changes nothing here');
    expect(completion.model).toBe('synthforge/local-vision');
    expect(completion.usage.prompt_tokens).toBe(
      countTokens('Be brief.') + countTokens(QUESTION) + IMAGE_PROMPT_TOKENS,
    );
  });

  it('answers the same text to the same request, whatever the temperature', async () => {
    // Prepare
    const request = { messages: [userTurn(QUESTION, dataUrl(await textImage('png'), 'image/png'))] };

    // Act
    const first = await complete({ ...request, temperature: 1.5 });
    const second = await complete({ ...request, temperature: 1.5 });

    // Assess
    expect(contentOf(second)).toBe(contentOf(first));
    expect(second.id).not.toBe(first.id);
  });

  it('names GIF and WebP images in order, and answers a conversation with none', async () => {
    // Prepare
    const gif = dataUrl(await textImage('gif'), 'image/gif');
    const webp = dataUrl(await textImage('webp'), 'image/webp');

    // Act
    const both = await complete({ messages: [userTurn('Compare these.', gif, webp)] });
    const none = await complete({ messages: [{ role: 'user', content: 'Hello?' }] });

    // Assess
    expect(contentOf(both)).toContain(`I see 2 images. Image 1: a ${TEXT_WIDTH}×${TEXT_HEIGHT} GIF`);
    expect(contentOf(both)).toContain(`Image 2: a ${TEXT_WIDTH}×${TEXT_HEIGHT} WEBP`);
    expect(both.usage.prompt_tokens).toBe(countTokens('Compare these.') + 2 * IMAGE_PROMPT_TOKENS);
    expect(contentOf(none)).toMatch(/^I see no image in this conversation\.\n\n\(Answered by synthforge/);
    expect(none.usage.prompt_tokens).toBe(countTokens('Hello?'));
  });

  it('stops at max_tokens with finish_reason "length"', async () => {
    // Prepare
    const request = { messages: [userTurn(QUESTION, dataUrl(await textImage('png'), 'image/png'))] };
    const whole = contentOf(await complete(request));

    // Act
    const cut = await complete({ ...request, max_tokens: 7 });
    const newerName = await complete({ ...request, max_completion_tokens: 7 });

    // Assess
    expect(contentOf(cut)).toBe(tokenize(whole).slice(0, 7).join(''));
    expect(contentOf(cut)).toBe('I see 1 image. Image 1');
    expect(cut.choices[0].finish_reason).toBe('length');
    expect(cut.usage.completion_tokens).toBe(7);
    expect(contentOf(newerName)).toBe(contentOf(cut));
  });

  it('streams the same answer as JSON lines, one chunk per token, the last with the usage', async () => {
    // Prepare
    const request = { messages: [userTurn(QUESTION, dataUrl(await textImage('png'), 'image/png'))] };
    const whole = await complete(request);

    // Act: read the body as it arrives.
    const response = await invoke({ ...request, stream: true });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let reads = 0;
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reads++;
      text += decoder.decode(value, { stream: true });
    }

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/jsonlines');
    expect(text.endsWith('\n')).toBe(true);
    const chunks = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as ChatCompletionChunk);
    expect(reads).toBeGreaterThan(1);
    expect(chunks).toHaveLength(whole.usage.completion_tokens + 2);
    const [first, ...rest] = chunks;
    const last = rest.pop() as ChatCompletionChunk;
    expect(first?.choices[0]).toEqual({
      index: 0,
      delta: { role: 'assistant', content: '' },
      finish_reason: null,
      logprobs: null,
    });
    for (const chunk of rest) {
      expect(chunk.choices[0].finish_reason).toBeNull();
      expect(chunk.usage).toBeUndefined();
    }
    expect(last.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(last.usage).toEqual(whole.usage);
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0].delta.content ?? '').join('')).toBe(contentOf(whole));
  });

  it('writes each token as it is produced, and stops a stream at max_tokens', async () => {
    // Prepare: 10 ms per token, so that a buffered answer would arrive all at the end.
    const slow = await start({ msPerToken: 10, standsInFor: 'google/gemma-3-4b-it' });

    // Act
    const response = await invoke(
      { messages: [{ role: 'user', content: 'Hello?' }], stream: true, max_tokens: 30 },
      slow,
    );
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const arrivals: number[] = [];
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push(performance.now());
      text += new TextDecoder().decode(value);
    }

    // Assess: the first token came about 29 tokens' time before the last.
    const chunks = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as ChatCompletionChunk);
    expect(chunks).toHaveLength(32);
    expect((arrivals.at(-1) as number) - (arrivals[0] as number)).toBeGreaterThan(200);
    expect(chunks.at(-1)?.choices[0].finish_reason).toBe('length');
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(30);
  });

  it('stands in for its configured model when the request names none, or names it', async () => {
    // Prepare
    const configured = await start({ standsInFor: 'google/gemma-3-4b-it' });

    // Act
    const unnamed = await complete({ messages: [{ role: 'user', content: 'Hi' }] }, configured);
    const itself = await complete(
      { model: 'synthforge/local-vision', messages: [{ role: 'user', content: 'Hi' }] },
      configured,
    );

    // Assess
    expect(contentOf(unnamed)).toContain('standing in for google/gemma-3-4b-it:');
    expect(contentOf(itself)).toBe(contentOf(unnamed));
  });

  /** A PNG signature and nothing the decoder can read after it. */
  const brokenPng = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(40)]);
  const image = (url: string) => ({ messages: [userTurn(QUESTION, url)] });
  const bmp = Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]);

  it.each([
    ['a body that is not JSON', '{"messages":', /not valid JSON/, null],
    ['no messages', {}, /"messages" must be a non-empty array/, 'messages'],
    ['an empty conversation', { messages: [] }, /"messages" must be a non-empty array/, 'messages'],
    [
      'an unknown role',
      { messages: [{ role: 'robot', content: 'hi' }] },
      /role must be one of/,
      'messages[0].role',
    ],
    [
      'content that is a number',
      { messages: [{ role: 'user', content: 42 }] },
      /content must be a string/,
      'messages[0].content',
    ],
    [
      'an audio part',
      { messages: [{ role: 'user', content: [{ type: 'input_audio' }] }] },
      /"input_audio" are not supported/,
      'messages[0].content[0]',
    ],
    [
      'a BMP image',
      image(dataUrl(bmp, 'image/bmp')),
      /image 1 is not a PNG, JPEG, GIF or WebP image/,
      'messages[0].content[1].image_url',
    ],
    [
      'text sent as an image',
      image(dataUrl(Buffer.from('hello'), 'image/png')),
      /image 1 is not a PNG/,
      'messages[0].content[1].image_url',
    ],
    [
      'an https URL',
      image('https://example.com/cat.png'),
      /only base64 data: URLs are accepted, not https:/,
      'messages[0].content[1].image_url',
    ],
    [
      'a data: URL that is not base64',
      image('data:image/png,abc'),
      /must be base64/,
      'messages[0].content[1].image_url',
    ],
    [
      'bad base64',
      image('data:image/png;base64,iVBOR*w0K'),
      /not valid base64/,
      'messages[0].content[1].image_url',
    ],
    [
      'a PNG that does not decode',
      image(dataUrl(brokenPng, 'image/png')),
      /image 1 cannot be decoded/,
      'messages',
    ],
    [
      'max_tokens 0',
      { messages: [{ role: 'user', content: 'hi' }], max_tokens: 0 },
      /"max_tokens" must be an integer of at least 1/,
      'max_tokens',
    ],
    [
      'temperature 3',
      { messages: [{ role: 'user', content: 'hi' }], temperature: 3 },
      /"temperature" must be a number from 0 to 2/,
      'temperature',
    ],
    [
      'stream as a string',
      { messages: [{ role: 'user', content: 'hi' }], stream: 'yes' },
      /"stream" must be a boolean/,
      'stream',
    ],
    ['two choices', { messages: [{ role: 'user', content: 'hi' }], n: 2 }, /"n" must be 1/, 'n'],
  ])('answers 400 to %s', async (_, body, message, param) => {
    // Act
    const response = await invoke(body);

    // Assess
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: Record<string, unknown> };
    expect(error).toMatchObject({ type: 'invalid_request_error', param, code: 400 });
    expect(error.message).toMatch(message);
  });

  it('answers 400 to an image of more than 4096×4096 pixels', async () => {
    // Prepare: white, so that it is small to send.
    const large = await sharp({ create: { width: 4100, height: 4100, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();

    // Act
    const response = await invoke(image(dataUrl(large, 'image/png')));

    // Assess
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { message: string } };
    expect(error.message).toBe(`image 1 has more than ${MAX_IMAGE_PIXELS} pixels (4096×4096)`);
  });

  it('answers 400 to a body that is not JSON by its type, 404 and 405 off its routes', async () => {
    const text = await invoke({ messages: [{ role: 'user', content: 'hi' }] }, url, 'text/plain');
    const route = await fetch(`${url}/v1/chat/completions`, { method: 'POST' });
    const method = await fetch(`${url}/invocations`);

    expect(text.status).toBe(400);
    expect(((await text.json()) as { error: { message: string } }).error.message).toMatch(/Content-Type/);
    expect(route.status).toBe(404);
    expect(((await route.json()) as { error: { type: string } }).error.type).toBe('not_found_error');
    expect(method.status).toBe(405);
  });
});
