/**
 * A container image SageMaker pulls from ECR, and the repository its role may pull from: either an
 * image of the stage's own (`ECR_IMAGE_URI`), or one of AWS's Deep Learning Containers in the
 * stack's region. Shared by the trainer (lib/constructs/training-workflow.ts) and the model
 * endpoints (lib/constructs/model-endpoints.ts).
 */
import type { Stack } from 'aws-cdk-lib';
import { ECR_IMAGE_URI } from '../contracts/models.ts';

export interface EcrImage {
  readonly uri: string;
  readonly repositoryArn: string;
}

/** The image of an ECR URI and its repository (in the URI's account and region); undefined if `uri` is none. */
export function ecrImageOf(stack: Stack, uri: string): EcrImage | undefined {
  const [, account, region, repository] = ECR_IMAGE_URI.exec(uri) ?? [];
  if (!account || !region || !repository) return undefined;
  return {
    uri,
    repositoryArn: stack.formatArn({
      service: 'ecr',
      account,
      region,
      resource: 'repository',
      resourceName: repository,
    }),
  };
}

/** `<account>.dkr.ecr.<region>.<suffix>/<repository>:<tag>`: an image of `account` in the stack's region. */
export function regionalEcrImage(stack: Stack, account: string, repository: string, tag: string): EcrImage {
  return {
    uri: `${account}.dkr.ecr.${stack.region}.${stack.urlSuffix}/${repository}:${tag}`,
    repositoryArn: stack.formatArn({
      service: 'ecr',
      account,
      resource: 'repository',
      resourceName: repository,
    }),
  };
}
