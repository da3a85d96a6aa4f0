/**
 * `synthforge profiles list | show NAME | create NAME (--batch ID | --prefix PREFIX)`: seed 001's
 * profiles of an image set (colour means, brightness, contrast, resolution), which the shapes
 * generator and `/generate` take as `profile` to steer toward. `create` runs as a job and waits for
 * the profile.
 */
import type { ImageProfile } from '../../dataset-jobs.ts';
import { type Command, defineCommand } from '../command.ts';
import { DATASET_WAIT_OPTIONS, followDatasetJob, waitTimeoutOf } from '../dataset-jobs.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { fieldList, shortTime, table } from '../format.ts';

const NAME = {
  name: 'NAME',
  description: 'the profile: 1–64 lower-case letters, digits, _ or -',
};

export const profileCommands: Command[] = [
  defineCommand({
    words: ['profiles', 'list'],
    summary: 'Your profiles: name, images measured, creation time.',
    async run(ctx) {
      const { profiles } = await (await ctx.manager()).client.listProfiles({ signal: ctx.signal });
      ctx.result(profiles, () =>
        profiles.length === 0
          ? 'No profiles yet; create one with: synthforge profiles create NAME --batch ID'
          : table(
              ['NAME', 'IMAGES', 'CREATED', 'PATH'],
              profiles.map((profile) => [
                profile.name,
                String(profile.sample_count),
                shortTime(profile.created_at),
                profile.path,
              ]),
            ),
      );
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['profiles', 'show'],
    summary: "A profile's statistics: colour means, brightness, contrast and resolution.",
    positionals: [NAME],
    async run(ctx, { args: [name = ''] }) {
      const profile = await (await ctx.manager()).client.getProfile(name, { signal: ctx.signal });
      ctx.result(profile, describeProfile);
      return EXIT.ok;
    },
  }),
  defineCommand({
    words: ['profiles', 'create'],
    summary: "Compute a profile from a batch's images or a prefix of your data; waits for it.",
    details: [
      [
        'A profile of the same name is replaced (its creation time is kept). The work runs as a job;',
        'this command waits for it and prints the profile, unless --no-wait.',
      ].join('\n'),
    ],
    positionals: [NAME],
    options: {
      batch: { type: 'string', description: 'the batch whose images to measure', placeholder: 'ID' },
      prefix: {
        type: 'string',
        description: 'a prefix of your data instead (uploads/2026/, or an s3:// URI under your prefix)',
        placeholder: 'PREFIX',
      },
      ...DATASET_WAIT_OPTIONS,
    },
    examples: [
      'synthforge profiles create nature --batch 01JD3X2K8Q7YV4N6B5M9T0RWZC',
      'synthforge profiles create uploads_2026 --prefix uploads/2026/ --json',
    ],
    async run(ctx, { values, args: [name = ''] }) {
      if ((values.batch === undefined) === (values.prefix === undefined)) {
        throw new UsageError('give the images with either --batch ID or --prefix PREFIX');
      }
      const timeoutMs = waitTimeoutOf(values);
      const client = (await ctx.manager()).client;
      const source =
        values.batch !== undefined ? { batch_id: values.batch } : { s3_prefix: values.prefix ?? '' };
      const accepted = await client.createProfile({ name, source }, { signal: ctx.signal });
      const profile = await followDatasetJob(ctx, client, accepted, 'image-profile', {
        wait: !values['no-wait'],
        timeoutMs,
        what: `Profile ${name}`,
      });
      if (profile) ctx.result(profile, describeProfile);
      return EXIT.ok;
    },
  }),
];

/** Three decimals at most: enough for the 0–1 means and spreads, exact for a resolution. */
const round = (value: number) => String(Math.round(value * 1000) / 1000);

function describeProfile(profile: ImageProfile): string {
  const { statistics: stats, source } = profile;
  const spread = (std: number | undefined) => (std === undefined ? '' : ` ± ${round(std)}`);
  const colours = stats.color_distribution;
  return fieldList([
    ['name', profile.name],
    ['images', String(profile.sample_count)],
    ['source', source.batch_id ? `batch ${source.batch_id}` : source.s3_prefix],
    [
      'colour means',
      `red ${round(colours.red_mean)}, green ${round(colours.green_mean)}, blue ${round(colours.blue_mean)}`,
    ],
    ['brightness', `${round(stats.brightness_mean)}${spread(stats.brightness_std)}`],
    ['contrast', `${round(stats.contrast_mean)}${spread(stats.contrast_std)}`],
    ['resolution', `${round(stats.resolution.width_mean)}×${round(stats.resolution.height_mean)} (mean)`],
    ['created', shortTime(profile.created_at)],
    ['updated', shortTime(profile.updated_at)],
    ['path', profile.path],
  ]);
}
