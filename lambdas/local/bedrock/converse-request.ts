/**
 * Converse and ConverseStream requests, as their JSON body carries them, validated the way Bedrock
 * validates them and decoded (media bytes from base64) into what a model backend is given.
 */

import { constraintMessage } from '../support/aws-validation.ts';
import { BedrockError } from './errors.ts';

export const IMAGE_FORMATS = ['png', 'jpeg', 'gif', 'webp'] as const;
export const VIDEO_FORMATS = ['mkv', 'mov', 'mp4', 'webm', 'flv', 'mpeg', 'mpg', 'wmv', 'three_gp'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];
export type VideoFormat = (typeof VIDEO_FORMATS)[number];
/** Bedrock's limit on a video sent inline. */
const MAX_VIDEO_BYTES = 25 * 1024 * 1024;

/** A content block of a message, its media decoded. */
export type EmulatedContentBlock =
  | { type: 'text'; text: string }
  | { type: 'image'; format: ImageFormat; bytes: Uint8Array }
  | { type: 'video'; format: VideoFormat; bytes: Uint8Array };

export interface EmulatedMessage {
  role: 'user' | 'assistant';
  content: EmulatedContentBlock[];
}

/** A Converse or ConverseStream request, validated and decoded: what a model backend is given. */
export interface EmulatedConverseRequest {
  /** As the caller named it, decoded from the path (a profile id or an ARN is kept as it is). */
  modelId: string;
  /** The `system` blocks' texts. */
  system: string[];
  messages: EmulatedMessage[];
  inferenceConfig: {
    maxTokens?: number;
    temperature?: number;
    topP?: number;
    stopSequences?: string[];
  };
}

/**
 * The request body as Bedrock validates it: at least one message, user first, the roles alternating,
 * each message with content blocks of one known kind each, media with a known format and non-empty
 * base64 bytes, inference settings in their ranges.
 */
export function parseConverseRequest(modelId: string, body: Buffer): EmulatedConverseRequest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8') || '{}');
  } catch {
    throw new BedrockError(
      'ValidationException',
      'Malformed input request, please reformat your input and try again.',
    );
  }
  if (!isRecord(json)) throw validation('The request body must be a JSON object.');
  for (const member of ['toolConfig', 'guardrailConfig', 'promptVariables'] as const) {
    if (json[member] !== undefined) throw validation(`${member} is not supported by this emulator.`);
  }
  if (json.messages === undefined || json.messages === null) {
    throw constraint('messages', null, 'Member must not be null');
  }
  if (!Array.isArray(json.messages) || json.messages.length === 0) {
    throw validation(
      'A conversation must start with a user message. Try again with a conversation that starts with a user message.',
    );
  }
  const messages = json.messages.map((message, index) =>
    parseMessage(message, `messages.${index + 1}.member`),
  );
  messages.forEach((message, index) => {
    const expected = index % 2 === 0 ? 'user' : 'assistant';
    if (message.role === expected) return;
    throw validation(
      index === 0
        ? 'A conversation must start with a user message. Try again with a conversation that starts with a user message.'
        : 'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.',
    );
  });
  return {
    modelId,
    system: parseSystem(json.system),
    messages,
    inferenceConfig: parseInferenceConfig(json.inferenceConfig),
  };
}

function parseMessage(value: unknown, at: string): EmulatedMessage {
  if (!isRecord(value)) throw constraint(at, value, 'Member must be a structure');
  const { role, content } = value;
  if (role !== 'user' && role !== 'assistant') {
    throw constraint(`${at}.role`, role, 'Member must satisfy enum value set: [user, assistant]');
  }
  if (!Array.isArray(content) || content.length === 0) {
    throw constraint(`${at}.content`, content ?? null, 'Member must have length greater than or equal to 1');
  }
  return {
    role,
    content: content.map((block, index) => parseBlock(block, `${at}.content.${index + 1}.member`)),
  };
}

function parseBlock(value: unknown, at: string): EmulatedContentBlock {
  if (!isRecord(value)) throw constraint(at, value, 'Member must be a structure');
  const kinds = Object.keys(value).filter((key) => value[key] !== undefined && value[key] !== null);
  if (kinds.length !== 1) {
    throw validation(`The content block at ${at} must set exactly one member, it sets ${kinds.length}.`);
  }
  const { text, image, video } = value;
  if (typeof text === 'string') return { type: 'text', text };
  if (image !== undefined) {
    const { format, bytes } = parseMedia(image, `${at}.image`, IMAGE_FORMATS);
    return { type: 'image', format, bytes };
  }
  if (video !== undefined) {
    const { format, bytes } = parseMedia(video, `${at}.video`, VIDEO_FORMATS);
    if (bytes.length > MAX_VIDEO_BYTES) {
      throw validation(
        `The video at ${at} is ${bytes.length} bytes; videos sent inline must be under 25 MB.`,
      );
    }
    return { type: 'video', format, bytes };
  }
  throw validation(`The content block ${kinds[0]} at ${at} is not supported by this emulator.`);
}

function parseMedia<F extends string>(
  value: unknown,
  at: string,
  formats: readonly F[],
): { format: F; bytes: Uint8Array } {
  if (!isRecord(value)) throw constraint(at, value, 'Member must be a structure');
  const format = value.format;
  if (!formats.includes(format as F)) {
    throw constraint(
      `${at}.format`,
      format ?? null,
      `Member must satisfy enum value set: [${formats.join(', ')}]`,
    );
  }
  const source = value.source;
  if (!isRecord(source)) throw constraint(`${at}.source`, source ?? null, 'Member must not be null');
  if (source.s3Location !== undefined)
    throw validation(`S3 locations (${at}.source) are not supported by this emulator.`);
  const encoded = source.bytes;
  if (typeof encoded !== 'string' || encoded.length === 0 || !BASE64.test(encoded)) {
    throw constraint(`${at}.source.bytes`, null, 'Member must be non-empty base64-encoded bytes');
  }
  return { format: format as F, bytes: new Uint8Array(Buffer.from(encoded, 'base64')) };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function parseSystem(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw constraint('system', value, 'Member must be a list');
  return value.map((block, index) => {
    if (!isRecord(block) || typeof block.text !== 'string') {
      throw validation(`The system block at system.${index + 1}.member must be a text block here.`);
    }
    return block.text;
  });
}

function parseInferenceConfig(value: unknown): EmulatedConverseRequest['inferenceConfig'] {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw constraint('inferenceConfig', value, 'Member must be a structure');
  const { maxTokens, temperature, topP, stopSequences } = value;
  const config: EmulatedConverseRequest['inferenceConfig'] = {};
  if (maxTokens !== undefined) {
    if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1) {
      throw constraint(
        'inferenceConfig.maxTokens',
        maxTokens,
        'Member must have value greater than or equal to 1',
      );
    }
    config.maxTokens = maxTokens as number;
  }
  for (const [member, number] of [
    ['temperature', temperature],
    ['topP', topP],
  ] as const) {
    if (number === undefined) continue;
    if (typeof number !== 'number' || number < 0 || number > 1) {
      throw constraint(`inferenceConfig.${member}`, number, 'Member must have value between 0 and 1');
    }
    config[member] = number;
  }
  if (stopSequences !== undefined) {
    if (!Array.isArray(stopSequences) || !stopSequences.every((s) => typeof s === 'string' && s.length > 0)) {
      throw constraint(
        'inferenceConfig.stopSequences',
        stopSequences,
        'Member must be a list of non-empty strings',
      );
    }
    config.stopSequences = stopSequences;
  }
  return config;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validation(message: string): BedrockError {
  return new BedrockError('ValidationException', message);
}

/** The message AWS's request validation gives for a member outside its constraint. */
function constraint(member: string, value: unknown, rule: string): BedrockError {
  return validation(constraintMessage(member, value, rule));
}
