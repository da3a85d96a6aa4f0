/**
 * `synthforge train …` against the local platform, in process, with the real trainer on CPU: a bad
 * value is refused before anything is sent; a tiny run is followed epoch by epoch to its end, listed,
 * shown, and cannot be cancelled once finished; a run that fails exits 1 with its reason.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../../../test/support/platform.ts';
import { identityCropsBatch, TEST_TRAINING, trainingRunCount } from '../../../test/support/training.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import type { TrainingTask } from '../../src/index.ts';
import { type CliRun, type CliRunOptions, runInProcess } from '../support/cli.ts';

const fixture = usePlatform({ training: TEST_TRAINING });
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

const cli = (argv: string[], options: CliRunOptions = {}) =>
  runInProcess(argv, {
    env: {
      SYNTHFORGE_API_URL: fixture.platform.url,
      SYNTHFORGE_API_KEY: fixture.platform.devKey,
      SYNTHFORGE_CONFIG_DIR: join(tmpdir(), 'synthforge-cli-unused-config'),
    },
    ...options,
  });

/** The tiny run's parameters as `train start` flags: about 5 s an epoch on two cores. */
const TINY_FLAGS = [
  '--epochs',
  '2',
  '--set',
  'training.batch_size=16',
  '--set',
  'training.num_workers=0',
  '--set',
  'model.embedding_dim=32',
  '--set',
  'model.attention_layers=layer1,layer4',
];

describe('train start', () => {
  it('refuses a bad value before sending anything: exit 2, the parameter named', async () => {
    // Prepare
    const before = await trainingRunCount(fixture.api);

    // Act
    const run = await cli([
      'train',
      'start',
      '--set',
      'training.learning_rate=-1',
      '--set',
      'model.use_cbm=true',
    ]);

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain('the training request is invalid (2 problems); nothing was sent');
    expect(run.stderr).toContain(
      'training_kwargs.learning_rate: learning_rate must be above 0 and at most 1',
    );
    expect(run.stderr).toContain('model_kwargs.use_cbm: not a parameter of model_kwargs');
    expect(run.stdout).toBe('');
    expect(await trainingRunCount(fixture.api)).toBe(before);
  });

  it('reads the request from a file, the flags winning, and prints it with --dry-run', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'synthforge-train-'));
    dirs.push(dir);
    const file = join(dir, 'request.json');
    await writeFile(
      file,
      JSON.stringify({ custom_name: 'from_file', wandb_tags: ['file'], training_kwargs: { margin: 0.3 } }),
    );

    // Act
    const run = await cli([
      'train',
      'start',
      '--file',
      file,
      '--name',
      'from_flags',
      '--tag',
      'cli',
      '--dry-run',
    ]);
    const fromStdin = await cli(['train', 'start', '--file', '-', '--no-resume', '--dry-run'], {
      stdin: '{"frames": 5}',
    });

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    const request = JSON.parse(run.stdout);
    expect(request).toMatchObject({ custom_name: 'from_flags', wandb_tags: ['file', 'cli'] });
    expect(request.training_kwargs).toMatchObject({ margin: 0.3, num_epochs: 50 });
    expect(JSON.parse(fromStdin.stdout)).toMatchObject({ frames: 5, resume_from_checkpoint: false });
  });

  it('follows a run that fails to its end: exit 1 and the reason', async () => {
    // Act
    const run = await cli([
      'train',
      'start',
      '--prefix',
      'datasets/nowhere/',
      '--name',
      'cli_missing_data',
      ...TINY_FLAGS,
      '--follow',
      '--poll-interval',
      '100ms',
    ]);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.jobsFailed);
    expect(run.stdout).toMatch(
      /^Training run [0-9A-Z]{26} "cli_missing_data" failed: \w+: .*datasets\/nowhere/m,
    );
  }, 90_000);
});

describe('a run followed to its end', () => {
  let followed: CliRun;
  let taskId: string;

  beforeAll(async () => {
    const batchId = await identityCropsBatch(fixture.api);
    followed = await cli([
      'train',
      'start',
      '--batch',
      batchId,
      '--name',
      'cli_players',
      ...TINY_FLAGS,
      '--tag',
      'cli',
      '--follow',
      '--poll-interval',
      '200ms',
    ]);
    taskId = /^Started training run ([0-9A-Z]{26}):/m.exec(followed.stdout)?.[1] ?? '';
  }, 120_000);

  it('prints one line per epoch and the outcome, and exits 0', () => {
    expect(followed.code, followed.stderr).toBe(EXIT.ok);
    expect(taskId).not.toBe('');
    expect(followed.stdout).toMatch(/^epoch 1\/2 {2}loss \d+\.\d{4} {2}best \d+\.\d{4}/m);
    expect(followed.stdout).toMatch(
      /^epoch 2\/2 {2}loss \d+\.\d{4} {2}best \d+\.\d{4} {2}recall@1 [\d.]+ {2}mAP [\d.]+$/m,
    );
    expect(followed.stdout.match(/^epoch 2\/2/gm)).toHaveLength(1);
    expect(followed.stdout).toMatch(/"cli_players" completed: best loss \d+\.\d{4}\n {2}model: http/);
    // The trainer's own log, on stderr, each line once.
    expect(followed.stderr).toMatch(/^ {2}\| epoch 2\/2 loss=/m);
    expect(followed.stderr.match(/found 12 identity folders/g)).toHaveLength(1);
  });

  it('lists it with --json', async () => {
    // Act
    const run = await cli(['train', 'list', '--json']);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    const listed = JSON.parse(run.stdout) as TrainingTask[];
    expect(listed.find((task) => task.task_id === taskId)).toMatchObject({
      status: 'completed',
      custom_name: 'cli_players',
      wandb_tags: ['cli'],
      progress: { current_epoch: 2, total_epochs: 2 },
    });
  });

  it('shows it as a table row and in full', async () => {
    // Act
    const listed = await cli(['train', 'list', '--status', 'completed']);
    const shown = await cli(['train', 'status', taskId]);

    // Assess
    expect(listed.stdout).toMatch(/^TASK\s+STATUS\s+NAME\s+EPOCH\s+BEST LOSS\s+CREATED\n/);
    expect(listed.stdout).toMatch(
      new RegExp(`^${taskId}\\s+completed\\s+cli_players\\s+2/2\\s+\\d+\\.\\d{4}\\s+\\d{4}-`, 'm'),
    );
    expect(shown.code).toBe(EXIT.ok);
    expect(shown.stdout).toMatch(/^status: +completed$/m);
    expect(shown.stdout).toMatch(/^epoch: +2\/2$/m);
    expect(shown.stdout).toMatch(/^recall@1: +\d\.\d{3}$/m);
    expect(shown.stdout).toMatch(/^model: +http/m);
  });

  it('refuses to cancel it now that it has ended: exit 2', async () => {
    // Act
    const run = await cli(['train', 'cancel', taskId]);

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(/HTTP 409, ILLEGAL_STATE/);
    expect((await fixture.api.get<TrainingTask>(`/api/v1/train/${taskId}/status`)).body.status).toBe(
      'completed',
    );
  });
});

describe('a run one stops following', () => {
  it('goes on after --timeout (exit 4) and Ctrl-C (exit 130), until train cancel stops it', async () => {
    // Prepare: a run far longer than the test.
    const batchId = await identityCropsBatch(fixture.api);
    const started = await cli([
      'train',
      'start',
      '--batch',
      batchId,
      '--name',
      'cli_stopped',
      ...TINY_FLAGS,
      '--epochs',
      '500',
      '--json',
    ]);
    const { task_id: taskId } = JSON.parse(started.stdout) as { task_id: string };

    // Act
    const timedOut = await cli([
      'train',
      'status',
      taskId,
      '--follow',
      '--poll-interval',
      '100ms',
      '--timeout',
      '500ms',
    ]);
    // Ctrl-C once the follower printed the run's status, i.e. while it is following: not after a
    // fixed delay, which a loaded machine can spend before the follower even starts.
    const interrupted = await cli(['train', 'status', taskId, '--follow', '--poll-interval', '100ms'], {
      interruptWhen: new RegExp(`^Training run ${taskId} "cli_stopped": `, 'm'),
    });
    const stillGoing = await fixture.api.get<TrainingTask>(`/api/v1/train/${taskId}/status`);
    const cancelled = await cli(['train', 'cancel', taskId]);
    const shown = await cli(['train', 'status', taskId]);

    // Assess
    expect(started.code, started.stderr).toBe(EXIT.ok);
    expect(timedOut.code, timedOut.stderr).toBe(EXIT.timedOut);
    expect(timedOut.stderr).toContain(`follow it again with: synthforge train status ${taskId} --follow`);
    expect(interrupted.code, interrupted.stderr).toBe(EXIT.interrupted);
    expect(interrupted.stderr).toContain(`Stopped following; training run ${taskId} goes on`);
    expect(['pending', 'running']).toContain(stillGoing.body.status);
    expect(cancelled.code, cancelled.stderr).toBe(EXIT.ok);
    expect(cancelled.stdout).toMatch(new RegExp(`^Training run ${taskId} is cancelled`));
    expect(shown.code).toBe(EXIT.jobsFailed);
    expect(shown.stdout).toMatch(/^status: +cancelled$/m);
  }, 60_000);
});
