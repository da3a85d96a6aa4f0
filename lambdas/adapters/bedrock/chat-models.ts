/**
 * Bedrock's models through Converse and ConverseStream: one user turn of frames and a prompt, the
 * answer's text and usage back. The local platform points the client at its emulator, which answers
 * from the local model and says so in `additionalModelResponseFields` (`served_by`).
 */
import {
  type BedrockRuntimeClient,
  type ContentBlock,
  ConverseCommand,
  type ConverseCommandInput,
  ConverseStreamCommand,
  type TokenUsage,
} from '@aws-sdk/client-bedrock-runtime';
import type {
  BedrockRuntimeModel,
  ChatModelPort,
  ChatReply,
  ChatStreamEvent,
  ChatTurn,
  Frame,
  ModelCallReason,
} from '../../domain/inference/ports.ts';
import { cutOff, newMessageId, type ServiceFailure, toModelCallError } from '../model-calls.ts';

/**
 * Bedrock's errors by name. Decisions beyond the obvious:
 * - ServiceQuotaExceededException is the account's quota for the model (tokens per minute or per
 *   day): the caller should come back later, which is what a 429 with Retry-After tells it, so it is
 *   `throttled`, like ModelNotReadyException (the model is being loaded; the SDK would retry it).
 * - ModelTimeoutException (408: the model took too long) is a `timeout`, like our own deadline.
 */
const REASONS: Record<string, ModelCallReason> = {
  ThrottlingException: 'throttled',
  ModelNotReadyException: 'throttled',
  ServiceQuotaExceededException: 'throttled',
  ServiceUnavailableException: 'unavailable',
  InternalServerException: 'unavailable',
  ModelErrorException: 'model_error',
  ModelStreamErrorException: 'model_error',
  ValidationException: 'rejected',
  AccessDeniedException: 'denied',
  ResourceNotFoundException: 'not_found',
  ModelTimeoutException: 'timeout',
};

/**
 * ValidationExceptions that are about the stage's model id, not the caller's input: an id Bedrock
 * does not know ("The provided model identifier is invalid."), or a foundation model that answers
 * only through an inference profile ("Invocation of model ID … with on-demand throughput isn't
 * supported"). Either way the model is not callable as configured: `not_found` ("not deployed").
 */
const MODEL_ID_PROBLEM = /model identifier is invalid|on-demand throughput/i;

function reasonOf(failure: ServiceFailure): ModelCallReason | undefined {
  const reason = REASONS[failure.name ?? ''];
  if (reason === 'rejected' && MODEL_ID_PROBLEM.test(failure.message ?? '')) return 'not_found';
  return reason;
}

export class BedrockChatModels implements ChatModelPort<BedrockRuntimeModel> {
  constructor(private readonly client: BedrockRuntimeClient) {}

  async complete(model: BedrockRuntimeModel, turn: ChatTurn, signal: AbortSignal): Promise<ChatReply> {
    try {
      const output = await this.client.send(new ConverseCommand(converseInput(model, turn)), {
        abortSignal: signal,
      });
      const text = (output.output?.message?.content ?? []).map((block) => block.text ?? '').join('');
      const answeredBy = servedBy(output.additionalModelResponseFields);
      return {
        id: output.$metadata.requestId ?? newMessageId(),
        text,
        ...tokens(output.usage),
        ...(output.stopReason === undefined ? {} : { stopReason: output.stopReason }),
        ...(answeredBy === undefined ? {} : { answeredBy }),
      };
    } catch (error) {
      throw toModelCallError(error, signal, reasonOf);
    }
  }

  async *stream(
    model: BedrockRuntimeModel,
    turn: ChatTurn,
    signal: AbortSignal,
  ): AsyncGenerator<ChatStreamEvent, void, undefined> {
    let stop: { stopReason?: string; answeredBy?: string } | undefined;
    let usage: TokenUsage | undefined;
    let id: string;
    try {
      const output = await this.client.send(new ConverseStreamCommand(converseInput(model, turn)), {
        abortSignal: signal,
      });
      id = output.$metadata.requestId ?? newMessageId();
      // The SDK throws the stream's exception events from the iterator; these members are only
      // what an unmodeled client would see, and mean the same.
      for await (const event of output.stream ?? []) {
        const text = event.contentBlockDelta?.delta?.text;
        if (text) yield { type: 'delta', text };
        else if (event.messageStop) {
          const answeredBy = servedBy(event.messageStop.additionalModelResponseFields);
          stop = {
            ...(event.messageStop.stopReason === undefined
              ? {}
              : { stopReason: event.messageStop.stopReason }),
            ...(answeredBy === undefined ? {} : { answeredBy }),
          };
        } else if (event.metadata) usage = event.metadata.usage;
        else {
          const failure =
            event.throttlingException ??
            event.serviceUnavailableException ??
            event.internalServerException ??
            event.modelStreamErrorException ??
            event.validationException;
          if (failure) throw failure;
        }
      }
    } catch (error) {
      throw toModelCallError(error, signal, reasonOf);
    }
    // A stream closed by the abort, or cut off, ends without a messageStop: not a whole answer.
    if (stop === undefined) throw cutOff(signal);
    yield { type: 'end', id, ...tokens(usage), ...stop };
  }
}

function converseInput(model: BedrockRuntimeModel, turn: ChatTurn): ConverseCommandInput {
  return {
    modelId: model.modelId,
    // The frames first, then the prompt about them: the order Bedrock's vision models are shown.
    messages: [{ role: 'user', content: [...turn.frames.map(frameBlock), { text: turn.text }] }],
    inferenceConfig: { maxTokens: turn.maxTokens, temperature: turn.temperature },
  };
}

function frameBlock(frame: Frame): ContentBlock {
  if (frame.kind === 'image') {
    return { image: { format: frame.format, source: { bytes: frame.bytes } } };
  }
  return {
    video: {
      format: frame.format,
      source: frame.bytes === undefined ? { s3Location: { uri: frame.s3Uri } } : { bytes: frame.bytes },
    },
  };
}

function tokens(usage: TokenUsage | undefined): { inputTokens: number; outputTokens: number } {
  return { inputTokens: usage?.inputTokens ?? 0, outputTokens: usage?.outputTokens ?? 0 };
}

/** The model that really answered, where the emulator says one stood in. */
function servedBy(fields: unknown): string | undefined {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return undefined;
  const servedBy = (fields as Record<string, unknown>).served_by;
  return typeof servedBy === 'string' && servedBy.length > 0 ? servedBy : undefined;
}
