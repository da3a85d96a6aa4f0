import * as z from './zod.ts';

export const IsoDateTime = z.string().datetime({ offset: true });

export const Cursor = z
  .string()
  .min(1)
  .max(2048)
  .openapi({ description: 'opaque; the `next_cursor` of the previous page' });

export const Limit = z.coerce.number().int().min(1).max(100).default(20);

/** A time range in query parameters, as Infinity's `start_time` / `end_time` (ISO-8601 with zone). */
export const TimeRangeQuery = z.object({
  start_time: IsoDateTime.optional().openapi({ description: 'inclusive' }),
  end_time: IsoDateTime.optional().openapi({ description: 'exclusive' }),
});

/** Refinement for every query built on TimeRangeQuery: an empty or inverted range is a mistake. */
export const orderedTimeRange: [
  (range: { start_time?: string | undefined; end_time?: string | undefined }) => boolean,
  { message: string; path: string[] },
] = [
  (range) =>
    !range.start_time || !range.end_time || Date.parse(range.start_time) < Date.parse(range.end_time),
  { message: 'end_time must be after start_time', path: ['end_time'] },
];

/** A time range whose start, when both are given, comes before its end. */
export const OrderedTimeRangeQuery = TimeRangeQuery.refine(...orderedTimeRange);

export const IdempotencyKeyHeader = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
  .openapi({
    description:
      'Makes a submission safe to retry: the same key with the same body replays the first answer; with another body it is a 422; while the first is in flight it is a 409.',
  });
