/**
 * The local models' hold on the local vision model for the Bedrock emulator: a process that died or
 * a launch that failed is not kept, so the next call starts another; an idle hold is let go, so
 * that the shared process can stop; a launch has a deadline. The model is a tiny in-process server
 * that speaks the local vision model's chat-completions jsonlines.
 */
import { createServer } from 'node:http';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SEED_BEDROCK_MODELS } from '../../../contracts/inference-models.ts';
import { EMULATOR_CREDENTIALS } from '../../../lambdas/adapters/clients.ts';
import {
  type LocalModels,
  type LocalModelsOptions,
  startLocalModels,
} from '../../../lambdas/local/local-models.ts';
import {
  type InstanceHandle,
  type InstanceLauncher,
  inProcessLauncher,
} from '../../../lambdas/local/sagemaker/host.ts';

const MODEL_ID = SEED_BEDROCK_MODELS[0]?.modelId ?? '';

/** A model process that answers one token, and what became of each one launched. */
function modelLauncher(failFirst = 0) {
  const launched: InstanceHandle[] = [];
  let failures = failFirst;
  const inner = inProcessLauncher(() =>
    createServer((request, response) => {
      if (request.url === '/ping') return void response.end('ok');
      request.resume();
      request.once('end', () => {
        response.writeHead(200, { 'content-type': 'application/jsonlines' });
        const chunk = { choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: 'stop' }] };
        response.end(`${JSON.stringify(chunk)}\n`);
      });
    }),
  );
  const launch: InstanceLauncher = async (context) => {
    if (failures > 0) {
      failures--;
      throw new Error('the model process could not start');
    }
    const handle = await inner(context);
    launched.push(handle);
    return handle;
  };
  const stopped = async () => {
    const settled = await Promise.all(
      launched.map((handle) =>
        Promise.race([handle.exited.then(() => true), new Promise((r) => setTimeout(r, 0, false))]),
      ),
    );
    return settled.filter(Boolean).length;
  };
  return { launch, launched, stopped };
}

let models: LocalModels | undefined;
let client: BedrockRuntimeClient | undefined;

afterEach(async () => {
  client?.destroy();
  await models?.stop();
  models = undefined;
});

async function emulate(launch: InstanceLauncher, options: Partial<LocalModelsOptions> = {}) {
  models = await startLocalModels({ bedrock: 'emulate', launcher: launch, ...options });
  client = new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: models.bedrock?.endpoint ?? '',
    credentials: EMULATOR_CREDENTIALS,
    maxAttempts: 1,
  });
  const bedrock = client;
  return () =>
    bedrock.send(
      new ConverseCommand({ modelId: MODEL_ID, messages: [{ role: 'user', content: [{ text: 'hello' }] }] }),
    );
}

describe('startLocalModels: the Bedrock emulator’s local model', () => {
  it('starts a new process for the next call once the one it used has died', async () => {
    // Prepare
    const model = modelLauncher();
    const converse = await emulate(model.launch);
    const before = await converse();

    // Act: the process dies (as a crash takes it).
    await model.launched[0]?.stop();
    const after = await converse();

    // Assess
    expect(before.output?.message?.content?.[0]?.text).toBe('hi');
    expect(after.output?.message?.content?.[0]?.text).toBe('hi');
    expect(model.launched).toHaveLength(2);
  });

  it('launches again after a launch that failed, instead of failing every call', async () => {
    // Prepare
    const model = modelLauncher(1);
    const converse = await emulate(model.launch);

    // Act
    const failed = await converse().catch((error: Error) => error);
    const retried = await converse();

    // Assess
    expect(failed).toBeInstanceOf(Error);
    expect(retried.output?.message?.content?.[0]?.text).toBe('hi');
    expect(model.launched).toHaveLength(1);
  });

  it('lets go of the process once idle, so that it stops when nothing else holds it', async () => {
    // Prepare
    const model = modelLauncher();
    const converse = await emulate(model.launch, { bedrockIdleMs: 50 });

    // Act
    await converse();

    // Assess
    await vi.waitFor(async () => expect(await model.stopped()).toBe(1));
  });

  it('gives a launch that never finishes its deadline', async () => {
    // Prepare
    const never: InstanceLauncher = () => new Promise(() => undefined);
    const converse = await emulate(never, { launchTimeoutMs: 100 });

    // Act
    const failed = await converse().catch((error: Error) => error);

    // Assess
    expect(failed).toBeInstanceOf(Error);
  });
});
