#!/usr/bin/env node
/**
 * The `synthforge` executable: wires the process (argv, streams, environment, Ctrl-C) to `runCli`.
 * The first Ctrl-C stops the command cleanly (a wait says the batch goes on; a download can be
 * resumed); a second one exits at once.
 */
import { runCli } from './program.ts';

const interrupted = new AbortController();
process.on('SIGINT', () => {
  if (interrupted.signal.aborted) process.exit(130);
  interrupted.abort();
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  signal: interrupted.signal,
});
