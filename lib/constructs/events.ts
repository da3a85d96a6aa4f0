/**
 * SynthForge's events: the bus that carries `Job State Change` events (with a replayable archive),
 * the dead-letter queue for event deliveries that fail, and the rule that sends failed workflow
 * executions (of every registered family's machines) to the reconciler.
 */
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type CfnArchive, EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { JOB_EVENT_SOURCE, JOB_STATE_CHANGE } from '../../lambdas/adapters/eventbridge/event-publisher.ts';
import type { SynthForgeFunction } from './synthforge-function.ts';

/** The execution statuses that close an execution without FinishBatch having run. */
export const RECONCILED_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;

export interface EventsProps {
  /** The stage name; the bus is `synthforge-<stage>`. */
  readonly stage: string;
  /** Days events stay in the archive. */
  readonly archiveRetentionDays: number;
  /** What deleting the stack does to the dead-letter queue. */
  readonly removalPolicy: RemovalPolicy;
  /**
   * Delivery attempts of a rule target before the event goes to the dead-letter queue.
   * @default 8
   */
  readonly targetRetryAttempts?: number;
}

export class Events extends Construct {
  readonly bus: EventBus;
  /** Events no target could take, and failed asynchronous invocations of event-driven functions. */
  readonly deadLetterQueue: Queue;
  readonly #retryAttempts: number;

  constructor(scope: Construct, id: string, props: EventsProps) {
    super(scope, id);
    this.#retryAttempts = props.targetRetryAttempts ?? 8;

    this.bus = new EventBus(this, 'Bus', {
      eventBusName: `synthforge-${props.stage}`,
      description: 'SynthForge job state changes',
    });
    const archive = this.bus.archive('Archive', {
      description: 'Every SynthForge event, replayable',
      eventPattern: { account: [Stack.of(this).account] },
      retention: Duration.days(props.archiveRetentionDays),
    });
    // CDK writes `KmsKeyIdentifier: ""` for an archive without a customer key, which CloudFormation
    // refuses in some regions (aws/aws-cdk#37847, GeneralServiceException); left out, the archive uses an
    // AWS owned key.
    (archive.node.defaultChild as CfnArchive).addPropertyDeletionOverride('KmsKeyIdentifier');

    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    });
  }

  /** Lets `fn` publish to the SynthForge bus, and to no other. */
  allowPublish(fn: SynthForgeFunction): void {
    fn.allow({ sid: 'PublishJobEvents', actions: ['events:PutEvents'], resources: [this.bus.eventBusArn] });
  }

  /**
   * Sends every `Job State Change` of jobs of `kinds` on the SynthForge bus to `target`, with
   * retries and this construct's dead-letter queue. `maxEventAge` bounds how late a delivery is
   * still worth making.
   */
  forwardJobStateChanges(
    id: string,
    props: { description: string; kinds: readonly string[]; maxEventAge: Duration },
    target: IFunction,
  ): Rule {
    return new Rule(this, id, {
      description: props.description,
      eventBus: this.bus,
      eventPattern: {
        source: [JOB_EVENT_SOURCE],
        detailType: [JOB_STATE_CHANGE],
        detail: { kind: [...props.kinds] },
      },
      targets: [
        new LambdaFunction(target, {
          retryAttempts: this.#retryAttempts,
          maxEventAge: props.maxEventAge,
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });
  }

  /**
   * Sends every execution of `stateMachine` that ends FAILED, TIMED_OUT or ABORTED (Step Functions
   * publishes these to the default bus) to `reconciler`, with retries and this construct's
   * dead-letter queue.
   */
  reconcileFailedExecutions(stateMachines: readonly IStateMachine[], reconciler: IFunction): Rule {
    return new Rule(this, 'FailedExecutions', {
      description:
        'Workflow executions that failed, timed out or were aborted: the reconciler closes their jobs',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: [...RECONCILED_STATUSES],
          stateMachineArn: stateMachines.map((stateMachine) => stateMachine.stateMachineArn),
        },
      },
      targets: [
        new LambdaFunction(reconciler, {
          retryAttempts: this.#retryAttempts,
          maxEventAge: Duration.hours(6),
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });
  }
}
