/**
 * An avatar job cancelled through the generic jobs route, which knows nothing of dependants: its
 * state change wakes the jobs waiting on it (the AvatarJobsEnded rule in AWS, the local bus here),
 * and they are cancelled with it at once rather than when their wait times out (15 minutes).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AVATAR_DATA, createJob, putSet, setYaml, upload, waitForJob } from '../support/avatars-api.ts';
import { usePlatform } from '../support/platform.ts';

const wbcd = readFileSync(new URL('breast_cancer_wisconsin.csv', AVATAR_DATA));

describe('cancelling an avatar job through DELETE /api/v1/jobs/{id}', () => {
  // Fault injection: the engine holds every standard job running until the test lets it go.
  let letGo: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    letGo = resolve;
  });
  const fixture = usePlatform({
    wrapTask: (placeholder, task) =>
      placeholder === 'RunAvatarJobFunctionArn'
        ? (runtime, event) =>
            task(
              {
                ...runtime,
                avatarTasks: {
                  ...runtime.avatarTasks,
                  compute: {
                    run: async () => {
                      await held;
                      throw new Error('let go by the test');
                    },
                  },
                },
              },
              event,
            )
        : task,
  });

  it('cancels the jobs that wait on it at once', async () => {
    // Prepare: a standard job running, its privacy metrics waiting for it.
    const { api } = fixture;
    await upload(api, 'wbcd.csv', wbcd);
    await putSet(api, 'held', setYaml('wbcd', 'wbcd.csv'));
    const standard = await createJob(api, { set_name: 'held', parameters_name: 'standard' });
    const privacy = await createJob(api, {
      set_name: 'held',
      parameters_name: 'privacy_metrics',
      depends_on: [standard.name],
    });
    // Its AwaitParents step holds its token: it waits, and only a wake-up ends the wait early.
    const { store } = fixture.platform.runtime.engine;
    for (let tries = 0; tries < 400; tries++) {
      const record = await store.get('dev', privacy.name);
      if (record?.kind === 'avatars' && record.avatars.waitToken) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const waiting = await store.get('dev', privacy.name);
    expect(waiting?.kind === 'avatars' && waiting.avatars.waitToken).toBeTruthy();

    // Act
    const cancelled = await api.request('DELETE', `/api/v1/jobs/${standard.name}`);

    // Assess: the dependant ends within seconds, not after its 15-minute wait.
    expect(cancelled.status, cancelled.text).toBe(200);
    const dependant = await waitForJob(api, privacy.name, 10_000);
    expect(dependant.status).toBe('cancelled');
    expect(dependant.exception).toMatch(new RegExp(`cancelled with job ${standard.name}`));
    letGo();
  });
});
