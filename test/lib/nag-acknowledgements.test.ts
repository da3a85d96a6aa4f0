import { App, Stack, Validations } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { acknowledgeNagFindings, type NagAcknowledgement } from '../../lib/nag-acknowledgements.ts';
import { buildTestStack, type TestStack } from './stack-fixture.ts';

interface Finding {
  rule: string;
  severity: string;
  path: string;
}

const findingsOf = (scope: Stack): Finding[] =>
  new AwsSolutionsChecks().validateScope(scope).violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => ({
      rule: violation.ruleName,
      severity: violation.severity ?? 'error',
      path: resource.constructPath ?? '',
    })),
  );

/**
 * The accepted findings by rule, written out for review: a new finding, or one acknowledgement
 * dropped, changes a number here.
 */
const LEDGER: Record<string, number> = {
  // 36 function roles (X-Ray) + 6 state machine roles (log delivery, X-Ray) + 6 result-object
  // statements (run-job, batches API, images API, endpoint notifications, WebSocket messages and
  // push) + 22 task-version invokes (4 per batch/image workflow, 2 for training, 2 for inference,
  // 8 for avatars, 2 for datasets) + 8 StopExecution (the jobs API: batch, image, training,
  // inference, avatars and datasets executions; the training API: training executions; the
  // avatars API: avatars executions)
  // + the default model endpoint's role (request objects, its response and failure prefixes, ECR
  // token) + 1 staging policy (the notifications read and delete staged
  // responses) + 2 PostToConnection statements (WebSocket messages and push, this API's stage
  // only) + training: the machine's sf-* training jobs, the SageMaker role's 5 object patterns
  // (archives, manifests, datasets, checkpoints, models), its ECR token and metrics (*) and its
  // log group's streams, RecordTraining's progress and models, the training API's manifests,
  // progress and models + inference: each of its 3 model-calling functions' tenant uploads and the
  // 2 default profiles' foundation models in any region (3 × 3), and its async jobs' objects (the
  // API's requests, RunInference's requests and answers, the jobs API's answers) + avatars: the
  // files, sets and results patterns of its API and its two Run functions (3 × 3), PrepareProcessing's
  // (files, sets, results, processing: 4) and RecordProcessing's (results, processing: 2), and the
  // SendTaskSuccess on * of Decide, AwaitParents, Release and the wake-up of ended jobs (4)
  // + datasets: the tenant's images (any key of the outputs bucket) read by its 4 functions,
  // RunDatasetJob's datasets, profiles and exports patterns (3), the exports API's exports (1),
  // the privacy detectors on * of the validation API and RunDatasetJob (2: Rekognition and
  // Comprehend have no resource-level permissions), and the jobs API's dataset answers and
  // profiles (2). No export bucket is configured in the test stage.
  'AwsSolutions-IAM5': 141,
  'AwsSolutions-IAM4': 1,
  'AwsSolutions-COG4': 1,
  // 6 public REST routes + 3 WebSocket routes after $connect (only $connect takes an authorizer).
  'AwsSolutions-APIG4': 9,
  'AwsSolutions-SMG4': 1,
};

/** `AwsSolutions-IAM5[Resource::…]` → `AwsSolutions-IAM5`. */
const ruleFamily = (id: string) => id.replace(/\[.*\]$/, '');

let built: TestStack;
let before: Finding[];
let acknowledgements: NagAcknowledgement[];

beforeAll(() => {
  built = buildTestStack();
  before = findingsOf(built.stack);
  acknowledgements = acknowledgeNagFindings(built.stack);
});

describe('AwsSolutions on the SynthForge stack', () => {
  it('reports no unacknowledged finding, error or warning', () => {
    const after = findingsOf(built.stack);
    expect(after.map((finding) => `${finding.severity} ${finding.rule} ${finding.path}`)).toEqual([]);
  });

  it('has a reason of at least 10 characters on every acknowledgement, and one id per finding', () => {
    for (const { id, reason } of acknowledgements) {
      expect(reason.trim().length, id).toBeGreaterThanOrEqual(10);
      // cdk-nag 3 has no prefix suppression: an IAM finding is acknowledged one resource at a time.
      if (/^AwsSolutions-IAM[45]$/.test(id)) throw new Error(`blanket acknowledgement of ${id}`);
    }
  });

  it('has no stale acknowledgement: each one silences a finding on its construct or below', () => {
    for (const ack of acknowledgements) {
      const path = ack.scope.node.path;
      const matched = before.some(
        (finding) =>
          finding.rule === ack.id && (finding.path === path || finding.path.startsWith(`${path}/`)),
      );
      expect(matched, `${ack.id} on ${path}`).toBe(true);
    }
  });

  it('keeps the ledger of accepted findings (change it only with review)', () => {
    // Prepare
    const ledger: Record<string, number> = {};
    for (const { id } of acknowledgements) ledger[ruleFamily(id)] = (ledger[ruleFamily(id)] ?? 0) + 1;

    // Assess
    expect(ledger).toEqual(LEDGER);
  });

  it('records every acknowledgement of the ledger on its construct, where the cdk-nag plugin of bin/app.ts reads them', () => {
    // Act: read back what the constructs carry, not what acknowledgeNagFindings says it did.
    const recorded = built.stack.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.entries(entry.data as Record<string, string>).map(([key, reason]) => ({
            path: construct.node.path,
            id: key.replace(/^Annotation::/, ''),
            reason,
          })),
        ),
    );

    // Assess: the same tally as the reviewed ledger (so one acknowledgement that is returned but
    // never recorded fails here), and each recorded entry is one of the acknowledgements.
    const tally: Record<string, number> = {};
    for (const { id } of recorded) tally[ruleFamily(id)] = (tally[ruleFamily(id)] ?? 0) + 1;
    expect(tally).toEqual(LEDGER);
    const key = (entry: { path: string; id: string; reason: string }) =>
      `${entry.path} ${entry.id} ${entry.reason}`;
    expect(recorded.map(key).sort()).toEqual(
      acknowledgements.map((ack) => key({ ...ack, path: ack.scope.node.path })).sort(),
    );
  });
});

describe('nag canary', () => {
  const canary = () => {
    const app = new App({ builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'Canary');
    new Bucket(stack, 'BadBucket', {
      enforceSSL: false,
      blockPublicAccess: new BlockPublicAccess({
        blockPublicAcls: false,
        blockPublicPolicy: false,
        ignorePublicAcls: false,
        restrictPublicBuckets: false,
      }),
    });
    return { app, stack };
  };

  it('reports exactly S1, S2 and S10 on a bucket without logs, public-access block or TLS', () => {
    const rules = findingsOf(canary().stack).map((finding) => finding.rule);
    expect(rules.sort()).toEqual(['AwsSolutions-S1', 'AwsSolutions-S10', 'AwsSolutions-S2']);
  });

  it('fails synthesis through the Validations plugin, as bin/app.ts registers it', () => {
    const { app } = canary();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-S10/);
  });
});
