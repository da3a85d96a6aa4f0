/**
 * Which routes count against seed 001's per-minute limits, checked against the route table. A name
 * the map holds but the table does not (yet) is left out of these checks: the validation and export
 * routes are named in the map before their routes exist, and are checked once they do.
 */
import { describe, expect, it } from 'vitest';
import {
  RATE_LIMIT_GROUP_OF_ROUTE,
  RATE_LIMIT_GROUPS,
  rateLimitGroupOf,
} from '../../contracts/rate-limits.ts';
import { ROUTE_LIST, streamsResponse } from '../../contracts/routes.ts';

const byOperation = new Map(ROUTE_LIST.map((route) => [route.operationId, route]));
const limitedInTable = Object.entries(RATE_LIMIT_GROUP_OF_ROUTE).filter(([operationId]) =>
  byOperation.has(operationId),
);

describe('RATE_LIMIT_GROUP_OF_ROUTE', () => {
  it('puts seed 001’s two generation routes in the generation group', () => {
    expect(rateLimitGroupOf('generateImage')).toBe('generation');
    expect(rateLimitGroupOf('generateImageBatch')).toBe('generation');
    expect(byOperation.has('generateImage') && byOperation.has('generateImageBatch')).toBe(true);
  });

  it('names the validation and export routes, each in its group', () => {
    expect(Object.fromEntries(RATE_LIMIT_GROUPS.map((group) => [group, namesIn(group)]))).toEqual({
      generation: ['generateImage', 'generateImageBatch'],
      validation: ['validateImageBatch', 'validateImagePrivacy', 'validateImageQuality'],
      export: ['exportJsonl', 'exportS3'],
    });
  });

  it('limits, of the routes in the table, only authenticated ones answered as JSON by the API handler', () => {
    for (const [operationId] of limitedInTable) {
      const route = byOperation.get(operationId);
      expect(route?.auth, operationId).toBe(true);
      // The streaming handler counts nothing: a limited route must not stream.
      expect(route && streamsResponse(route), operationId).toBe(false);
    }
  });

  it('limits no other route, and nothing for a name that only an object’s prototype has', () => {
    const limited = new Set(Object.keys(RATE_LIMIT_GROUP_OF_ROUTE));
    for (const route of ROUTE_LIST.filter((r) => !limited.has(r.operationId)))
      expect(rateLimitGroupOf(route.operationId), route.operationId).toBeUndefined();
    expect(rateLimitGroupOf('toString')).toBeUndefined();
    expect(rateLimitGroupOf('__proto__')).toBeUndefined();
  });
});

function namesIn(group: string): string[] {
  return Object.entries(RATE_LIMIT_GROUP_OF_ROUTE)
    .filter(([, of]) => of === group)
    .map(([operationId]) => operationId)
    .sort();
}
