/**
 * Alarms on what should never happen quietly: function errors, failed or timed-out batch executions,
 * dead letters, API 5xx, and model endpoints whose container answers 5xx. They notify one SNS topic,
 * which e-mails the alarm address when the stage has one.
 */
import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface ObservabilityProps {
  /** Every function of the stack: each gets an alarm on its Errors metric, unless excluded below. */
  readonly functions: readonly IFunction[];
  /**
   * Functions whose Errors are not failures, so an alarm on them would only page on noise (the
   * authorizer: each rejected key is a Lambda error). Their real failures must surface elsewhere,
   * as the authorizer's do in the API's 5xx.
   * @default - none
   */
  readonly withoutErrorsAlarm?: readonly IFunction[];
  /** Its 5XXError metric (which includes authorizer failures) gets an alarm. */
  readonly restApi: RestApi;
  readonly batchStateMachine: IStateMachine;
  readonly deadLetterQueue: IQueue;
  /**
   * SageMaker endpoints whose model errors (the container answered 5xx: out of GPU memory, a bad
   * model) get an alarm each. Their one variant is `AllTraffic`.
   * @default - none
   */
  readonly modelEndpointNames?: readonly string[];
  /**
   * Subscribed to the alarm topic.
   * @default - no subscription (subscribe to the topic yourself)
   */
  readonly alarmEmail?: string;
}

const PERIOD = Duration.minutes(5);

export class Observability extends Construct {
  readonly alarmTopic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.alarmTopic = new Topic(this, 'AlarmTopic', { displayName: 'SynthForge alarms', enforceSSL: true });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.alarmTopic);

    const alarm = (alarmId: string, metric: IMetric, threshold: number, description: string) => {
      const created = new Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(action);
      this.alarms.push(created);
    };

    const withoutErrorsAlarm = new Set(props.withoutErrorsAlarm ?? []);
    for (const fn of withoutErrorsAlarm) {
      if (!props.functions.includes(fn))
        throw new Error(`${fn.node.path} is excluded but not among the functions`);
    }
    for (const fn of props.functions.filter((f) => !withoutErrorsAlarm.has(f))) {
      alarm(
        `${fn.node.id}Errors`,
        fn.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        1,
        `${fn.node.id} returned errors`,
      );
    }
    alarm(
      'BatchExecutionsFailed',
      props.batchStateMachine.metricFailed({ period: PERIOD, statistic: 'Sum' }),
      1,
      'Batch executions failed (the reconciler closes their jobs; look at why)',
    );
    alarm(
      'BatchExecutionsTimedOut',
      props.batchStateMachine.metricTimedOut({ period: PERIOD, statistic: 'Sum' }),
      1,
      'Batch executions timed out',
    );
    alarm(
      'DeadLetters',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: PERIOD,
        statistic: 'Maximum',
      }),
      1,
      'Events or reconciler invocations that could not be delivered: inspect and redrive',
    );
    // Also where authorizer failures (other than a rejected key) show: API Gateway answers them 5xx.
    alarm(
      'Api5xx',
      props.restApi.metricServerError({ period: PERIOD, statistic: 'Sum' }),
      5,
      'The API answered 5xx (a handler, integration or authorizer failure)',
    );
    for (const endpointName of props.modelEndpointNames ?? []) {
      alarm(
        `${endpointName}ModelErrors`,
        new Metric({
          namespace: 'AWS/SageMaker',
          metricName: 'Invocation5XXErrors',
          dimensionsMap: { EndpointName: endpointName, VariantName: 'AllTraffic' },
          period: PERIOD,
          statistic: 'Sum',
        }),
        1,
        `The model behind ${endpointName} failed requests (5xx): see /aws/sagemaker/Endpoints/${endpointName}`,
      );
    }
  }
}
