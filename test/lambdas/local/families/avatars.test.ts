/**
 * The avatars family on the local platform across a restart: a job whose engine a stop cut off stays
 * running and runs again on the next start, and a job waiting for it waits again and runs after it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import type { AvatarJob } from '../../../../contracts/avatars.ts';
import { type LocalPlatform, startLocalPlatform } from '../../../../lambdas/local/platform.ts';
import { useTempDirs } from '../../../support/fixture.ts';

const aids = readFileSync(
  new URL('../../../../../shared/data/avatars/aids_original_data.csv', import.meta.url),
);

const SET = `kind: AvatarSchema
metadata: {name: schema}
spec:
  tables:
    - name: aids
      data: {file: aids.csv}
      columns:
        - {field: pidnum, identifier: true}
        - {field: zprior, identifier: true}
---
kind: AvatarParameters
metadata: {name: standard}
spec:
  schema: schema
  avatarization: {aids: {k: 20, ncp: 3}}
  seed: 7
---
kind: AvatarSignalMetricsParameters
metadata: {name: signal_metrics}
spec: {schema: schema, avatarization_ref: standard}
`;

async function call<T>(
  platform: LocalPlatform,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
) {
  const response = await fetch(`${platform.url}${path}`, {
    method,
    headers: { 'X-API-Key': platform.devKey, 'Content-Type': contentType },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json().catch(() => undefined)) as T };
}

const jobOf = async (platform: LocalPlatform, name: string) =>
  (await call<AvatarJob>(platform, 'GET', `/api/v1/avatars/jobs/${name}`)).body;

describe('the local avatars family across a restart', () => {
  const aDataDir = useTempDirs();

  it('runs again a job whose engine a stop cut off, then the job that waited for it', async () => {
    // Prepare
    const dataDir = await aDataDir('avatars-resume');
    const options = { dataDir, retryIntervalMs: 0, inference: { bedrock: 'off' as const, initialCopies: 0 } };
    // The first platform's engine never answers (fault injection): the stop comes while it runs.
    const first = await startLocalPlatform({
      ...options,
      wrapTask: (placeholder, task) =>
        placeholder === 'RunAvatarJobFunctionArn'
          ? (runtime, event) =>
              task(
                {
                  ...runtime,
                  avatarTasks: { ...runtime.avatarTasks, compute: { run: () => new Promise(() => {}) } },
                },
                event,
              )
          : task,
    });
    const link = await call<{ url: string; headers: Record<string, string> }>(
      first,
      'POST',
      '/api/v1/avatars/upload-url',
      { file: 'aids.csv' },
    );
    expect(
      (await fetch(link.body.url, { method: 'PUT', headers: link.body.headers, body: aids })).status,
    ).toBe(200);
    expect(
      (await call(first, 'PUT', '/api/v1/avatars/resources/resumed', SET, 'application/yaml')).status,
    ).toBe(200);
    const standard = (
      await call<AvatarJob>(first, 'POST', '/api/v1/avatars/jobs', {
        set_name: 'resumed',
        parameters_name: 'standard',
      })
    ).body;
    const signal = (
      await call<AvatarJob>(first, 'POST', '/api/v1/avatars/jobs', {
        set_name: 'resumed',
        parameters_name: 'signal_metrics',
        depends_on: [standard.name],
      })
    ).body;
    await vi.waitFor(async () => expect((await jobOf(first, standard.name)).status).toBe('running'), {
      interval: 5,
    });

    // Act
    await first.stop();
    const second = await startLocalPlatform(options);
    try {
      const interrupted = await jobOf(second, standard.name);
      await vi.waitFor(async () => expect((await jobOf(second, signal.name)).status).toBe('finished'), {
        timeout: 60_000,
        interval: 100,
      });

      // Assess: nothing was lost or failed; both ran to the end on the second start.
      expect(interrupted.status).toBe('running');
      expect((await jobOf(second, standard.name)).status).toBe('finished');
      expect(second.resumedJobs.sort()).toEqual([standard.name, signal.name].sort());
    } finally {
      await second.stop();
    }
  }, 120_000);
});
