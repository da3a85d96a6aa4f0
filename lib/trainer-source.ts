/**
 * The trainer's source as SageMaker script mode takes it: a gzipped tar (`sourcedir.tar.gz`) of
 * `containers/trainer` holding the entry point `sagemaker_entry.py` and the `synthforge_trainer`
 * package, built here in Node at synthesis (no Docker, no `tar` binary) and uploaded by `cdk deploy`
 * as a file asset.
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
import { gzipSync } from 'node:zlib';
import { REPO_ROOT } from './paths.ts';

/** The trainer's folder. */
export const TRAINER_DIRECTORY = join(REPO_ROOT, 'containers', 'trainer');

/** What script mode runs (`sagemaker_program`): it hands over to `python -m synthforge_trainer`. */
export const TRAINER_ENTRY_POINT = 'sagemaker_entry.py';

/** The package the entry point runs. */
const TRAINER_PACKAGE = 'synthforge_trainer';

const BLOCK = 512;

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
  const blocks: Buffer[] = [];
  for (const file of files) {
    const content = readFileSync(join(directory, file));
    blocks.push(tarHeader(file, content.length), content);
    const padding = (BLOCK - (content.length % BLOCK)) % BLOCK;
    if (padding > 0) blocks.push(Buffer.alloc(padding));
  }
  // The end of the archive: two zero blocks.
  blocks.push(Buffer.alloc(2 * BLOCK));
  const gzipped = gzipSync(Buffer.concat(blocks), { level: 9 });
  // Byte 9 of the gzip header names the OS that wrote it (zlib's build decides it); 255 is
  // "unknown", so that every machine writes the same bytes. The time (bytes 4-7) is already 0.
  gzipped[9] = 255;
  return gzipped;
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

/** A POSIX ustar header of a regular file, owned by root, mode 0644, time 0. */
function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(BLOCK);
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 100) throw new Error(`${name}: a trainer source path must fit in 100 bytes`);
  nameBytes.copy(header, 0);
  const octal = (value: number, length: number) => `${value.toString(8).padStart(length - 1, '0')}\0`;
  header.write(octal(0o644, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii');
  header.write(octal(0, 8), 116, 'ascii');
  header.write(octal(size, 12), 124, 'ascii');
  header.write(octal(0, 12), 136, 'ascii');
  // The checksum is computed with its own field read as eight spaces.
  header.write('        ', 148, 'ascii');
  header.write('0', 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return header;
}
