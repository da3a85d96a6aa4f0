/**
 * The CLI's configuration: named profiles (an API URL and key each) in the user's configuration
 * folder, overridden by the environment and by flags. The file holds API keys, so it is written
 * readable by its owner only, and replaced atomically so that a crash never leaves half a file.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './exit-codes.ts';

/** The settings of one profile. */
export interface Profile {
  api_url?: string;
  api_key?: string;
}
export const PROFILE_SETTINGS = ['api_url', 'api_key'] as const satisfies readonly (keyof Profile)[];
export type ProfileSetting = (typeof PROFILE_SETTINGS)[number];

export interface ConfigFile {
  /** The profile used when none is named. */
  current_profile: string;
  profiles: Record<string, Profile>;
}

export const DEFAULT_PROFILE = 'default';
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Where the configuration lives: SYNTHFORGE_CONFIG_DIR, else the platform's user config folder. */
export function configDirectory(env: NodeJS.ProcessEnv, platform = process.platform): string {
  if (env.SYNTHFORGE_CONFIG_DIR) return env.SYNTHFORGE_CONFIG_DIR;
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'synthforge');
  if (platform === 'darwin' && !env.XDG_CONFIG_HOME) {
    return join(homedir(), 'Library', 'Application Support', 'synthforge');
  }
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'synthforge');
}

export class ConfigStore {
  readonly path: string;

  constructor(readonly directory: string) {
    this.path = join(directory, 'config.json');
  }

  async read(): Promise<ConfigFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return { current_profile: DEFAULT_PROFILE, profiles: {} };
      }
      throw error;
    }
    return parseConfigFile(text, this.path);
  }

  async write(config: ConfigFile): Promise<void> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    const staging = `${this.path}.${process.pid}.tmp`;
    await writeFile(staging, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    // writeFile's mode applies only when it creates the file; a leftover staging file keeps its own.
    await chmod(staging, 0o600);
    await rename(staging, this.path);
  }
}

/** Reads a configuration file, saying exactly what is wrong with a hand-edited one. */
export function parseConfigFile(text: string, path: string): ConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const invalid = (why: string) => new UsageError(`${path}: ${why}`);
  if (!isRecord(raw)) throw invalid('expected a JSON object');
  const current = raw.current_profile ?? DEFAULT_PROFILE;
  if (typeof current !== 'string' || !PROFILE_NAME.test(current)) {
    throw invalid('current_profile must be a profile name');
  }
  const profiles: Record<string, Profile> = {};
  const rawProfiles = raw.profiles ?? {};
  if (!isRecord(rawProfiles)) throw invalid('profiles must be an object');
  for (const [name, value] of Object.entries(rawProfiles)) {
    if (!PROFILE_NAME.test(name)) throw invalid(`${JSON.stringify(name)} is not a valid profile name`);
    if (!isRecord(value)) throw invalid(`profile ${name} must be an object`);
    const profile: Profile = {};
    for (const setting of PROFILE_SETTINGS) {
      const settingValue = value[setting];
      if (settingValue === undefined) continue;
      if (typeof settingValue !== 'string') throw invalid(`profiles.${name}.${setting} must be a string`);
      profile[setting] = settingValue;
    }
    profiles[name] = profile;
  }
  return { current_profile: current, profiles };
}

/** Checks a profile name given on the command line. */
export function checkProfileName(name: string): string {
  if (!PROFILE_NAME.test(name)) {
    throw new UsageError(
      `${JSON.stringify(name)} is not a valid profile name (letters, digits, '.', '_' and '-', at most 64)`,
    );
  }
  return name;
}

/** Checks a value before it is stored, so that a typo is caught when it is made, not when it is used. */
export function checkSetting(setting: ProfileSetting, value: string): string {
  const trimmed = value.trim();
  if (setting === 'api_url') {
    const url = URL.canParse(trimmed) ? new URL(trimmed) : undefined;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new UsageError(`api_url must be an http(s) URL, got ${JSON.stringify(value)}`);
    }
    return trimmed.replace(/\/+$/, '');
  }
  if (trimmed === '' || /\s/.test(trimmed)) throw new UsageError('api_key must be one word, not empty');
  return trimmed;
}

/** Where a setting in effect came from. */
export type SettingSource = 'flag' | 'env' | 'profile' | 'unset';

export interface ResolvedSettings {
  profile: string;
  /** Whether the profile exists in the file. */
  profileExists: boolean;
  apiUrl: { value: string | undefined; source: SettingSource };
  apiKey: { value: string | undefined; source: SettingSource };
}

/** The settings in effect: flags over environment over the profile. */
export function resolveSettings(
  config: ConfigFile,
  flags: { profile?: string | undefined; apiUrl?: string | undefined },
  env: NodeJS.ProcessEnv,
): ResolvedSettings {
  const profileName = checkProfileName(flags.profile ?? (env.SYNTHFORGE_PROFILE || config.current_profile));
  const profile = config.profiles[profileName];
  const pick = (flag: string | undefined, envValue: string | undefined, stored: string | undefined) =>
    flag !== undefined
      ? { value: flag, source: 'flag' as const }
      : envValue
        ? { value: envValue, source: 'env' as const }
        : stored !== undefined
          ? { value: stored, source: 'profile' as const }
          : { value: undefined, source: 'unset' as const };
  return {
    profile: profileName,
    profileExists: profile !== undefined,
    apiUrl: pick(flags.apiUrl, env.SYNTHFORGE_API_URL, profile?.api_url),
    apiKey: pick(undefined, env.SYNTHFORGE_API_KEY, profile?.api_key),
  };
}

/** A key shown without giving it away: its prefix and last four characters. */
export function maskKey(key: string): string {
  if (key.length <= 12) return '****';
  const prefix = key.match(/^[a-z]+_/)?.[0] ?? '';
  return `${prefix}…${key.slice(-4)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
