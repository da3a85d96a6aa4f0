/**
 * Seed 001's per-minute rate limits by kind of request ("10 requests per minute for image
 * generation, 20 for validation, 5 for export operations"): which route counts against which
 * limit. Free of zod, so that the HTTP layer, the stack and the domain read it without loading the
 * schema library.
 */

/** The limits of seed 001, each a number of requests per minute per tenant. */
export const RATE_LIMIT_GROUPS = ['generation', 'validation', 'export'] as const;
export type RateLimitGroup = (typeof RATE_LIMIT_GROUPS)[number];

/**
 * The group of each rate-limited route, by its operationId in contracts/routes.ts. Keyed by plain
 * strings rather than by the route table's names: the validation and export routes are named here
 * before they are in the table, and test/contracts/rate-limits.test.ts checks every name that is in
 * it (a name not there yet limits nothing until its route exists).
 */
export const RATE_LIMIT_GROUP_OF_ROUTE: Readonly<Record<string, RateLimitGroup>> = {
  generateImage: 'generation',
  generateImageBatch: 'generation',
  validateImageQuality: 'validation',
  validateImagePrivacy: 'validation',
  validateImageBatch: 'validation',
  exportJsonl: 'export',
  exportS3: 'export',
};

/** The group a route counts against, or undefined for a route without a per-minute limit. */
export function rateLimitGroupOf(operationId: string): RateLimitGroup | undefined {
  return Object.hasOwn(RATE_LIMIT_GROUP_OF_ROUTE, operationId)
    ? RATE_LIMIT_GROUP_OF_ROUTE[operationId]
    : undefined;
}
