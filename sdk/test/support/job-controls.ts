/**
 * Control over the local platform's jobs from a test: hold every job before it renders (so that a
 * batch stays running for as long as the test needs), and make chosen jobs fail.
 */
import type { LocalPlatformOptions } from '../../../lambdas/local/platform.ts';

/** A job submitted with this seed fails (every attempt), so its batch ends with a failed job. */
export const FAILING_SEED = 666_666;

export interface JobControls {
  /** Pass to `usePlatform` / `startLocalPlatform`. */
  wrapTask: NonNullable<LocalPlatformOptions['wrapTask']>;
  /** From now on, jobs wait before rendering until `release`. */
  hold(): void;
  /** Lets every held job go on. */
  release(): void;
}

export function jobControls(): JobControls {
  let gate: { opened: Promise<void>; open: () => void } | undefined;
  return {
    wrapTask: (placeholder, task) =>
      placeholder !== 'RunJobFunctionArn'
        ? task
        : async (runtime, event: { tenant: string; jobId: string }) => {
            await gate?.opened;
            const job = await runtime.engine.get(event.tenant, event.jobId);
            if (job.kind === 'generation' && job.params.seed === FAILING_SEED)
              throw new Error('injected failure');
            return task(runtime, event);
          },
    hold() {
      if (gate) return;
      let open = () => {};
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { opened, open };
    },
    release() {
      gate?.open();
      gate = undefined;
    },
  };
}
