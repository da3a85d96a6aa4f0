/**
 * B11, training (issue 5):
 * - the trainer's images per second on CPU for one epoch of a tiny identity dataset, with CBAM on
 *   every ResNet stage and the platform's loop around it (P×K sampling, evaluation, checkpoints,
 *   progress), against a plain PyTorch loop over the same data and batch size, same ResNet-18, no
 *   CBAM (containers/trainer/bench.py runs both in one process, one after the other);
 * - the training workflow's billable transitions per run, walked from its ASL along the happy path
 *   (one `.sync` task waits for the job), against a loop polling DescribeTrainingJob every minute.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { STATE_MACHINE_FILES } from '../statemachines/definitions.ts';
import { fmt, type Row, row } from './lib/rows.ts';

const TRAINER_DIR = new URL('../containers/trainer', import.meta.url).pathname;

interface State {
  Type: string;
  Next?: string;
  Default?: string;
  End?: boolean;
}

/** States entered from StartAt to the end, taking each Choice's Default (no resume, no failure). */
export function happyPathTransitions(definition: { StartAt: string; States: Record<string, State> }): number {
  let count = 0;
  for (let name: string | undefined = definition.StartAt; name; ) {
    const state: State | undefined = definition.States[name];
    if (!state || count > 100) throw new Error(`the happy path of the definition breaks at ${name}`);
    count++;
    name = state.Type === 'Choice' ? state.Default : state.End ? undefined : state.Next;
  }
  return count;
}

export async function benchTraining(options: { log: (line: string) => void }): Promise<Row[]> {
  const definition = JSON.parse(readFileSync(STATE_MACHINE_FILES.training, 'utf8'));
  const perRun = happyPathTransitions(definition);
  // A two-hour training job polled every minute by a Wait + Describe + Choice loop, one state before
  // it and two after: 1 + 3 × 120 + 2 transitions.
  const jobSeconds = 7200;
  const polling = 1 + 3 * Math.ceil(jobSeconds / 60) + 2;
  const rows: Row[] = [
    row({
      bench: 'B11',
      metric: 'transitions per training run (2 h job)',
      unit: '',
      reference: polling,
      project: perRun,
      target: { kind: 'max', value: 0.05 },
      note: `createTrainingJob.sync waits without states: ${perRun} per run (target ≤ 6); a poll loop at P = 60 s: ${polling}`,
    }),
  ];

  options.log('B11: one epoch of the trainer and of a plain loop on CPU (containers/trainer/bench.py)');
  const { stdout } = await promisify(execFile)('/usr/bin/python3', ['bench.py'], {
    cwd: TRAINER_DIR,
    timeout: 300_000,
  });
  const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
    trainer_images_per_second: number;
    plain_images_per_second: number;
    images_per_epoch: number;
    batch_size: number;
    image_size: number;
    torch_threads: number;
  };
  rows.push(
    row({
      bench: 'B11',
      metric: 'trainer images/s on CPU, one epoch (CBAM on layer1–4) vs a plain loop without CBAM',
      unit: 'images/s',
      reference: result.plain_images_per_second,
      project: result.trainer_images_per_second,
      note: `${result.images_per_epoch} crops of ${result.image_size}², batch ${result.batch_size}, ${result.torch_threads} torch thread(s); plain ${fmt(result.plain_images_per_second)}/s, trainer ${fmt(result.trainer_images_per_second)}/s: the cost of attention and of the platform's loop`,
    }),
  );
  return rows;
}
