/**
 * What the CLI's exit status says, so that a script can tell "the jobs failed" from "you typed it
 * wrong" from "try again later" without reading the output.
 */
import { BatchTimeoutError } from '../batch.ts';
import { ArchiveError, BatchFolderMismatchError, SynthForgeError } from '../errors.ts';

export const EXIT = {
  /** Everything asked for was done. */
  ok: 0,
  /** The batch (or job) ended with failed or cancelled jobs. */
  jobsFailed: 1,
  /** The command, its arguments, the configuration or the request was wrong; nothing was started. */
  usage: 2,
  /** The server or the network failed (5xx, 429 after every retry, no answer, a corrupt download). */
  unavailable: 3,
  /** A wait ran out of time; the batch goes on running on the server. */
  timedOut: 4,
  /** Interrupted with Ctrl-C (128 + SIGINT). */
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI itself reports: a message, lines under it, a code for `--json`, and its exit status. */
export abstract class CliError extends Error {
  abstract readonly code: string;
  abstract readonly exit: ExitCode;
  constructor(
    message: string,
    /** Extra lines printed under the message (every invalid parameter, how to look again). */
    readonly lines: readonly string[] = [],
  ) {
    super(message);
  }
}

/** A mistake in how the CLI was called: printed with a pointer to the command's help. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  readonly code = 'USAGE';
  readonly exit = EXIT.usage;
}

/** A wait ran out of time; what it waited for goes on (exit 4). */
export class WaitTimedOut extends CliError {
  override readonly name = 'WaitTimedOut';
  readonly code = 'WAIT_TIMEOUT';
  readonly exit = EXIT.timedOut;
}

/** The exit status for an error a command let through. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exit;
  if (error instanceof BatchFolderMismatchError) return EXIT.usage;
  if (error instanceof BatchTimeoutError) return EXIT.timedOut;
  if (error instanceof SynthForgeError) {
    // 4xx other than "slow down" means this request will never succeed as it is: the caller's to fix.
    return error.status >= 400 && error.status < 500 && !error.retryable ? EXIT.usage : EXIT.unavailable;
  }
  if (error instanceof ArchiveError) return EXIT.unavailable;
  if (isAbort(error)) return EXIT.interrupted;
  return EXIT.unavailable;
}

export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'InterruptedError');
}
