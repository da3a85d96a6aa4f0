/**
 * `npm run keys -- <create|list|revoke> ...`: API keys, stored only as hashes.
 *
 *   create --tenant NAME [--label TEXT]   prints the new key once
 *   list                                  key ids, tenants, created / revoked
 *   revoke KEY_ID
 *
 * Without --stage it manages the local platform's keys (in --data-dir, default the `.synthforge/`
 * of the repository root that `npm start` uses; the platform may be running or not). With --stage NAME it manages a deployed stack's keys: the keys
 * table and usage plan come from the stack's outputs, and `create` also makes the tenant's API
 * Gateway usage-plan key, whose value the authorizer returns so throttling and quotas apply.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  APIGatewayClient,
  CreateApiKeyCommand,
  CreateUsagePlanKeyCommand,
  GetApiKeysCommand,
  UpdateApiKeyCommand,
} from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { awsClientsFor, createAwsClients } from '../lambdas/adapters/clients.ts';
import { DynamoKeyStore } from '../lambdas/adapters/dynamo/key-store.ts';
import { assertTenantName, createApiKey } from '../lambdas/domain/keys.ts';
import type { KeyStore } from '../lambdas/domain/ports.ts';
import { DEFAULT_DATA_DIR } from '../lambdas/local/data-dir.ts';
import {
  type EmulatorEndpoints,
  ENDPOINTS_FILE,
  startEmulators,
} from '../lambdas/local/storage/emulators.ts';
import { stackNameFor } from '../lib/stack-name.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `usage: npm run keys -- create --tenant NAME [--label TEXT] | list | revoke KEY_ID  [--stage NAME | --data-dir DIR]
  --data-dir   the local platform's data (default ${DEFAULT_DATA_DIR}, as npm start)`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    tenant: { type: 'string' },
    label: { type: 'string' },
    stage: { type: 'string' },
    region: { type: 'string' },
    'data-dir': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const [command, argument] = positionals;
if (values.help || !command || !['create', 'list', 'revoke'].includes(command)) {
  console.error(USAGE);
  process.exit(values.help ? 0 : 2);
}

interface Target {
  keys: KeyStore;
  usagePlan?: { apiGateway: APIGatewayClient; usagePlanId: string };
  close(): Promise<void>;
}

async function localTarget(dataDir: string): Promise<Target> {
  const running = await readFile(join(dataDir, ENDPOINTS_FILE), 'utf8').then(
    (text) => JSON.parse(text) as EmulatorEndpoints,
    () => undefined,
  );
  const started = running ? undefined : await startEmulators({ dataDir });
  const emulators = running ?? (started as EmulatorEndpoints);
  const clients = awsClientsFor(emulators);
  return {
    keys: new DynamoKeyStore(clients.dynamo, { tableName: emulators.tableNames.keys }),
    async close() {
      clients.destroy();
      await started?.stop();
    },
  };
}

async function stageTarget(stage: string, region: string | undefined): Promise<Target> {
  const cloudFormation = new CloudFormationClient(region ? { region } : {});
  const stackName = stackNameFor(stage);
  const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
  const keysTable = outputs.KeysTableName;
  const usagePlanId = outputs.UsagePlanId;
  if (!keysTable || !usagePlanId)
    throw new Error(`stack ${stackName} has no KeysTableName / UsagePlanId outputs`);
  const clients = createAwsClients({ region: region ?? (await cloudFormation.config.region()) });
  const apiGateway = new APIGatewayClient(region ? { region } : {});
  return {
    keys: new DynamoKeyStore(clients.dynamo, { tableName: keysTable }),
    usagePlan: { apiGateway, usagePlanId },
    async close() {
      clients.destroy();
      apiGateway.destroy();
      cloudFormation.destroy();
    },
  };
}

const target = values.stage
  ? await stageTarget(values.stage, values.region)
  : await localTarget(resolve(values['data-dir'] ?? DEFAULT_DATA_DIR));

try {
  if (command === 'create') {
    if (!values.tenant) throw new Error(`--tenant is required\n${USAGE}`);
    // Checked before anything is created in API Gateway, so a bad name leaves no orphan key behind.
    assertTenantName(values.tenant);
    let usageKey: string | undefined;
    if (target.usagePlan) {
      // The usage-plan key's value is never shown to the tenant: they authenticate with their SynthForge key.
      usageKey = randomBytes(24).toString('base64url');
      const { apiGateway, usagePlanId } = target.usagePlan;
      const apiKey = await apiGateway.send(
        new CreateApiKeyCommand({
          name: `synthforge-${values.tenant}-${Date.now()}`,
          value: usageKey,
          enabled: true,
        }),
      );
      await apiGateway.send(
        new CreateUsagePlanKeyCommand({ usagePlanId, keyId: apiKey.id, keyType: 'API_KEY' }),
      );
    }
    const { key, record } = await createApiKey(target.keys, {
      tenant: values.tenant,
      now: new Date(),
      ...(values.label ? { label: values.label } : {}),
      ...(usageKey ? { usageKey } : {}),
    });
    console.log(
      `created ${record.keyId} for tenant ${record.tenant}\n\n  ${key}\n\nThis key is shown once; only its hash is stored.`,
    );
  } else if (command === 'list') {
    const records = await target.keys.list();
    console.log(
      ['key id                 tenant                 created                   revoked'].join('\n'),
    );
    for (const r of records.sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
      console.log(
        `${r.keyId.padEnd(22)} ${r.tenant.padEnd(22)} ${r.createdAt.padEnd(25)} ${r.revokedAt ?? '-'}`,
      );
    }
  } else {
    if (!argument) throw new Error(`revoke needs a key id\n${USAGE}`);
    const revoked = await target.keys.revoke(argument, new Date().toISOString());
    if (!revoked) throw new Error(`no key ${argument}`);
    if (target.usagePlan && revoked.usageKey) {
      const { apiGateway } = target.usagePlan;
      const found = await apiGateway.send(new GetApiKeysCommand({ includeValues: true, limit: 500 }));
      const match = found.items?.find((item) => item.value === revoked.usageKey);
      if (match?.id) {
        await apiGateway.send(
          new UpdateApiKeyCommand({
            apiKey: match.id,
            patchOperations: [{ op: 'replace', path: '/enabled', value: 'false' }],
          }),
        );
      }
    }
    console.log(`revoked ${revoked.keyId} (tenant ${revoked.tenant})`);
  }
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
} finally {
  await target.close();
}
