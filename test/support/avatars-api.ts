/**
 * Driving seed 004 over HTTP as the avatars client does: upload a table, put a set's YAML, create
 * jobs, poll them until they are done, and read their results through their links.
 */
import { expect } from 'vitest';
import type { AvatarJob, AvatarResults } from '../../contracts/avatars.ts';
import type { Api, ApiResponse } from './platform.ts';

export const AVATAR_DATA = new URL('../../../shared/data/avatars/', import.meta.url);

/** The set the client's Runner.run() puts for one table, with an advice document and a comparison schema. */
export function setYaml(table: string, file: string, extra = ''): string {
  return `kind: AvatarSchema
metadata: {name: schema}
spec:
  tables:
    - name: ${table}
      data: {file: ${file}}
${extra}---
kind: AvatarSchema
metadata: {name: schema_avatarized}
spec:
  schema_ref: schema
  tables:
    - name: ${table}
      avatars_data: {auto: true}
---
kind: AvatarParameters
metadata: {name: standard}
spec:
  schema: schema
  avatarization:
    ${table}: {k: 20, ncp: 5}
  seed: 42
---
kind: AvatarPrivacyMetricsParameters
metadata: {name: privacy_metrics}
spec: {schema: schema_avatarized, avatarization_ref: standard, seed: 42}
---
kind: AvatarSignalMetricsParameters
metadata: {name: signal_metrics}
spec: {schema: schema_avatarized, avatarization_ref: standard}
---
kind: AvatarReportParameters
metadata: {name: report}
spec: {report_type: basic}
---
kind: AvatarAdviceParameters
metadata: {name: advice}
spec: {schema: schema}
`;
}

export async function upload(api: Api, file: string, bytes: Uint8Array): Promise<void> {
  const link = await api.post<{ url: string; headers: Record<string, string> }>(
    '/api/v1/avatars/upload-url',
    { file },
  );
  expect(link.status, link.text).toBe(200);
  const put = await fetch(link.body.url, { method: 'PUT', headers: link.body.headers, body: bytes });
  expect(put.status).toBe(200);
}

export async function putSet(api: Api, setName: string, yaml: string) {
  return api.request<{ documents: unknown[] }>('PUT', `/api/v1/avatars/resources/${setName}`, {
    raw: yaml,
    headers: { 'content-type': 'application/yaml' },
  });
}

export async function createJob(api: Api, body: Record<string, unknown>): Promise<AvatarJob> {
  const created = await api.post<AvatarJob>('/api/v1/avatars/jobs', body);
  expect(created.status, created.text).toBe(202);
  return created.body;
}

/** Polls a job as the client does (faster) until it is done. */
export async function waitForJob(api: Api, name: string, timeoutMs = 60_000): Promise<AvatarJob> {
  const deadline = Date.now() + timeoutMs;
  let last: ApiResponse<AvatarJob> | undefined;
  while (Date.now() < deadline) {
    last = await api.get<AvatarJob>(`/api/v1/avatars/jobs/${name}`);
    expect(last.status, last.text).toBe(200);
    if (last.body.done) return last.body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`job ${name} did not end in ${timeoutMs} ms: ${last?.text}`);
}

export async function results(api: Api, name: string): Promise<AvatarResults> {
  const answer = await api.get<AvatarResults>(`/api/v1/avatars/results/${name}`);
  expect(answer.status, answer.text).toBe(200);
  return answer.body;
}

export const download = async (url: string) => {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return response.text();
};
