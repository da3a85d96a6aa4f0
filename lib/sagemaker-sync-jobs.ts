/**
 * What a state machine's role needs to run SageMaker jobs of one kind through a `.sync` Task
 * (`createTrainingJob.sync`, `createProcessingJob.sync`): create, wait on and stop the jobs its names
 * allow; let Step Functions manage the event rule through which it hears of them ending; and pass
 * the jobs' execution role to SageMaker, to SageMaker only. Shared by the training workflow
 * (lib/constructs/training-workflow.ts) and the avatars family's processing jobs
 * (lib/families/avatars.ts).
 */
import type { Stack } from 'aws-cdk-lib';
import { type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';

export type SageMakerJobKind = 'Training' | 'Processing';

/** The rule Step Functions manages to hear of jobs of `kind` ending. */
export const syncJobsEventRule = (kind: SageMakerJobKind) =>
  `StepFunctionsGetEventsForSageMaker${kind}JobsRule`;

export function sageMakerSyncJobStatements(
  stack: Stack,
  props: { kind: SageMakerJobKind; jobsArn: string; role: IRole },
): PolicyStatement[] {
  const { kind, jobsArn, role } = props;
  return [
    new PolicyStatement({
      sid: `Run${kind}Jobs`,
      // AddTags: the job is created with tags (tagging on create needs it); ListTags: `.sync`.
      actions: [
        `sagemaker:Create${kind}Job`,
        `sagemaker:Describe${kind}Job`,
        `sagemaker:Stop${kind}Job`,
        'sagemaker:AddTags',
        'sagemaker:ListTags',
      ],
      resources: [jobsArn],
    }),
    new PolicyStatement({
      sid: `HearOf${kind}JobsEnding`,
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: [
        stack.formatArn({ service: 'events', resource: 'rule', resourceName: syncJobsEventRule(kind) }),
      ],
    }),
    new PolicyStatement({
      sid: `Pass${kind}Role`,
      actions: ['iam:PassRole'],
      resources: [role.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    }),
  ];
}
