/**
 * The one tar writer: POSIX ustar archives of regular files, plain or gzipped, as SageMaker takes and
 * gives them. Script mode unpacks the trainer's `sourcedir.tar.gz` (lib/trainer-source.ts) with
 * Python's `tarfile`; a training job's `model.tar.gz` (sagemaker/training-jobs.ts) is read with `tar`
 * or `tarfile`. Both need no more than this: regular files, mode 0644, owner 0, names split ustar
 * style, parent folders implied by the names.
 *
 * The bytes depend on the entries alone: no owner names, no padding to a whole record (readers stop
 * at the two zero blocks), and a gzip header with no time and no OS. The trainer source's asset hash,
 * and with it the deployed template, changes only when the trainer's code does.
 */
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gzip as gzipCallback, gzipSync } from 'node:zlib';
import { listFiles, portableRelative } from './files.ts';

const gzip = promisify(gzipCallback);

export interface TarEntry {
  /** The member's path, `/`-separated, relative: `model.pt`, `synthforge_trainer/train.py`. */
  name: string;
  data: Uint8Array;
  /** Default: the epoch, for archives that must be the same bytes on every build. */
  mtime?: Date;
}

export interface TarGzOptions {
  /** zlib's level, 1 (fastest) to 9 (smallest); default 9. */
  level?: number;
}

const BLOCK = 512;
/** The largest size a ustar header's 11 octal digits hold. */
const MAX_SIZE = 0o77777777777;

/** A POSIX ustar archive of `entries`, in the order given. */
export function createTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    parts.push(header(entry), Buffer.from(entry.data));
    const padding = (BLOCK - (entry.data.length % BLOCK)) % BLOCK;
    if (padding > 0) parts.push(Buffer.alloc(padding));
  }
  // The end of the archive: two zero blocks.
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** The gzipped archive, built at once (synthesis needs it synchronously). */
export function createTarGzSync(entries: readonly TarEntry[], options: TarGzOptions = {}): Buffer {
  return withoutOs(gzipSync(createTar(entries), { level: options.level ?? 9 }));
}

/** The gzipped archive, compressed off the event loop (model weights run to hundreds of megabytes). */
export async function createTarGz(entries: readonly TarEntry[], options: TarGzOptions = {}): Promise<Buffer> {
  return withoutOs(await gzip(createTar(entries), { level: options.level ?? 9 }));
}

/**
 * The files under `dir` as entries named relative to it, as SageMaker packs `/opt/ml/model`
 * (`model.pt`, not `./model.pt` or `model/model.pt`), with their modification times; none when `dir`
 * is missing, which makes an empty archive.
 */
export async function directoryEntries(dir: string): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  for (const path of await listFiles(dir)) {
    const info = await stat(path);
    entries.push({ name: portableRelative(dir, path), data: await readFile(path), mtime: info.mtime });
  }
  return entries;
}

/**
 * Byte 9 of the gzip header names the OS that wrote it (zlib's build decides it); 255 is "unknown",
 * so that every machine writes the same bytes. The time (bytes 4-7) is already 0.
 */
function withoutOs(gzipped: Buffer): Buffer {
  gzipped[9] = 255;
  return gzipped;
}

function header(entry: TarEntry): Buffer {
  const block = Buffer.alloc(BLOCK);
  const { name, prefix } = splitName(entry.name);
  if (entry.data.length > MAX_SIZE) throw new RangeError(`${entry.name} is too large for a ustar archive`);
  block.write(name, 0, 100, 'utf8');
  writeOctal(block, 100, 8, 0o644);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, entry.data.length);
  writeOctal(block, 136, 12, Math.floor((entry.mtime?.getTime() ?? 0) / 1000));
  // The checksum is computed with its own field read as eight spaces.
  block.fill(0x20, 148, 156);
  block.write('0', 156, 1, 'ascii'); // a regular file
  block.write('ustar\u0000', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  block.write(prefix, 345, 155, 'utf8');
  let checksum = 0;
  for (const byte of block) checksum += byte;
  block.write(`${checksum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return block;
}

/** ustar names: up to 100 bytes, or a prefix of up to 155 bytes and a name of up to 100, split at a `/`. */
function splitName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let cut = path.indexOf('/'); cut !== -1; cut = path.indexOf('/', cut + 1)) {
    const prefix = path.slice(0, cut);
    const name = path.slice(cut + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new RangeError(`${path} is too long for a ustar archive`);
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length, 'ascii');
}
