/**
 * The `profile` parameter of `shapes`: every frame of a scenes job is steered toward an image
 * profile's statistics (colour means, brightness, RMS contrast; validation/steer.ts) after it is
 * rendered and before it is encoded. Steering only maps colours, so boxes, areas and outlines are
 * those of the unsteered frame.
 *
 * Infinity's parameter format has scalar types only, so the parameter is declared as a string, the
 * profile's name, and lists like any other. The platform resolves the name when a job is stored and
 * stores the value as `{name, statistics}` (statistics as GET /api/v1/profiles/{name} shows them);
 * that form is accepted too, so params.json reruns a job with the statistics it was rendered with
 * even after the profile is computed again. A name that reaches the renderer unresolved fails the
 * job rather than render frames that ignore it.
 */
import type { ParameterSpec, ParamViolation } from '../../../../contracts/generators.ts';
import { type SteeringTarget, steeringTarget, steerTowardProfile } from '../../validation/steer.ts';

/**
 * Frames are steered all the way: a batch then has the profile's statistics on average, while
 * each frame keeps its own structure. Frames lose the spread of brightness between them, which
 * the profile's means do not describe.
 */
export const PROFILE_STRENGTH = 1;

export const PROFILE_PARAMETER: ParameterSpec = {
  // No choices and no range: random parameters keep the default (none) unless a profile is given.
  name: 'profile',
  type: 'str',
  default_value: '',
  description:
    'Name of an image profile (GET /api/v1/profiles) to steer every frame toward: after rendering, each ' +
    "frame's colour means, brightness and RMS contrast are moved to the profile's (a colour transfer after " +
    'Reinhard et al., 2001); annotations do not change. Empty for none. The job stores the name resolved ' +
    'into {"name", "statistics"}, which is accepted as the value too, so that params.json reruns the job ' +
    'with the same statistics. Random parameters keep this value unless it is given. For scenes only.',
};

/** The parameter as the renderer reads it. */
export interface ShapesProfile {
  name: string;
  /** Absent while the value is a name that the platform has not resolved into statistics. */
  target: SteeringTarget | undefined;
}

const TARGET_FIELDS = [
  ['color_distribution', 'red_mean'],
  ['color_distribution', 'green_mean'],
  ['color_distribution', 'blue_mean'],
  ['brightness_mean'],
  ['contrast_mean'],
] as const;

const CONSTRAINT =
  'a profile name, or {name, statistics} with statistics.color_distribution.red_mean, green_mean, ' +
  'blue_mean, statistics.brightness_mean and statistics.contrast_mean in [0, 1]';

/** The value's problem, if any: it replaces the string check, which would refuse the resolved form. */
export function checkProfile(value: unknown): ParamViolation | undefined {
  if (typeof value === 'string') return undefined;
  if (!isRecord(value)) return violation('type', value, `got ${describe(value)}`);
  if (typeof value.name !== 'string' || value.name === '') {
    return violation('type', value, `profile.name must be a non-empty string, got ${describe(value.name)}`);
  }
  const statistics = value.statistics;
  if (!isRecord(statistics) || !isRecord(statistics.color_distribution)) {
    return violation('type', value, 'profile.statistics must be an object with a color_distribution object');
  }
  for (const path of TARGET_FIELDS) {
    const field = fieldAt(statistics, path);
    const name = `profile.statistics.${path.join('.')}`;
    if (typeof field !== 'number' || !Number.isFinite(field)) {
      return violation('type', value, `${name} must be a number, got ${describe(field)}`);
    }
    if (field < 0 || field > 1) return violation('range', value, `${name} must be in [0, 1], got ${field}`);
  }
  return undefined;
}

/** A valid value as the renderer uses it; undefined for none (the empty default, or a job stored before it existed). */
export function readProfile(value: unknown): ShapesProfile | undefined {
  if (value === undefined || value === '') return undefined;
  if (checkProfile(value) !== undefined) throw new TypeError(`profile must be ${CONSTRAINT}`);
  if (typeof value === 'string') return { name: value, target: undefined };
  const { name, statistics } = value as { name: string; statistics: Parameters<typeof steeringTarget>[0] };
  return { name, target: steeringTarget(statistics) };
}

/** A rendered frame's colours steered toward the profile (a new array; the frame's is left as it was). */
export function steerFrame(
  rgb: Uint8Array,
  width: number,
  height: number,
  profile: ShapesProfile,
): Uint8Array {
  if (!profile.target) {
    throw new Error(
      `profile ${JSON.stringify(profile.name)} was not resolved into its statistics before the job was stored`,
    );
  }
  const steered = steerTowardProfile(
    { width, height, channels: 3, data: rgb },
    profile.target,
    PROFILE_STRENGTH,
  );
  return steered.data as Uint8Array;
}

function fieldAt(record: Record<string, unknown>, path: readonly string[]): unknown {
  let current: unknown = record;
  for (const key of path)
    current = isRecord(current) && Object.hasOwn(current, key) ? current[key] : undefined;
  return current;
}

function violation(kind: ParamViolation['kind'], value: unknown, detail: string): ParamViolation {
  return {
    parameter: 'profile',
    kind,
    value,
    constraint: CONSTRAINT,
    message: `profile must be ${CONSTRAINT}; ${detail}`,
  };
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = String(JSON.stringify(value));
  return `${text.length > 60 ? `${text.slice(0, 60)}…` : text} (a ${typeof value})`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
