/**
 * What a command works with: its streams and environment (injected, so that tests run the CLI in
 * process), the global options, the configuration, and a Manager built once from them.
 */
import type { Readable } from 'node:stream';
import { ApiClient } from '../api-client.ts';
import type { FetchFunction } from '../http.ts';
import { Manager } from '../manager.ts';
import { ConfigStore, configDirectory, type ResolvedSettings, resolveSettings } from './config-store.ts';
import { UsageError } from './exit-codes.ts';
import { ProgressDisplay, type ProgressStream } from './progress.ts';

/** The outside world of one CLI run. */
export interface CliIo {
  stdout: ProgressStream;
  stderr: ProgressStream;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C: waits and downloads stop at once. */
  signal: AbortSignal;
  /** Default: the platform's `fetch`. */
  fetch?: FetchFunction;
}

export interface GlobalValues {
  profile?: string | undefined;
  'api-url'?: string | undefined;
  json?: boolean | undefined;
}

export class CliContext {
  readonly io: CliIo;
  readonly store: ConfigStore;
  #globals: GlobalValues = {};
  #manager: Manager | undefined;

  constructor(io: CliIo) {
    this.io = io;
    this.store = new ConfigStore(configDirectory(io.env));
  }

  /** Records the global options of the command line (called once the command has parsed it). */
  configure(globals: GlobalValues): void {
    this.#globals = globals;
  }

  get json(): boolean {
    return this.#globals.json === true;
  }

  get signal(): AbortSignal {
    return this.io.signal;
  }

  /** A command's result, on stdout. */
  out(text: string): void {
    this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** A value as JSON on stdout (the `--json` output). */
  printJson(value: unknown): void {
    this.out(JSON.stringify(value, null, 2));
  }

  /** A command's result: as JSON with `--json`, else as `render` writes it for a person. */
  result<T>(value: T, render: (value: T) => string): void {
    if (this.json) this.printJson(value);
    else this.out(render(value));
  }

  /** A note for the person at the terminal, on stderr (never part of the result). */
  note(text: string): void {
    this.io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Progress on stderr: a bar on a terminal, plain lines otherwise. */
  progress(label: string): ProgressDisplay {
    return new ProgressDisplay(this.io.stderr, label);
  }

  /** The settings in effect and where each came from. */
  async settings(): Promise<ResolvedSettings> {
    return resolveSettings(
      await this.store.read(),
      { profile: this.#globals.profile, apiUrl: this.#globals['api-url'] },
      this.io.env,
    );
  }

  /** The Manager for the configured API; says how to configure it when the URL is missing. */
  async manager(): Promise<Manager> {
    if (this.#manager) return this.#manager;
    const settings = await this.settings();
    if (this.#globals.profile !== undefined && !settings.profileExists) {
      throw new UsageError(
        `there is no profile ${JSON.stringify(settings.profile)} in ${this.store.path}; create it with ` +
          `synthforge config set api_url URL --profile ${settings.profile}`,
      );
    }
    const baseUrl = settings.apiUrl.value;
    if (!baseUrl) {
      throw new UsageError('no API URL configured', [
        'Set one with:  synthforge config set api_url http://127.0.0.1:8000',
        'or for one command:  SYNTHFORGE_API_URL=... synthforge ...  (or --api-url URL)',
      ]);
    }
    let client: ApiClient;
    try {
      client = new ApiClient({
        baseUrl,
        ...(settings.apiKey.value ? { apiKey: settings.apiKey.value } : {}),
        ...(this.io.fetch ? { fetch: this.io.fetch } : {}),
      });
    } catch (error) {
      throw new UsageError(
        `the API URL from ${settings.apiUrl.source} is unusable: ${(error as Error).message}`,
      );
    }
    this.#manager = new Manager(client);
    return this.#manager;
  }

  /** Everything on stdin, for `--params -` and `config set api_key -`. */
  async readStdin(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.io.stdin) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks).toString('utf8');
  }
}
