/**
 * `synthforge config set | unset | show | use`: profiles of API URL and key, stored in the user's
 * configuration folder. SYNTHFORGE_API_URL, SYNTHFORGE_API_KEY and SYNTHFORGE_PROFILE override them.
 */
import { type Command, defineCommand } from '../command.ts';
import {
  checkProfileName,
  checkSetting,
  maskKey,
  PROFILE_SETTINGS,
  type ProfileSetting,
} from '../config-store.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { table } from '../format.ts';

const SETTING = {
  name: 'SETTING',
  description: `${PROFILE_SETTINGS.join(' or ')}`,
};

export const configCommands: Command[] = [
  defineCommand({
    words: ['config', 'set'],
    summary: 'Store a setting in a profile (the current one unless --profile names another).',
    details: [
      'VALUE - reads the value from stdin, which keeps an API key out of the shell history.',
      'The file is readable by its owner only.',
    ],
    positionals: [SETTING, { name: 'VALUE', description: 'the value; - reads stdin' }],
    examples: [
      'synthforge config set api_url http://127.0.0.1:8000',
      'printf %s "$KEY" | synthforge config set api_key -',
      'synthforge config set api_url https://abc.execute-api.eu-west-1.amazonaws.com/prod --profile prod',
    ],
    async run(ctx, { args: [setting = '', value = ''] }) {
      const name = settingName(setting);
      const stored = checkSetting(name, value === '-' ? await ctx.readStdin() : value);
      const config = await ctx.store.read();
      const { profile } = await ctx.settings();
      config.profiles[profile] = { ...config.profiles[profile], [name]: stored };
      await ctx.store.write(config);
      if (!ctx.json) ctx.out(`Set ${name} in profile ${profile} (${ctx.store.path}).`);
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['config', 'unset'],
    summary: 'Remove a setting from a profile.',
    positionals: [SETTING],
    async run(ctx, { args: [setting = ''] }) {
      const name = settingName(setting);
      const config = await ctx.store.read();
      const { profile } = await ctx.settings();
      const current = config.profiles[profile];
      if (current) {
        delete current[name];
        await ctx.store.write(config);
      }
      if (!ctx.json) ctx.out(`Removed ${name} from profile ${profile}.`);
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['config', 'use'],
    summary: 'Make a profile the current one.',
    positionals: [{ name: 'PROFILE', description: 'the profile to use from now on' }],
    async run(ctx, { args: [profile = ''] }) {
      const config = await ctx.store.read();
      checkProfileName(profile);
      if (!config.profiles[profile]) {
        throw new UsageError(
          `there is no profile ${JSON.stringify(profile)}; create it with synthforge config set api_url URL --profile ${profile}`,
        );
      }
      await ctx.store.write({ ...config, current_profile: profile });
      if (!ctx.json) ctx.out(`Now using profile ${profile}.`);
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['config', 'show'],
    summary: 'The settings in effect, where each comes from, and every profile (keys masked).',
    async run(ctx) {
      const config = await ctx.store.read();
      const settings = await ctx.settings();
      const key = settings.apiKey.value;
      const shown = {
        file: ctx.store.path,
        profile: settings.profile,
        api_url: { value: settings.apiUrl.value ?? null, source: settings.apiUrl.source },
        api_key: { value: key ? maskKey(key) : null, source: settings.apiKey.source },
        profiles: Object.fromEntries(
          Object.entries(config.profiles).map(([name, profile]) => [
            name,
            { api_url: profile.api_url ?? null, api_key: profile.api_key ? maskKey(profile.api_key) : null },
          ]),
        ),
        current_profile: config.current_profile,
      };
      ctx.result(shown, () => {
        const lines = [
          `config file: ${shown.file}`,
          `profile:     ${shown.profile}${settings.profileExists ? '' : ' (not in the file)'}`,
          `api_url:     ${shown.api_url.value ?? '(not set)'}  [${shown.api_url.source}]`,
          `api_key:     ${shown.api_key.value ?? '(not set)'}  [${shown.api_key.source}]`,
        ];
        const names = Object.keys(shown.profiles);
        if (names.length === 0) return lines.join('\n');
        const profiles = table(
          ['', 'PROFILE', 'API URL', 'API KEY'],
          names.map((name) => [
            name === config.current_profile ? '*' : '',
            name,
            shown.profiles[name]?.api_url ?? '',
            shown.profiles[name]?.api_key ?? '',
          ]),
        );
        return `${lines.join('\n')}\n\n${profiles}`;
      });
      return EXIT.ok;
    },
  }),
];

function settingName(setting: string): ProfileSetting {
  const normalised = setting.replace(/-/g, '_');
  if (!(PROFILE_SETTINGS as readonly string[]).includes(normalised)) {
    throw new UsageError(`unknown setting ${JSON.stringify(setting)}: use ${PROFILE_SETTINGS.join(' or ')}`);
  }
  return normalised as ProfileSetting;
}
