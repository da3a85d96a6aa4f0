import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigStore,
  configDirectory,
  maskKey,
  parseConfigFile,
  resolveSettings,
} from '../../src/cli/config-store.ts';
import { UsageError } from '../../src/cli/exit-codes.ts';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'synthforge-config-'));
  dirs.push(dir);
  return dir;
}

describe('resolveSettings', () => {
  const config = {
    current_profile: 'default',
    profiles: {
      default: { api_url: 'http://profile.default', api_key: 'sf_default' },
      prod: { api_url: 'https://profile.prod', api_key: 'sf_prod' },
    },
  };

  it('takes the flag over the environment over the profile, for any combination present', () => {
    const maybe = (value: string) => fc.option(fc.constant(value), { nil: undefined });
    fc.assert(
      fc.property(
        maybe('http://flag'),
        maybe('http://env'),
        maybe('sf_env'),
        fc.constantFrom(undefined, 'prod', 'default'),
        (flagUrl, envUrl, envKey, profileFlag) => {
          // Act
          const settings = resolveSettings(
            config,
            { apiUrl: flagUrl, profile: profileFlag },
            { SYNTHFORGE_API_URL: envUrl, SYNTHFORGE_API_KEY: envKey },
          );

          // Assess
          const profile = config.profiles[profileFlag ?? 'default'];
          expect(settings.apiUrl.value).toBe(flagUrl ?? envUrl ?? profile.api_url);
          expect(settings.apiUrl.source).toBe(flagUrl ? 'flag' : envUrl ? 'env' : 'profile');
          expect(settings.apiKey.value).toBe(envKey ?? profile.api_key);
        },
      ),
    );
  });

  it('picks the profile from --profile, then SYNTHFORGE_PROFILE, then the current one', () => {
    expect(resolveSettings(config, {}, {}).profile).toBe('default');
    expect(resolveSettings(config, {}, { SYNTHFORGE_PROFILE: 'prod' }).apiUrl.value).toBe(
      'https://profile.prod',
    );
    expect(resolveSettings(config, { profile: 'default' }, { SYNTHFORGE_PROFILE: 'prod' }).profile).toBe(
      'default',
    );
  });
});

describe('ConfigStore', () => {
  it('writes a file only its owner can read, and reads back what it wrote', async () => {
    // Prepare
    const store = new ConfigStore(join(await tempDir(), 'nested', 'synthforge'));
    const config = {
      current_profile: 'lab',
      profiles: { lab: { api_url: 'http://x', api_key: 'sf_secret' } },
    };

    // Act
    await store.write(config);

    // Assess
    expect(await store.read()).toEqual(config);
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);
    expect((await stat(store.directory)).mode & 0o777).toBe(0o700);
  });

  it('reads a missing file as no profiles, and says what is wrong with a broken one', async () => {
    // Prepare
    const store = new ConfigStore(await tempDir());

    // Act & Assess
    expect(await store.read()).toEqual({ current_profile: 'default', profiles: {} });
    await writeFile(store.path, '{"profiles": {"x": {"api_url": 42}}}');
    await expect(store.read()).rejects.toThrow(/profiles\.x\.api_url must be a string/);
    await writeFile(store.path, '{not json');
    await expect(store.read()).rejects.toThrow(UsageError);
    expect(() => parseConfigFile('{"profiles": {"../etc": {}}}', 'f')).toThrow(/not a valid profile name/);
    expect((await readFile(store.path, 'utf8')).startsWith('{not')).toBe(true);
  });

  it('lives in SYNTHFORGE_CONFIG_DIR, else XDG_CONFIG_HOME, else the platform folder', () => {
    expect(configDirectory({ SYNTHFORGE_CONFIG_DIR: '/c' }, 'linux')).toBe('/c');
    expect(configDirectory({ XDG_CONFIG_HOME: '/x' }, 'linux')).toBe(join('/x', 'synthforge'));
    expect(configDirectory({ APPDATA: 'C:\\Users\\a\\AppData\\Roaming' }, 'win32')).toMatch(/synthforge$/);
  });
});

describe('maskKey', () => {
  it('never shows more than the prefix and the last four characters', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 13, maxLength: 60 }), (secret) => {
        const key = `sf_${secret}`;
        const masked = maskKey(key);
        expect(masked).toBe(`sf_…${key.slice(-4)}`);
        expect(masked.length).toBeLessThan(key.length);
      }),
    );
    expect(maskKey('short')).toBe('****');
  });
});
