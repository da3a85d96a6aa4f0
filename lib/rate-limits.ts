/**
 * Seed 001's per-minute limits in the stack. API Gateway's usage plan throttles per second only, so
 * the functions count requests themselves, in the state table (lambdas/domain/rate-limits.ts): every
 * function that serves a route of a group (contracts/rate-limits.ts) gets the stage's limits and may
 * update the table. Derived from the route table, so a route added to a group later is covered by
 * whichever function serves it.
 */
import { rateLimitGroupOf } from '../contracts/rate-limits.ts';
import type { RateLimits } from '../lambdas/domain/rate-limits.ts';
import type { ApiRoute, RouteFamily } from './api-routes.ts';
import type { RateLimitsConfig } from './config.ts';
import type { Data } from './constructs/data.ts';
import type { SynthForgeFunction } from './constructs/synthforge-function.ts';

/** The variable the functions read their limits from (lambdas/runtime/env.ts `rateLimitsFrom`). */
export const RATE_LIMITS_VARIABLE = 'RATE_LIMITS';

/** A stage's `rateLimits` as the functions read them: requests per minute by group. */
export function rateLimitsOf(config: RateLimitsConfig): RateLimits {
  return {
    generation: config.generationPerMinute,
    validation: config.validationPerMinute,
    export: config.exportPerMinute,
  };
}

/**
 * Gives each function that serves a rate-limited route the limits and the one write its counter
 * needs (UpdateItem on the state table); returns those functions.
 */
export function limitRouteHandlers(
  handlers: Readonly<Partial<Record<RouteFamily, SynthForgeFunction>>>,
  routes: readonly ApiRoute[],
  data: Data,
  config: RateLimitsConfig,
): SynthForgeFunction[] {
  const limitedFamilies = new Set(
    routes.filter((route) => rateLimitGroupOf(route.operationId) !== undefined).map((route) => route.family),
  );
  const functions = [...new Set([...limitedFamilies].flatMap((family) => handlers[family] ?? []))];
  limitFunctions(functions, data, config);
  return functions;
}

/**
 * Gives `functions` the limits and the counter's write: the route handlers above, and the WebSocket
 * function whose `generate` messages count as generation requests.
 */
export function limitFunctions(
  functions: readonly SynthForgeFunction[],
  data: Data,
  config: RateLimitsConfig,
): void {
  const limits = JSON.stringify(rateLimitsOf(config));
  for (const fn of functions) {
    fn.addEnvironment(RATE_LIMITS_VARIABLE, limits);
    allowCounting(fn, data);
  }
}

/**
 * The counter's UpdateItem, unless the function's state-table grant has it already (the functions
 * that submit jobs do). A function that reads the table but never writes it gets it in statements of
 * their own, since its one `StateTable` statement cannot be widened from here.
 */
function allowCounting(fn: SynthForgeFunction, data: Data): void {
  const statements = (fn.accessPolicy?.document.toJSON()?.Statement ?? []) as {
    Sid?: string;
    Action?: string | string[];
  }[];
  const stateTable = statements.find((statement) => statement.Sid === 'StateTable');
  if (!stateTable) {
    data.allowStateTable(fn, ['dynamodb:UpdateItem']);
    return;
  }
  if ([stateTable.Action ?? []].flat().includes('dynamodb:UpdateItem')) return;
  fn.allow({
    sid: 'RateLimitCounters',
    actions: ['dynamodb:UpdateItem'],
    resources: [data.stateTable.tableArn],
  });
  fn.allow({
    sid: 'RateLimitCountersKey',
    actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
    resources: [data.tableKey.keyArn],
    conditions: {
      StringEquals: { 'kms:ViaService': `dynamodb.${data.stateTable.stack.region}.amazonaws.com` },
    },
  });
}
