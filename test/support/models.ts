/** A deployed model as the stage's default describes it: Stable Diffusion 1.5 on one ml.g5.xlarge. */
import type { DeployedModel } from '../../contracts/models.ts';

export const SD15_MODEL: DeployedModel = {
  name: 'stable-diffusion-v1-5',
  modelId: 'runwayml/stable-diffusion-v1-5',
  description: 'SD 1.5',
  endpointName: 'synthforge-dev-stable-diffusion-v1-5',
  instanceType: 'ml.g5.xlarge',
  usdPerHour: 1.408,
  coldStartSeconds: 480,
  secondsPerImage: 4,
  invocationTimeoutSeconds: 600,
  defaultSteps: 50,
  available: true,
};
