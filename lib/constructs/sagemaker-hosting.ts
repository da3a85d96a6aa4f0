/**
 * The execution role SageMaker hosts a model with, and what every hosted container needs of it:
 * pulling its image and writing its endpoint's log groups. Shared by the image models' asynchronous
 * endpoints (lib/constructs/model-endpoints.ts) and the VLM endpoint's inference components
 * (lib/constructs/vlm-endpoint.ts), so that the two roles cannot drift apart.
 */
import {
  Policy,
  PolicyStatement,
  type PolicyStatementProps,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { EcrImage } from '../ecr-image.ts';

/** One statement of the role's policy, always with a Sid. */
export type HostingStatement = PolicyStatementProps & { sid: string };

export interface HostingRole {
  readonly role: Role;
  /** The role's statements. */
  readonly policy: Policy;
  /** Adds one statement to `policy`. */
  readonly allow: (statement: HostingStatement) => void;
}

/** `ExecutionRole`, assumed by SageMaker, and its policy `Access`, both in `scope`. */
export function hostingRole(scope: Construct, description: string): HostingRole {
  const role = new Role(scope, 'ExecutionRole', {
    assumedBy: new ServicePrincipal('sagemaker.amazonaws.com'),
    description,
  });
  const policy = new Policy(scope, 'Access', { roles: [role] });
  return { role, policy, allow: (statement) => policy.addStatements(new PolicyStatement(statement)) };
}

/**
 * Lets the role pull `image` and write to `logGroups`. `logsSid` names the logs statement
 * (`WriteOwnLogGroup` for one group, `WriteOwnLogGroups` for several).
 */
export function allowHosting(
  hosting: HostingRole,
  { image, logGroups, logsSid }: { image: EcrImage; logGroups: readonly ILogGroup[]; logsSid: string },
): void {
  hosting.allow({
    sid: 'PullImage',
    actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
    resources: [image.repositoryArn],
  });
  // ECR's registry token has no resource: AWS allows only "*".
  hosting.allow({ sid: 'AuthenticateToEcr', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] });
  // SageMaker's documented hosting permissions; the groups exist already (the stack creates them, with
  // a retention), so CreateLogGroup is moot.
  hosting.allow({
    sid: logsSid,
    actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
    resources: logGroups.map((group) => group.logGroupArn),
  });
}
