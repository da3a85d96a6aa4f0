/** `synthforge models status | list` in process against a server the test scripts. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { runInProcess } from '../support/cli.ts';
import { type ScriptedServer, sendJson, startScriptedServer } from '../support/scripted-server.ts';

const STATUS = {
  time: '2026-11-22T10:00:00.000Z',
  models: [
    {
      model_key: 'qwen2-vl-7b',
      model_id: 'Qwen/Qwen2-VL-7B-Instruct',
      deployed: true,
      state: 'ready',
      copies: { desired: 1, current: 1 },
      instances: { current: 1, min: 0, max: 2 },
      instance_type: 'ml.g5.2xlarge',
      answered_by: 'synthforge/local-vision',
    },
    {
      model_key: 'gemma-3-4b',
      model_id: 'google/gemma-3-4b-it',
      deployed: true,
      state: 'warming',
      copies: { desired: 1, current: 0 },
      instances: { current: 0, min: 0, max: 1 },
      estimated_ready_at: '2026-11-22T10:04:30.000Z',
      message: 'waking from zero',
    },
    {
      model_key: 'qwen2.5-vl-32b',
      model_id: 'Qwen/Qwen2.5-VL-32B-Instruct',
      deployed: false,
      state: 'not_deployed',
    },
  ],
};

const LIST = {
  models: [
    {
      model_key: 'claude4',
      model_id: 'us.anthropic.claude-sonnet-4-20250514-v1:0',
      name: 'Claude Sonnet 4',
      provider: 'bedrock',
      deployed: true,
      state: 'ready',
      media: ['image'],
    },
    {
      model_key: 'qwen2-vl-7b',
      model_id: 'Qwen/Qwen2-VL-7B-Instruct',
      name: 'Qwen2-VL 7B',
      provider: 'sagemaker',
      deployed: true,
      state: 'scaled_to_zero',
      media: ['image', 'video'],
    },
  ],
};

let server: ScriptedServer;
beforeAll(async () => {
  server = await startScriptedServer((request, response) =>
    sendJson(response, 200, request.url === '/api/emd/status' ? STATUS : LIST),
  );
});
afterAll(() => server.close());

const cli = (argv: string[]) =>
  runInProcess(argv, { env: { SYNTHFORGE_API_URL: server.url, SYNTHFORGE_API_KEY: 'sf_cli_key' } });

describe('synthforge models', () => {
  it('status: a table of the EMD models (state, copies, instances, ETA), then their notes', async () => {
    // Act
    const run = await cli(['models', 'status']);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^MODEL\s+STATE\s+COPIES\s+INSTANCES\s+ETA\s+MODEL ID$/);
    expect(lines[1]).toMatch(
      /^qwen2-vl-7b\s+ready\s+1\/1\s+1 \(0–2 ml\.g5\.2xlarge\)\s+-\s+Qwen\/Qwen2-VL-7B-Instruct$/,
    );
    expect(lines[2]).toMatch(
      /^gemma-3-4b\s+warming\s+0\/1\s+0 \(0–1\)\s+2026-11-22 10:04:30Z\s+google\/gemma-3-4b-it$/,
    );
    expect(lines[3]).toMatch(/^qwen2\.5-vl-32b\s+not_deployed\s+-\s+-\s+-\s+Qwen\/Qwen2\.5-VL-32B-Instruct$/);
    expect(lines.slice(4)).toEqual([
      'qwen2-vl-7b: answered by synthforge/local-vision',
      'gemma-3-4b: waking from zero',
      '',
    ]);
  });

  it('status --json prints what the API answered', async () => {
    const run = await cli(['models', 'status', '--json']);
    expect(run.code).toBe(EXIT.ok);
    expect(JSON.parse(run.stdout)).toEqual(STATUS);
  });

  it('list: the catalogue, Bedrock models included', async () => {
    // Act
    const run = await cli(['models', 'list']);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout.split('\n').slice(0, 3)).toEqual([
      expect.stringMatching(/^KEY\s+PROVIDER\s+STATE\s+MEDIA\s+NAME\s+MODEL ID$/),
      expect.stringMatching(/^claude4\s+bedrock\s+ready\s+image\s+Claude Sonnet 4\s+us\.anthropic\./),
      expect.stringMatching(/^qwen2-vl-7b\s+sagemaker\s+scaled_to_zero\s+image,video\s+Qwen2-VL 7B\s+Qwen\//),
    ]);
    expect(server.requests.at(-1)?.url).toBe('/api/emd/models');
  });
});
