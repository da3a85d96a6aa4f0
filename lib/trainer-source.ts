/**
 * The trainer's source as SageMaker script mode takes it: a gzipped tar (`sourcedir.tar.gz`) of
 * `containers/trainer` holding the entry point `sagemaker_entry.py` and the `synthforge_trainer`
 * package, built here in Node at synthesis (no Docker, no `tar` binary) by the project's one tar
 * writer (lambdas/local/support/tar.ts) and uploaded by `cdk deploy` as a file asset.
 *
 * The sagemaker-training toolkit inside AWS's PyTorch training container unpacks it with
 * `tarfile.open(name, mode="r:gz")` into /opt/ml/code (aws/sagemaker-training-toolkit,
 * src/sagemaker_training/files.py `download_and_extract`): a zip, which is what CDK makes of a
 * directory asset, would not do. The archive is byte-for-byte reproducible (sorted entries, zero
 * timestamps and owners, a gzip header without a time or an OS), so its asset hash, and with it the
 * template, changes only when the trainer's code does.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { createTarGzSync } from '../lambdas/local/support/tar.ts';
import { REPO_ROOT } from './paths.ts';

/** The trainer's folder. */
export const TRAINER_DIRECTORY = join(REPO_ROOT, 'containers', 'trainer');

/** What script mode runs (`sagemaker_program`): it hands over to `python -m synthforge_trainer`. */
export const TRAINER_ENTRY_POINT = 'sagemaker_entry.py';

/** The package the entry point runs. */
const TRAINER_PACKAGE = 'synthforge_trainer';

/** The archive's members, relative to the trainer folder, in archive order. */
export function trainerSourceFiles(directory = TRAINER_DIRECTORY): string[] {
  const files = [TRAINER_ENTRY_POINT];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      // Compiled files and caches are the machine's, not the source.
      if (entry.isDirectory() && entry.name !== '__pycache__') walk(path);
      else if (entry.isFile() && entry.name.endsWith('.py')) files.push(relative(directory, path));
    }
  };
  walk(join(directory, TRAINER_PACKAGE));
  return files.map((file) => file.split(sep).join('/')).sort();
}

/** The gzipped tar of `files` (paths relative to `directory`). */
export function packTrainerSource(
  directory = TRAINER_DIRECTORY,
  files = trainerSourceFiles(directory),
): Buffer {
  // No modification times: the same files give the same bytes on every machine.
  const entries = files.map((file) => ({ name: file, data: readFileSync(join(directory, file)) }));
  return createTarGzSync(entries, { level: 9 });
}

/**
 * Writes the archive to a file named after its content (a cache under the OS's temporary folder,
 * from which `cdk synth` copies it into the cloud assembly) and returns the path.
 */
export function trainerSourceArchive(directory = TRAINER_DIRECTORY): string {
  const archive = packTrainerSource(directory);
  const digest = createHash('sha256').update(archive).digest('hex').slice(0, 32);
  const cache = join(tmpdir(), 'synthforge-trainer-source');
  const path = join(cache, `${digest}.tar.gz`);
  if (!existsSync(path)) {
    mkdirSync(cache, { recursive: true });
    // Written aside and renamed: a concurrent synthesis never reads half a file.
    const partial = `${path}.${process.pid}.partial`;
    writeFileSync(partial, archive);
    renameSync(partial, path);
  }
  return path;
}
