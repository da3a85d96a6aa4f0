/**
 * What a client sends on the generation socket, parsed with the contract (contracts/websocket.ts)
 * and handed to the socket: property tests of the parser, with `subscribe` in detail. Whatever
 * arrives, exactly one thing happens (the message is served, or refused with the REST vocabulary),
 * and a refused message reaches no handler.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_SUBSCRIBE_JOB_IDS } from '../../../../contracts/websocket.ts';
import { DomainError } from '../../../../lambdas/domain/errors.ts';
import {
  type MessageReceiver,
  receiveMessage,
} from '../../../../lambdas/domain/websocket/client-messages.ts';
import type { SocketCaller } from '../../../../lambdas/domain/websocket/service.ts';

/** Fixed so that a failure can be replayed; override with FC_SEED=<n>. */
const SEED = Number(process.env.FC_SEED ?? 20_261_010);
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const caller: SocketCaller = { tenant: 't', connectionId: 'c0000000000000=' };

type Call =
  | { method: 'subscribe'; jobIds: readonly string[]; requestId: string | undefined }
  | { method: 'generate' | 'ping'; requestId: string | undefined }
  | { method: 'refuse'; error: unknown; requestId: string | undefined };

/** A socket that only records what it is asked to do. */
function recordingSocket(): { socket: MessageReceiver; calls: Call[] } {
  const calls: Call[] = [];
  const socket: MessageReceiver = {
    subscribe: async (_caller, jobIds, requestId) => {
      calls.push({ method: 'subscribe', jobIds, requestId });
    },
    generate: async (_caller, _request, requestId) => {
      calls.push({ method: 'generate', requestId });
    },
    ping: async (_caller, requestId) => {
      calls.push({ method: 'ping', requestId });
    },
    refuse: async (_caller, error, requestId) => {
      calls.push({ method: 'refuse', error, requestId });
    },
  };
  return { socket, calls };
}

async function receive(message: unknown): Promise<Call[]> {
  const { socket, calls } = recordingSocket();
  await receiveMessage(socket, caller, typeof message === 'string' ? message : JSON.stringify(message));
  return calls;
}

/** The one refusal a message got: its error, as a DomainError, and the request id it echoes. */
function refusalOf(calls: Call[]): { error: DomainError; requestId: string | undefined } {
  expect(calls).toHaveLength(1);
  const [call] = calls;
  if (call?.method !== 'refuse') throw new Error(`not refused: ${JSON.stringify(calls)}`);
  expect(call.error).toBeInstanceOf(DomainError);
  return { error: call.error as DomainError, requestId: call.requestId };
}

const jobId = fc.string({ minLength: 26, maxLength: 26, unit: fc.constantFrom(...CROCKFORD) });
const requestId = fc.string({ minLength: 1, maxLength: 64 });
/** Up to the maximum, repeats included (a client may name a job twice). */
const jobIds = fc
  .array(jobId, { minLength: 1, maxLength: 20 })
  .chain((distinct) =>
    fc.array(fc.constantFrom(...distinct), { minLength: 1, maxLength: MAX_SUBSCRIBE_JOB_IDS }),
  );
/** Anything that is not a job id: 26 Crockford characters and nothing else is. */
const notAJobId = fc.oneof(
  fc.string().filter((text) => !/^[0-9A-HJKMNP-TV-Z]{26}$/.test(text)),
  jobId.map((id) => id.toLowerCase()).filter((id) => /[a-z]/.test(id)),
  jobId.map((id) => `${id.slice(0, 25)}U`),
  fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.object(), fc.array(jobId, { maxLength: 2 })),
);

describe('receiveMessage: subscribe', () => {
  it('hands every valid subscribe to the socket once, with each id once in the order first given (500 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(jobIds, fc.option(requestId, { nil: undefined }), async (ids, id) => {
        // Act
        const calls = await receive({ type: 'subscribe', job_ids: ids, ...(id ? { request_id: id } : {}) });

        // Assess
        expect(calls).toEqual([{ method: 'subscribe', jobIds: [...new Set(ids)], requestId: id }]);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('refuses a subscribe with a bad id anywhere in it with INVALID_PARAMETERS naming that id, and subscribes none (500 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(jobIds, notAJobId, fc.nat(), requestId, async (ids, bad, at, id) => {
        // Prepare: room for the bad id within the bound, so that it is the one thing wrong.
        const kept = ids.slice(0, MAX_SUBSCRIBE_JOB_IDS - 1);
        const index = at % (kept.length + 1);
        const withBad = [...kept.slice(0, index), bad, ...kept.slice(index)];

        // Act
        const calls = await receive({ type: 'subscribe', job_ids: withBad, request_id: id });

        // Assess
        const { error, requestId: echoed } = refusalOf(calls);
        expect(error.code).toBe('INVALID_PARAMETERS');
        expect(error.details).toMatchObject({ location: 'message', parameter: `job_ids.${index}` });
        expect(echoed).toBe(id);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it.each([
    ['no ids', { job_ids: [] }, 'job_ids', 'job_ids must name at least one job'],
    [
      'more ids than one message may carry',
      { job_ids: Array.from({ length: MAX_SUBSCRIBE_JOB_IDS + 1 }, () => '01JD3X2K8Q7YV4N6B5M9T0RWZC') },
      'job_ids',
      `job_ids must name at most ${MAX_SUBSCRIBE_JOB_IDS} jobs`,
    ],
    ['ids that are not a list', { job_ids: '01JD3X2K8Q7YV4N6B5M9T0RWZC' }, 'job_ids', 'must be an array'],
    ['no job_ids at all', {}, 'job_ids', 'must be an array'],
    ['a key of its own', { job_ids: ['01JD3X2K8Q7YV4N6B5M9T0RWZC'], tenant: 'other' }, '', 'tenant'],
  ])(
    'refuses a subscribe with %s with INVALID_PARAMETERS naming %j',
    async (_what, body, parameter, text) => {
      // Act
      const calls = await receive({ type: 'subscribe', ...body, request_id: 'r-1' });

      // Assess
      const { error, requestId: echoed } = refusalOf(calls);
      expect(error.code).toBe('INVALID_PARAMETERS');
      expect(error.message).toContain(text);
      expect(error.details).toMatchObject({ location: 'message', parameter });
      expect(echoed).toBe('r-1');
    },
  );

  it('refuses a request_id that cannot be echoed, and does not echo it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(''), fc.string({ minLength: 65, maxLength: 200 }), fc.integer(), fc.object()),
        async (id) => {
          const calls = await receive({
            type: 'subscribe',
            job_ids: ['01JD3X2K8Q7YV4N6B5M9T0RWZC'],
            request_id: id,
          });
          const { error, requestId: echoed } = refusalOf(calls);
          expect(error.details).toMatchObject({ parameter: 'request_id' });
          expect(echoed).toBeUndefined();
        },
      ),
      { seed: SEED, numRuns: 100 },
    );
  });
});

describe('receiveMessage: anything at all', () => {
  it('does exactly one thing with any text, and refuses what is not a message in the REST vocabulary (1,000 runs)', async () => {
    const message = fc.oneof(
      fc.string(),
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc
        .record(
          {
            type: fc.constantFrom('generate', 'ping', 'subscribe', 'upscale', ''),
            job_ids: fc.oneof(fc.array(fc.oneof(jobId, fc.string()), { maxLength: 3 }), fc.jsonValue()),
            prompt: fc.oneof(fc.string(), fc.jsonValue()),
            request_id: fc.oneof(requestId, fc.jsonValue()),
          },
          { requiredKeys: [] },
        )
        .map((value) => JSON.stringify(value)),
    );
    await fc.assert(
      fc.asyncProperty(message, async (raw) => {
        // Act
        const calls = await receive(raw);

        // Assess
        expect(calls).toHaveLength(1);
        const [call] = calls;
        if (call?.method === 'refuse') {
          expect(['INVALID_REQUEST', 'INVALID_PARAMETERS']).toContain((call.error as DomainError).code);
        }
      }),
      { seed: SEED, numRuns: 1_000 },
    );
  });

  it('names every message type it serves when the type is unknown', async () => {
    const { error } = refusalOf(await receive({ type: 'upscale', request_id: 'u' }));
    expect(error.message).toContain('type must be "generate", "ping" or "subscribe"');
  });
});
