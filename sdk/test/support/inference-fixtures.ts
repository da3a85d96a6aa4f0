/** Answers of the inference routes as the gateway writes them (contracts/inference.ts), for scripted servers. */
export const ECHO = {
  text: 'What is in this image?',
  frames_count: 1,
  media_type: 'image',
  max_tokens: 64,
  temperature: 0.1,
};

export const SERVED_BY = {
  key: 'qwen2-vl-7b',
  model_id: 'Qwen/Qwen2-VL-7B-Instruct',
  provider: 'sagemaker',
  answered_by: 'synthforge/local-vision',
  emulated: true,
} as const;

/** A model route's 200. */
export function answerOf(text: string, model: { key: string; model_id: string } = SERVED_BY) {
  return {
    time: '2026-11-22T10:00:00.000Z',
    request: ECHO,
    response: {
      id: 'msg_01',
      content: [{ type: 'text', text }],
      usage: { input_tokens: 17, output_tokens: 5 },
      stop_reason: 'end_turn',
    },
    model: { ...SERVED_BY, ...model },
    latency_ms: 42,
  };
}

/** Seed 003's error wrapper. */
export function errorOf(code: string, error: string, extra: Record<string, unknown> = {}) {
  return { time: '2026-11-22T10:00:00.000Z', request: ECHO, error, code, ...extra };
}

export const START = {
  type: 'start',
  time: '2026-11-22T10:00:00.000Z',
  request: ECHO,
  model: SERVED_BY,
} as const;
export const delta = (text: string) => ({ type: 'delta', text }) as const;
export const DONE = {
  type: 'done',
  id: 'msg_01',
  usage: { input_tokens: 17, output_tokens: 3 },
  stop_reason: 'end_turn',
  latency_ms: 40,
} as const;
