import { appendFile } from 'node:fs/promises';
import type { EventPublisher, JobStateChange } from '../../domain/ports.ts';

const KEPT_IN_MEMORY = 10_000;

/**
 * The SynthForge bus on the local platform (EventBridge has no emulator): keeps recent events,
 * tells subscribers, and appends each as a line of JSON to `events.jsonl` when there is a data dir.
 */
export class LocalEventBus implements EventPublisher {
  readonly recent: JobStateChange[] = [];
  readonly #listeners = new Set<(event: JobStateChange) => void>();

  constructor(private readonly logFile?: string) {}

  async publishJobStateChanges(events: JobStateChange[]): Promise<void> {
    for (const event of events) {
      this.recent.push(event);
      if (this.recent.length > KEPT_IN_MEMORY) this.recent.shift();
      for (const listener of this.#listeners) listener(event);
    }
    if (this.logFile && events.length > 0) {
      await appendFile(this.logFile, events.map((event) => `${JSON.stringify(event)}\n`).join(''));
    }
  }

  subscribe(listener: (event: JobStateChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
