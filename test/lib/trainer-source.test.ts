/**
 * The trainer's source as SageMaker script mode takes it (lib/trainer-source.ts): a tar.gz that
 * Python's `tarfile.open(name, mode="r:gz")`, the sagemaker-training toolkit's own call, unpacks into
 * the files as they are, the same bytes on every synthesis, and whose entry point trains when run the
 * way the toolkit runs it. AWS's container and its toolkit cannot run here (no Docker, no network):
 * this plays their two steps, unpacking and `python sagemaker_entry.py --<hyperparameter> <value>`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  packTrainerSource,
  TRAINER_DIRECTORY,
  TRAINER_ENTRY_POINT,
  trainerSourceArchive,
  trainerSourceFiles,
} from '../../lib/trainer-source.ts';

const PYTHON = '/usr/bin/python3';
const hasPython = spawnSync(PYTHON, ['-c', 'import tarfile'], { stdio: 'ignore' }).status === 0;
const hasTorch =
  hasPython && spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0;

const scratch = mkdtempSync(join(tmpdir(), 'trainer-source-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** What Python's tarfile reads from each archive: `{name: [mode, size, sha256]}`, by archive. */
function readWithPython(archives: string[]): Record<string, [number, number, string]>[] {
  const script = `
import hashlib, json, sys, tarfile
out = []
for path in sys.argv[1:]:
    with tarfile.open(name=path, mode="r:gz") as archive:
        members = {}
        for member in archive.getmembers():
            data = archive.extractfile(member).read()
            members[member.name] = [member.mode, member.size, hashlib.sha256(data).hexdigest()]
        out.append(members)
print(json.dumps(out))
`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script, ...archives], { encoding: 'utf8' }));
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('the trainer source archive', () => {
  it('holds the entry point and the package’s Python files, and nothing of tests, caches or the Dockerfile', () => {
    // Act
    const files = trainerSourceFiles();

    // Assess
    expect(files[0]).toBe('sagemaker_entry.py');
    expect(files).toContain('synthforge_trainer/__main__.py');
    expect(files).toContain('synthforge_trainer/train.py');
    expect(
      files.every((file) => file === TRAINER_ENTRY_POINT || file.startsWith('synthforge_trainer/')),
    ).toBe(true);
    expect(files.filter((file) => /__pycache__|\.pyc$|tests\/|Dockerfile/.test(file))).toEqual([]);
    expect([...files].sort()).toEqual(files);
  });

  it('is the same bytes every time, and cached under a name of its content', () => {
    // Act
    const first = packTrainerSource();
    const second = packTrainerSource();
    const path = trainerSourceArchive();

    // Assess
    expect(first.equals(second)).toBe(true);
    expect(readFileSync(path).equals(first)).toBe(true);
    expect(path).toMatch(/[0-9a-f]{32}\.tar\.gz$/);
    // gzip with no time and an unknown OS: no machine-specific byte.
    expect([...first.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
    expect(first[9]).toBe(255);
  });

  it.skipIf(!hasPython)('unpacks with tarfile "r:gz", as the toolkit does, into the very files', () => {
    // Act
    const [members] = readWithPython([trainerSourceArchive()]);

    // Assess
    const expected = Object.fromEntries(
      trainerSourceFiles().map((file) => {
        const content = readFileSync(join(TRAINER_DIRECTORY, file));
        return [file, [0o644, content.length, sha256(content)]];
      }),
    );
    expect(members).toEqual(expected);
  });

  it.skipIf(!hasPython)(
    'round-trips any tree of files through Python’s tarfile (names to 100 bytes, any size)',
    () => {
      // Prepare: random trees, each packed by the same writer, all read by one Python process.
      const trees = fc.sample(
        fc.dictionary(
          fc.stringMatching(/^[a-z0-9_]{1,20}(\/[a-z0-9_]{1,20}){0,2}\.py$/),
          fc.uint8Array({ maxLength: 2_000 }),
          { minKeys: 1, maxKeys: 6 },
        ),
        { numRuns: 25, seed: 11 },
      );
      const archives = trees.map((tree, index) => {
        const root = join(scratch, `tree-${index}`);
        for (const [name, content] of Object.entries(tree)) {
          mkdirSync(join(root, name, '..'), { recursive: true });
          writeFileSync(join(root, name), content);
        }
        const path = join(scratch, `tree-${index}.tar.gz`);
        writeFileSync(path, packTrainerSource(root, Object.keys(tree).sort()));
        return path;
      });

      // Act
      const read = readWithPython(archives);

      // Assess
      trees.forEach((tree, index) => {
        const expected = Object.fromEntries(
          Object.entries(tree).map(([name, content]) => [
            name,
            [0o644, content.length, sha256(Buffer.from(content))],
          ]),
        );
        expect(read[index]).toEqual(expected);
      });
    },
  );

  it.skipIf(!hasTorch)(
    'trains when script mode runs it: unpacked, `python sagemaker_entry.py --key value …`, sagemaker_* hyperparameters present',
    () => {
      // Prepare: /opt/ml as SageMaker lays it out, the toolkit's /opt/ml/code from the archive.
      const root = join(scratch, 'opt-ml');
      const code = join(root, 'code');
      mkdirSync(code, { recursive: true });
      execFileSync(PYTHON, [
        '-c',
        'import sys, tarfile; tarfile.open(name=sys.argv[1], mode="r:gz").extractall(path=sys.argv[2])',
        trainerSourceArchive(),
        code,
      ]);
      const hyperparameters = {
        num_epochs: '1',
        batch_size: '8',
        image_size: '32',
        num_workers: '0',
        embedding_dim: '16',
        seed: '3',
        sagemaker_program: TRAINER_ENTRY_POINT,
        sagemaker_submit_directory: '/opt/ml/input/data/code/sourcedir.tar.gz',
      };
      mkdirSync(join(root, 'input', 'config'), { recursive: true });
      writeFileSync(join(root, 'input', 'config', 'hyperparameters.json'), JSON.stringify(hyperparameters));
      execFileSync(
        PYTHON,
        [
          '-c',
          'import sys; from pathlib import Path; from synthforge_trainer.synthetic import write_synthetic_identities as w; w(Path(sys.argv[1]), 4, 4, image_size=32, seed=1)',
          join(root, 'input', 'data', 'train'),
        ],
        { cwd: code },
      );
      // The toolkit passes the hyperparameters (sagemaker_* excepted) as arguments too.
      const args = ['num_epochs', 'batch_size', 'image_size', 'num_workers', 'embedding_dim', 'seed'].flatMap(
        (key) => [`--${key}`, hyperparameters[key as keyof typeof hyperparameters]],
      );

      // Act
      const run = spawnSync(PYTHON, [TRAINER_ENTRY_POINT, ...args], {
        cwd: code,
        env: { ...process.env, SYNTHFORGE_ML_ROOT: root },
        encoding: 'utf8',
        timeout: 120_000,
      });

      // Assess
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
      const progress = JSON.parse(readFileSync(join(root, 'checkpoints', 'progress.json'), 'utf8'));
      expect(progress).toMatchObject({ status: 'completed', current_epoch: 1, total_epochs: 1 });
      expect(readFileSync(join(root, 'model', 'model.pt')).length).toBeGreaterThan(0);
    },
  );
});
