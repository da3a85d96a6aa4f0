/**
 * Progress of a wait or a download: a bar redrawn in place on a terminal, plain lines otherwise (a
 * log file or a CI job gets one line per change, not a stream of carriage returns). It always
 * writes to stderr, so that stdout stays clean for the command's result.
 */
import { formatBytes } from './format.ts';

/** Where progress is drawn: a terminal when `isTTY`. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

export interface ProgressState {
  /** Jobs that ended well (completed, downloaded, or already there). */
  done: number;
  failed: number;
  total: number;
  /** Jobs running now, when known. */
  running?: number;
  /** Bytes transferred so far, for a download. */
  bytes?: number;
}

const REDRAW_INTERVAL_MS = 100;
const RATE_WINDOW_MS = 5_000;
const BAR_MIN = 10;
const BAR_MAX = 30;

export class ProgressDisplay {
  readonly #stream: ProgressStream;
  readonly #label: string;
  readonly #now: () => number;
  readonly #tty: boolean;
  #lastDraw = Number.NEGATIVE_INFINITY;
  #lastPlain = '';
  #drawn = false;
  #state: ProgressState | undefined;
  /** (time, bytes) samples of the last few seconds, for the rate. */
  readonly #samples: [number, number][] = [];

  constructor(stream: ProgressStream, label: string, options: { now?: () => number; tty?: boolean } = {}) {
    this.#stream = stream;
    this.#label = label;
    this.#now = options.now ?? (() => performance.now());
    this.#tty = options.tty ?? stream.isTTY === true;
  }

  update(state: ProgressState): void {
    this.#state = state;
    const now = this.#now();
    if (state.bytes !== undefined) {
      this.#samples.push([now, state.bytes]);
      while (this.#samples.length > 2 && now - (this.#samples[0]?.[0] ?? now) > RATE_WINDOW_MS) {
        this.#samples.shift();
      }
    }
    if (this.#tty) {
      const finished = state.done + state.failed >= state.total;
      if (!finished && now - this.#lastDraw < REDRAW_INTERVAL_MS) return;
      this.#lastDraw = now;
      this.#stream.write(`\r\x1b[2K${this.render(state)}`);
      this.#drawn = true;
      return;
    }
    // Plain output: a line when the job counts change; bytes alone changing is not news.
    const counts = this.#plainLine(state);
    if (counts === this.#lastPlain) return;
    this.#lastPlain = counts;
    this.#stream.write(`${this.#label}: ${this.render(state, false)}\n`);
  }

  /** Ends the bar's line (a terminal) so that what follows starts on its own line. */
  finish(): void {
    if (this.#tty && this.#drawn) {
      if (this.#state) this.#stream.write(`\r\x1b[2K${this.render(this.#state)}`);
      this.#stream.write('\n');
    }
    this.#drawn = false;
  }

  /** Bytes per second over the last few seconds, once there are two samples. */
  rate(): number | undefined {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last[0] - first[0] <= 0) return undefined;
    return ((last[1] - first[1]) * 1000) / (last[0] - first[0]);
  }

  /** `[██████░░░░] 6/10 done · 1 failed · 3 running · 12.0 MiB · 4.1 MiB/s` */
  render(state: ProgressState, withBar = true): string {
    const parts = [`${state.done}/${state.total} done`];
    if (state.failed > 0) parts.push(`${state.failed} failed`);
    if (state.running !== undefined && state.running > 0) parts.push(`${state.running} running`);
    if (state.bytes !== undefined) {
      parts.push(formatBytes(state.bytes));
      const rate = this.rate();
      if (rate !== undefined) parts.push(`${formatBytes(Math.round(rate))}/s`);
    }
    const text = parts.join(' · ');
    if (!withBar) return text;
    const columns = this.#stream.columns ?? 80;
    const width = Math.max(BAR_MIN, Math.min(BAR_MAX, columns - text.length - this.#label.length - 6));
    const fraction = state.total === 0 ? 1 : Math.min(1, (state.done + state.failed) / state.total);
    const filled = Math.round(fraction * width);
    return `${this.#label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${text}`;
  }

  #plainLine(state: ProgressState): string {
    return `${state.done}/${state.failed}/${state.total}/${state.running ?? ''}`;
  }
}
