/**
 * The avatarizer's one job inside a SageMaker Processing job: the spec and the objects SageMaker
 * downloaded in, the avatar engine run on them (the very engine the Run functions run), the result
 * files and the outcome written to the output folder SageMaker uploads to the job's results when the
 * container exits. The contract with the avatars machine's steps is lambdas/domain/avatars/processing.ts.
 *
 * A table the engine refuses is no crash: the outcome says why, and RecordProcessing fails the job
 * with that message. Anything else (a spec or input missing) throws, the container exits non-zero,
 * and the processing job fails with its output's last lines.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  type AvatarEnginePort,
  inProcessEngine,
  type Progress,
} from '../../lambdas/domain/avatars/compute.ts';
import {
  completedOutcome,
  PROCESSING_OUTCOME_FILE,
  PROCESSING_PATHS,
  PROCESSING_SPEC_FILE,
  type ProcessingOutcome,
  type ProcessingSpec,
} from '../../lambdas/domain/avatars/processing.ts';

/** SageMaker's `/opt/ml`; the local platform runs the container's code with another folder for it. */
export const ML_ROOT = '/opt/ml';

export interface AvatarizeJobOptions {
  /** What stands for `/opt/ml` (default `$SYNTHFORGE_ML_ROOT`, else `/opt/ml`). */
  root?: string;
  /** Default: the engine in this process. */
  engine?: AvatarEnginePort;
  onProgress?: Progress;
}

/** A container path (`/opt/ml/...`) under `root`. */
export const underRoot = (containerPath: string, root: string) =>
  join(root, containerPath.slice(ML_ROOT.length));

/** Runs the job the spec describes; resolves with the outcome it wrote beside the results. */
export async function avatarizeJob(options: AvatarizeJobOptions = {}): Promise<ProcessingOutcome> {
  const root = options.root ?? process.env.SYNTHFORGE_ML_ROOT ?? ML_ROOT;
  const jobFolder = underRoot(PROCESSING_PATHS.job, root);
  const tablesFolder = underRoot(PROCESSING_PATHS.tables, root);
  const resultsFolder = underRoot(PROCESSING_PATHS.results, root);
  const spec = JSON.parse(await readFile(join(jobFolder, PROCESSING_SPEC_FILE), 'utf8')) as ProcessingSpec;

  const inputs: Record<string, Uint8Array> = {};
  for (const [key, relative] of Object.entries(spec.inputs)) {
    inputs[key] = await readInput(tablesFolder, relative);
  }

  let outcome: ProcessingOutcome;
  try {
    const output = await (options.engine ?? inProcessEngine).run(
      // The instance's memory bounds the neighbours a job may ask for, as the function's does in Lambda.
      {
        plan: spec.plan,
        inputs,
        jobId: spec.jobId,
        resultPrefix: spec.resultPrefix,
        memoryBytes: totalmem(),
      },
      options.onProgress,
    );
    await mkdir(resultsFolder, { recursive: true });
    for (const file of output.files) await writeFile(join(resultsFolder, file.name), file.bytes);
    outcome = completedOutcome(output);
  } catch (error) {
    // As Run does: the engine's error, with its code when it has one (a bad table's), fails the job.
    const code = (error as { code?: string }).code ?? 'ENGINE_ERROR';
    outcome = { status: 'failed', code: code.toUpperCase(), message: (error as Error).message };
  }
  await mkdir(resultsFolder, { recursive: true });
  await writeFile(join(resultsFolder, PROCESSING_OUTCOME_FILE), `${JSON.stringify(outcome)}\n`);
  return outcome;
}

/**
 * An object of the manifest, where SageMaker put it: at its key relative to the manifest's prefix,
 * or else under its base name (SageMaker documents the manifest's keys, not the layout it downloads
 * them to; the relative path is what it does for a prefix).
 */
async function readInput(folder: string, relative: string): Promise<Uint8Array> {
  try {
    return await readFile(join(folder, relative));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    try {
      return await readFile(join(folder, basename(relative)));
    } catch {
      throw new Error(
        `input ${relative} is not in ${folder} (nor as ${basename(relative)} in ${dirname(join(folder, relative))})`,
      );
    }
  }
}
