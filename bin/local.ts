/**
 * `npm start`: the local platform. Options: --port (8000), --host (127.0.0.1), --data-dir
 * (.synthforge at the repository root), --memory (keep nothing on disk), --concurrency (batch Map concurrency, 4),
 * --min-free-mb (new work is refused while the data's disk has less free, 64), --emulate-bedrock
 * (Claude 4 and Nova answered by the local vision model through a local Bedrock Runtime; without
 * it they call the real Bedrock when the environment has AWS credentials, and answer 503 otherwise).
 */
// First: it sets the environment the imports below read when they load.
import '../lambdas/local/process-defaults.ts';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LOCAL_VISION_MODEL } from '../contracts/inference-models.ts';
import { DEFAULT_DATA_DIR } from '../lambdas/local/data-dir.ts';
import { failureMessage } from '../lambdas/local/disk-space.ts';
import type { BedrockMode } from '../lambdas/local/local-models.ts';
import { type LocalPlatform, startLocalPlatform } from '../lambdas/local/platform.ts';

/** How the banner says Bedrock is reached (declared before the start, which announces with it). */
const BEDROCK_BANNER: Record<BedrockMode, string> = {
  emulate: `emulated (--emulate-bedrock: answered by ${LOCAL_VISION_MODEL})`,
  aws: 'called for real with the environment’s AWS credentials',
  off: 'off (503: set AWS credentials, or --emulate-bedrock)',
};

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8000' },
    host: { type: 'string', default: '127.0.0.1' },
    'data-dir': { type: 'string' },
    memory: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '4' },
    'min-free-mb': { type: 'string', default: '64' },
    'emulate-bedrock': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(
    `Usage: npm start -- [--port 8000] [--host 127.0.0.1] [--data-dir ${DEFAULT_DATA_DIR}] [--memory] [--concurrency 4] [--min-free-mb 64] [--emulate-bedrock]`,
  );
  process.exit(0);
}

const port = Number(values.port);
const concurrency = Number(values.concurrency);
if (!Number.isInteger(port) || port < 0 || port > 65535)
  throw new Error(`--port must be 0..65535, got ${values.port}`);
if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 40)
  throw new Error('--concurrency must be 1..40');
const minFreeMb = Number(values['min-free-mb']);
if (!Number.isFinite(minFreeMb) || minFreeMb < 0) throw new Error('--min-free-mb must be 0 or more');
const dataDir = values.memory ? undefined : resolve(values['data-dir'] ?? DEFAULT_DATA_DIR);
// Credentials are read from the environment only: the platform never reads a profile of the home folder.
const bedrock: BedrockMode = values['emulate-bedrock']
  ? 'emulate'
  : process.env.AWS_ACCESS_KEY_ID && process.env.AWS_SECRET_ACCESS_KEY
    ? 'aws'
    : 'off';

// Ctrl-C and SIGTERM are handled from the first moment, not only once the banner is out: without a
// listener Node dies of the signal at once, and nothing would stop what the start had begun. A
// signal during the start stops the platform as soon as it is up.
let platform: LocalPlatform | undefined;
let requestedStop: string | undefined;
let stopping = false;
const shutdown = async (signal: string) => {
  if (!platform) {
    requestedStop ??= signal;
    return;
  }
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping (completed work is kept${dataDir ? ` in ${dataDir}` : ''})…`);
  await platform.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

try {
  platform = await startLocalPlatform({
    port,
    host: values.host,
    batchMaxConcurrency: concurrency,
    minFreeBytes: Math.round(minFreeMb * 1024 ** 2),
    // The local models are up before the first call (the platform's default starts them at zero).
    inference: { bedrock, initialCopies: 1 },
    ...(dataDir ? { dataDir } : {}),
  });
} catch (error) {
  // One clear line and exit 1 (not a stack trace): a start that cannot work, such as on a full disk,
  // must say what to fix, and must not leave emulators it started running behind it.
  console.error(`SynthForge could not start: ${failureMessage(error, dataDir)}`);
  process.exit(1);
}

// A Ctrl-C during the start stops the platform as soon as it is up, without announcing it.
if (requestedStop) await shutdown(requestedStop);
else announce(platform);

/** The banner (what the tests and users read the URL and key from), then whether training can run. */
function announce(platform: LocalPlatform): void {
  console.log(`SynthForge local platform
  API          ${platform.url}            (docs: ${platform.url}/docs, ${platform.url}/redoc)
  API key      ${platform.devKey}         (tenant "dev"; send it as X-API-Key)
  WebSocket    ${platform.webSocketUrl}?api_key=<key>
  DynamoDB     ${platform.emulators.dynamoEndpoint}   tables ${platform.emulators.tableNames.state}, ${platform.emulators.tableNames.keys}
  S3           ${platform.emulators.s3Endpoint}   bucket ${platform.emulators.bucketName}
  Models       EMD models answered by ${LOCAL_VISION_MODEL} on the local SageMaker; Bedrock ${BEDROCK_BANNER[bedrock]}
  Data         ${dataDir ?? 'in memory (--memory)'}${platform.resumedJobs.length ? `\n  Resumed      ${platform.resumedJobs.length} interrupted batch(es) or training run(s)` : ''}

  export SYNTHFORGE_API_URL=${platform.url} SYNTHFORGE_API_KEY=${platform.devKey}
  AWS CLI:  AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 aws --endpoint-url ${platform.emulators.s3Endpoint} s3 ls
Ctrl-C stops.`);

  // Training needs PyTorch for python3, which a fresh machine may lack: said now (the probe imports
  // torch, about a second, so it does not hold up the start), and asked again at each submission
  // until it is there, so installing it needs no restart.
  void platform.trainingHost.available().then((availability) => {
    if (stopping) return;
    console.log(
      availability.ok
        ? '  Training     available (PyTorch on CPU)'
        : `  Training     unavailable: ${availability.reason}`,
    );
  });
}
