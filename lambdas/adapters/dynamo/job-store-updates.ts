/**
 * The job store's update expressions: what a transition and an update write, and the conditions
 * each write holds to. Every write that can race is one conditional UpdateItem (job-store.ts).
 */
import { TERMINAL_STATUSES } from '../../../contracts/vocabulary.ts';
// What a patch may set (one entry per field of JobPatch): anything else a caller slips in (status,
// tenant, keys) is never written.
import { type JobPatch, type JobStatus, PATCHABLE_FIELDS } from '../../domain/jobs/model.ts';
import type { ExpressionAttributes } from './expressions.ts';

/** The SET clauses and conditions of one conditional UpdateItem. */
export interface JobWrite {
  assignments: string[];
  conditions: string[];
}

/**
 * A transition to `to` from one of `sources`: the new status, the one it moved from, the version,
 * the time, and the patch (with `startedAt` and `finishedAt` when the move starts or ends the job).
 */
export function transitionWrite(
  attributes: ExpressionAttributes,
  move: { to: JobStatus; sources: readonly JobStatus[]; starts: boolean; ends: boolean; now: string },
  patch: JobPatch,
): JobWrite {
  const fields: JobPatch = { ...patch };
  if (move.starts) fields.startedAt ??= move.now;
  if (move.ends) fields.finishedAt ??= move.now;
  const status = attributes.name('status');
  const allowed = move.sources.map((source) => attributes.value(source)).join(', ');
  return {
    assignments: [
      `${status} = ${attributes.value(move.to)}`,
      // SET reads the item as it was before the update, so this keeps the status we moved away from.
      `${attributes.name('previousStatus')} = ${status}`,
      ...stamp(attributes, move.now),
      ...patchAssignments(fields, attributes),
    ],
    conditions: [`${status} IN (${allowed})`],
  };
}

/**
 * An update of fields other than the status: applies to a job that has not ended, or only in
 * `whenStatus`; with `expectedVersion`, only at that version. Progress never goes back, even when
 * two attempts at one job overlap.
 */
export function updateWrite(
  attributes: ExpressionAttributes,
  now: string,
  patch: JobPatch,
  options: { expectedVersion?: number; whenStatus?: JobStatus },
): JobWrite {
  const status = attributes.name('status');
  return {
    assignments: [...stamp(attributes, now), ...patchAssignments(patch, attributes)],
    conditions: [
      options.whenStatus === undefined
        ? notTerminal(attributes)
        : `${status} = ${attributes.value(options.whenStatus)}`,
      ...(options.expectedVersion === undefined
        ? []
        : [`${attributes.name('version')} = ${attributes.value(options.expectedVersion)}`]),
      ...(patch.progress === undefined ? [] : [progressDoesNotDrop(attributes, patch.progress)]),
    ],
  };
}

/** The job has not ended. */
export function notTerminal(attributes: ExpressionAttributes): string {
  const statuses = TERMINAL_STATUSES.map((status) => attributes.value(status)).join(', ');
  return `NOT (${attributes.name('status')} IN (${statuses}))`;
}

/** Every write increments the version and sets the time of the change. */
function stamp(attributes: ExpressionAttributes, now: string): string[] {
  const version = attributes.name('version');
  return [
    `${version} = ${version} + ${attributes.value(1)}`,
    `${attributes.name('updatedAt')} = ${attributes.value(now)}`,
  ];
}

function patchAssignments(patch: JobPatch, attributes: ExpressionAttributes): string[] {
  return PATCHABLE_FIELDS.filter((field) => patch[field] !== undefined).map(
    (field) => `${attributes.name(field)} = ${attributes.value(patch[field])}`,
  );
}

function progressDoesNotDrop(attributes: ExpressionAttributes, progress: number): string {
  const name = attributes.name('progress');
  return `(attribute_not_exists(${name}) OR ${name} <= ${attributes.value(progress)})`;
}
