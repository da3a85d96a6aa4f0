/**
 * The program around the commands: finding the command, help, and what each kind of failure prints
 * and exits with. The API is a scripted fetch here; the commands against the real platform are in
 * commands.test.ts.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXIT, exitCodeFor, UsageError, WaitTimedOut } from '../../src/cli/exit-codes.ts';
import { COMMANDS, splitCommandLine } from '../../src/cli/program.ts';
import { runInProcess } from '../support/cli.ts';

const API = { SYNTHFORGE_API_URL: 'http://api.test', SYNTHFORGE_API_KEY: 'sf_test_key_0123456789' };

function answering(status: number, body: unknown, headers: Record<string, string> = {}) {
  let calls = 0;
  const fetch = async () => {
    calls++;
    return new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', ...headers },
    });
  };
  return { fetch, calls: () => calls };
}

describe('help', () => {
  it('lists every command with its summary, and exits 2 when no command is given', async () => {
    // Act
    const bare = await runInProcess([]);
    const asked = await runInProcess(['--help']);

    // Assess
    expect(bare.code).toBe(EXIT.usage);
    expect(asked.code).toBe(EXIT.ok);
    for (const command of COMMANDS) expect(asked.stdout).toContain(command.words.join(' '));
    expect(asked.stdout).toMatch(/Exit status:[\s\S]*3\s+server or network error/);
    expect(bare.stderr).toBe(asked.stdout);
  });

  it('has a help page for every command, with its arguments and options', async () => {
    for (const command of COMMANDS) {
      // Act
      const viaFlag = await runInProcess([...command.words, '--help']);
      const viaHelp = await runInProcess(['help', ...command.words]);

      // Assess
      expect(viaFlag.code, command.words.join(' ')).toBe(EXIT.ok);
      expect(viaFlag.stdout).toMatch(new RegExp(`^Usage: synthforge ${command.words.join(' ')}`));
      expect(viaFlag.stdout).toContain(command.summary);
      for (const positional of command.positionals) expect(viaFlag.stdout).toContain(positional.name);
      for (const option of Object.keys(command.options)) expect(viaFlag.stdout).toContain(`--${option}`);
      expect(viaHelp.stdout).toBe(viaFlag.stdout);
    }
  });

  it('prints the version of the package', async () => {
    const { default: packageJson } = await import('../../package.json', { with: { type: 'json' } });
    expect((await runInProcess(['--version'])).stdout).toBe(`${packageJson.version}\n`);
  });
});

describe('command lines that are wrong', () => {
  it.each([
    [['batch', 'wat'], /unknown command: batch wat \(did you mean: synthforge batch wait\?\)/],
    [['bacth', 'list'], /unknown command: bacth list \(did you mean: synthforge batch list\?\)/],
    [['batch', 'status'], /missing ID/],
    [['batch', 'status', 'A', 'B'], /unexpected argument "B"/],
    [['jobs', 'list', '--colour'], /Unknown option '--colour'/],
    [
      ['jobs', 'list', '--status', 'done'],
      /--status must be one of pending, running, completed, failed, cancelled/,
    ],
    [['batch', 'submit', '-g', 'shapes'], /exactly one of --params FILE and --random N/],
    [['batch', 'wait', '01JD3X2K8Q7YV4N6B5M9T0RWZC', '--timeout', 'soon'], /--timeout takes a duration/],
  ])('%j exits 2 with a message and sends nothing', async (argv, message) => {
    // Prepare
    const api = answering(200, {});

    // Act
    const run = await runInProcess(argv, { env: API, fetch: api.fetch });

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
    expect(api.calls()).toBe(0);
  });

  it('takes global options before the command as well as after it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...COMMANDS), fc.boolean(), (command, before) => {
        const globals = ['--profile', 'lab', '--json'];
        const argv = before ? [...globals, ...command.words, 'ARG'] : [...command.words, 'ARG', ...globals];
        const { words, rest } = splitCommandLine(argv);
        expect(words).toEqual(command.words);
        expect(rest.sort()).toEqual(['ARG', ...globals].sort());
      }),
    );
  });

  it('says how to configure the API when no URL is set', async () => {
    const run = await runInProcess(['batch', 'list'], { env: {} });
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain('synthforge config set api_url');
  });
});

describe('the configuration of whoever runs the tests', () => {
  let home: string | undefined;
  afterEach(async () => {
    vi.unstubAllEnvs();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('is never read: a configured ~/.config/synthforge changes no answer', async () => {
    // Prepare: a home folder as the README's `synthforge config set api_url …` leaves it.
    home = await mkdtemp(join(tmpdir(), 'synthforge-home-'));
    await mkdir(join(home, '.config', 'synthforge'), { recursive: true });
    await writeFile(
      join(home, '.config', 'synthforge', 'config.json'),
      JSON.stringify({
        current_profile: 'default',
        profiles: { default: { api_url: 'http://127.0.0.1:9' } },
      }),
    );
    vi.stubEnv('HOME', home);

    // Act
    const run = await runInProcess(['batch', 'list'], { env: {} });

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain('synthforge config set api_url');
  });
});

describe("the CLI's own failures", () => {
  it('exit with their own status: 2 for a mistake, 4 for a wait that timed out', () => {
    expect(exitCodeFor(new UsageError('wrong'))).toBe(EXIT.usage);
    expect(exitCodeFor(new WaitTimedOut('too long', ['look again']))).toBe(EXIT.timedOut);
  });
});

describe('failures of the API', () => {
  it('exits 2 for a request the server refuses as wrong, with its code, details and request id', async () => {
    // Prepare
    const api = answering(
      404,
      { error: { code: 'NOT_FOUND', message: 'batch "X" was not found', details: { batch: 'X' } } },
      { 'x-request-id': 'req-123' },
    );

    // Act
    const run = await runInProcess(['batch', 'status', '01JD3X2K8Q7YV4N6B5M9T0RWZC'], {
      env: API,
      fetch: api.fetch,
    });

    // Assess
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain('error: batch "X" was not found (HTTP 404, NOT_FOUND, request id req-123)');
    expect(run.stderr).toContain('batch: X');
  });

  it('exits 3 when the server keeps failing, after retrying', async () => {
    // Prepare
    const api = answering(503, { error: { code: 'UNAVAILABLE', message: 'try later' } });

    // Act
    const run = await runInProcess(['jobs', 'list'], {
      env: API,
      fetch: api.fetch,
    });

    // Assess
    expect(run.code).toBe(EXIT.unavailable);
    expect(api.calls()).toBeGreaterThan(1);
    expect(run.stderr).toMatch(/HTTP 503, UNAVAILABLE, after \d attempts/);
  });

  it('exits 3 when nothing answers, and reports the error as JSON with --json', async () => {
    // Prepare
    const fetch = async () => {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      });
    };

    // Act
    const run = await runInProcess(['health', '--json'], { env: API, fetch });

    // Assess
    expect(run.code).toBe(EXIT.unavailable);
    expect(run.stdout).toBe('');
    const printed = JSON.parse(run.stderr) as { error: { code: string; exit_code: number; message: string } };
    expect(printed.error).toMatchObject({ code: 'NETWORK', exit_code: EXIT.unavailable });
    expect(printed.error.message).toContain('http://api.test/health');
  });

  it('exits 130 when interrupted', async () => {
    // Prepare
    const controller = new AbortController();
    const fetch = (_: unknown, init?: RequestInit) =>
      new Promise<Response>((_, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
        controller.abort();
      });

    // Act
    const run = await runInProcess(['jobs', 'list'], { env: API, fetch, signal: controller.signal });

    // Assess
    expect(run.code).toBe(EXIT.interrupted);
    expect(run.stderr).toContain('interrupted');
  });
});
