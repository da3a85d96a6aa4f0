/**
 * The inference gateway's answers in seed 003's shapes: the request echoed with its frames by count,
 * the model's answer Anthropic-message shaped, and which model really answered.
 */
import type { z } from 'zod';
import type { Usage } from '../../../contracts/api.ts';
import type {
  ModelAnswer,
  ModelInput,
  ModelResult,
  RequestEcho,
  ServedBy,
  StreamEvent,
} from '../../../contracts/inference.ts';
import { LOCAL_VISION_MODEL } from '../../../contracts/inference-models.ts';
import { codeInFormat, ERROR_STATUS } from '../../../contracts/vocabulary.ts';
import type { DomainError } from '../errors.ts';
import { roundTo } from '../pricing.ts';
import type { CallableModel, ChatReply, ModelUsage } from './ports.ts';

/** Seed 003's `request`: the request as understood, its frames by count. */
export function presentEcho(request: ModelInput): RequestEcho {
  return {
    text: request.text,
    frames_count: request.frames.length,
    media_type: request.mediaType,
    max_tokens: request.max_tokens,
    temperature: request.temperature,
  };
}

/**
 * Which model answered. Offline the local model stands in for the named one: the reply says so
 * (`answeredBy`), or, before any reply (a stream's start), the model's `emulated` flag does.
 */
export function servedBy(model: CallableModel, answeredBy?: string): ServedBy {
  const answered = answeredBy ?? (model.emulated ? LOCAL_VISION_MODEL : model.modelId);
  return {
    key: model.key,
    model_id: model.modelId,
    provider: model.provider,
    answered_by: answered,
    emulated: model.emulated || answered !== model.modelId,
  };
}

export function presentAnswer(reply: ChatReply): ModelAnswer {
  return {
    id: reply.id,
    content: [{ type: 'text', text: reply.text }],
    usage: { input_tokens: reply.inputTokens, output_tokens: reply.outputTokens },
    ...(reply.stopReason === undefined ? {} : { stop_reason: reply.stopReason }),
  };
}

/**
 * The status an error is answered with on seed 003's routes, which document 500 for a model's own
 * failure where the platform's envelope says 502.
 */
export const seedStatus = (error: DomainError): number => ERROR_STATUS[codeInFormat(error.code, 'seed003')];

/** A multi-inference model's failure, as its part of the answer. */
export function failedResult(key: string, error: DomainError, latencyMs: number): ModelResult {
  return {
    model: key,
    status: seedStatus(error),
    latency_ms: latencyMs,
    error: error.message,
    code: error.code.toLowerCase(),
    ...(error.retryAfter === undefined ? {} : { retry_after: error.retryAfter }),
  };
}

/** A failure once a stream has started: its last event. */
export function errorEvent(error: DomainError): Extract<StreamEvent, { type: 'error' }> {
  return {
    type: 'error',
    error: error.message,
    code: error.code.toLowerCase(),
    status: seedStatus(error),
    ...(error.retryAfter === undefined ? {} : { retry_after: error.retryAfter }),
  };
}

/** What a call costs at the model's token prices (USD per million tokens). */
export function estimateUsd(model: CallableModel, inputTokens: number, outputTokens: number): number {
  return (
    (inputTokens * model.prices.inputPerMillionUsd + outputTokens * model.prices.outputPerMillionUsd) /
    1_000_000
  );
}

/** `GET /api/v1/usage`'s inference part: the totals, and per model with its mean latency. */
export type InferenceUsageSummary = z.output<typeof Usage>['inference'];

export function presentUsage(byModel: Record<string, ModelUsage>): InferenceUsageSummary {
  const summary: InferenceUsageSummary = {
    calls: 0,
    failed: 0,
    input_tokens: 0,
    output_tokens: 0,
    estimated_usd: 0,
    by_model: {},
  };
  for (const [key, usage] of Object.entries(byModel).sort(([a], [b]) => a.localeCompare(b))) {
    summary.calls += usage.calls;
    summary.failed += usage.failed;
    summary.input_tokens += usage.inputTokens;
    summary.output_tokens += usage.outputTokens;
    summary.estimated_usd += usage.estimatedUsd;
    summary.by_model[key] = {
      calls: usage.calls,
      failed: usage.failed,
      input_tokens: usage.inputTokens,
      output_tokens: usage.outputTokens,
      estimated_usd: roundTo(usage.estimatedUsd, 6),
      mean_latency_ms: usage.calls === 0 ? 0 : Math.round(usage.latencyMsTotal / usage.calls),
    };
  }
  summary.estimated_usd = roundTo(summary.estimated_usd, 6);
  return summary;
}
