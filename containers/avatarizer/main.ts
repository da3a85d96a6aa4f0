/**
 * The avatarizer container's entry point: runs the one job of its processing job, says what it made
 * on standard output (SageMaker sends it to CloudWatch Logs), and exits 0 once the outcome is
 * written, whatever the engine decided; non-zero only when the job could not be run at all.
 */
import { pathToFileURL } from 'node:url';
import { avatarizeJob } from './avatarize-job.ts';

export async function main(): Promise<number> {
  const started = Date.now();
  let lastShare = -1;
  const outcome = await avatarizeJob({
    onProgress: (share, step) => {
      // A line per tenth, not per step: a million rows report often.
      if (Math.floor(share * 10) === Math.floor(lastShare * 10)) return;
      lastShare = share;
      process.stdout.write(`${Math.round(share * 100)}% ${step}\n`);
    },
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    outcome.status === 'completed'
      ? `completed in ${seconds} s: ${outcome.summary}\n`
      : `refused in ${seconds} s (${outcome.code}): ${outcome.message}\n`,
  );
  return 0;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
