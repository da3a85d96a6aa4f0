import { describe, expect, it } from 'vitest';
import { ProgressDisplay } from '../../src/cli/progress.ts';

function stream(isTTY: boolean) {
  return {
    isTTY,
    columns: 100,
    text: '',
    write(chunk: string) {
      this.text += chunk;
    },
  };
}

describe('ProgressDisplay', () => {
  it('redraws one line in place on a terminal, with a bar, counts, bytes and rate', () => {
    // Prepare
    const terminal = stream(true);
    let now = 0;
    const progress = new ProgressDisplay(terminal, 'download', { now: () => now });

    // Act
    progress.update({ done: 1, failed: 0, total: 4, bytes: 0 });
    now = 1000;
    progress.update({ done: 2, failed: 1, total: 4, bytes: 2 * 1024 * 1024 });
    progress.finish();

    // Assess
    const frames = terminal.text.split('\r\x1b[2K').filter(Boolean);
    expect(frames.at(-1)).toMatch(/^download \[█+░+\] 2\/4 done · 1 failed · 2\.0 MiB · 2\.0 MiB\/s\n$/);
    expect(terminal.text).not.toMatch(/\n.*\n/);
  });

  it('draws at most ten times a second on a terminal, but always the last state', () => {
    // Prepare
    const terminal = stream(true);
    let now = 0;
    const progress = new ProgressDisplay(terminal, 'batch', { now: () => now });

    // Act
    for (let done = 0; done <= 100; done++) {
      now += 1;
      progress.update({ done, failed: 0, total: 100 });
    }

    // Assess
    const draws = terminal.text.split('\r').length - 1;
    expect(draws).toBeLessThanOrEqual(3);
    expect(terminal.text).toMatch(/100\/100 done$/);
  });

  it('writes a plain line per change of the counts when not on a terminal', () => {
    // Prepare
    const log = stream(false);
    const progress = new ProgressDisplay(log, 'batch X');

    // Act
    progress.update({ done: 0, failed: 0, running: 2, total: 2 });
    progress.update({ done: 0, failed: 0, running: 2, total: 2 });
    progress.update({ done: 1, failed: 0, running: 1, total: 2 });
    progress.update({ done: 1, failed: 1, running: 0, total: 2 });
    progress.finish();

    // Assess
    expect(log.text).toBe(
      'batch X: 0/2 done · 2 running\nbatch X: 1/2 done · 1 running\nbatch X: 1/2 done · 1 failed\n',
    );
  });
});
