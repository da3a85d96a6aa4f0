/**
 * The trainer of a local training job, as a process: `python3 -m synthforge_trainer train` in the
 * trainer's folder (containers/trainer) with `SYNTHFORGE_ML_ROOT` set to the job's root, its output
 * forwarded line by line to the log, and the job's checkpoints uploaded every so often while it runs.
 * Also the probe that tells whether it can run here at all (python with torch and torchvision).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { spawnTiedToParent } from '../support/child-process.ts';
import { type ChildExit, followChild } from './job-runs.ts';

/** The interpreter scripts/setup-trainer.sh installs PyTorch for; `SYNTHFORGE_PYTHON` names another. */
export const defaultPython = () => process.env.SYNTHFORGE_PYTHON || '/usr/bin/python3';
export const DEFAULT_TRAINER_DIR = fileURLToPath(new URL('../../../containers/trainer', import.meta.url));
const AVAILABILITY_TIMEOUT_MS = 120_000;
const missingTorch = (python: string) =>
  `${python} cannot import torch and torchvision: on Debian run sudo apt-get install python3-torch python3-torchvision (scripts/setup-trainer.sh); training works as soon as they are installed, without a restart`;

/** Whether training can run here, and if not, why and how to fix it. */
export type Availability = { ok: true } | { ok: false; reason: string };

type Log = (message: string, details?: Record<string, unknown>) => void;

export interface TrainerRunOptions {
  python: string;
  /** Where `synthforge_trainer` is importable from. */
  trainerDir: string;
  /** The job's root (`SYNTHFORGE_ML_ROOT`). */
  root: string;
  /** Extra environment for the trainer. */
  env?: Record<string, string>;
  trainingJobName: string;
  /** Called every `syncEveryMs` while the trainer runs (the checkpoint upload). */
  sync: () => Promise<void>;
  syncEveryMs: number;
  /** Hands over the process as soon as it is spawned, for a stop. */
  started: (child: ChildProcess) => void;
  log: Log;
}

/** How the trainer exited, and the last lines it printed. */
export type TrainerExit = ChildExit;

/** Runs the trainer to its exit, syncing checkpoints meanwhile. */
export async function runTrainer(options: TrainerRunOptions): Promise<TrainerExit> {
  const { trainingJobName, log } = options;
  // Its stdin is held open and never written: the trainer stops as on SIGTERM when it ends, that
  // is when this process does, even by SIGKILL (support/child-process.ts).
  const child = spawnTiedToParent(options.python, ['-m', 'synthforge_trainer', 'train'], {
    cwd: options.trainerDir,
    env: { SYNTHFORGE_ML_ROOT: options.root, ...options.env, PYTHONUNBUFFERED: '1' },
  });
  const exit = followChild(child, (line, stream) => log(line, { trainingJobName, stream }));
  log('trainer started', { trainingJobName, pid: child.pid });
  options.started(child);

  const ended = new AbortController();
  const loop = (async () => {
    while (!ended.signal.aborted) {
      await sleep(options.syncEveryMs, undefined, { signal: ended.signal }).catch(() => undefined);
      if (ended.signal.aborted) break;
      await options
        .sync()
        .catch((error: Error) => log('checkpoint upload failed', { trainingJobName, error: String(error) }));
    }
  })();
  try {
    return await exit;
  } finally {
    ended.abort();
    await loop;
  }
}

/** Can `python` import torch and torchvision? A no comes with how to install them. */
export async function probeTrainer(python: string, log: Log): Promise<Availability> {
  const answer = await new Promise<{ ok: boolean; detail: string }>((done) => {
    const child = spawn(python, ['-c', 'import torch, torchvision'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2_000);
    });
    // A probe that hangs is not a stop: nothing to checkpoint, so no SIGTERM first.
    const timer = setTimeout(() => child.kill('SIGKILL'), AVAILABILITY_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      done({ ok: false, detail: `${python}: ${error.message}` });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const lastLine = stderr.trim().split('\n').pop() ?? '';
      done({
        ok: code === 0,
        detail: `${python} exited with ${signal ?? code}${lastLine ? `: ${lastLine}` : ''}`,
      });
    });
  });
  if (answer.ok) return { ok: true };
  log('the trainer cannot run here', { python, detail: answer.detail });
  return { ok: false, reason: missingTorch(python) };
}
