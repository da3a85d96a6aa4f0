import { avatarsFamily } from '../../../contracts/families/avatars.ts';
import { avatarsRoutes } from '../../handlers/api/avatars.ts';
import { awaitAvatarParentsTask } from '../../handlers/workflow/await-avatar-parents.ts';
import { decideAvatarJobTask } from '../../handlers/workflow/decide-avatar-job.ts';
import { failJobTask } from '../../handlers/workflow/fail-job.ts';
import { prepareAvatarProcessingTask } from '../../handlers/workflow/prepare-avatar-processing.ts';
import { recordAvatarProcessingTask } from '../../handlers/workflow/record-avatar-processing.ts';
import { releaseAvatarDependantsTask } from '../../handlers/workflow/release-avatar-dependants.ts';
import { runAvatarJobTask } from '../../handlers/workflow/run-avatar-job.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import type { LambdaFamily } from '../family.ts';
import type { AvatarsRuntime } from './runtime.ts';

/**
 * Seed 004's avatarization routes and the avatars machine's steps. The two Run placeholders are the
 * same code in functions of two memory sizes; PrepareProcessing and RecordProcessing surround the
 * SageMaker Processing job that runs larger tables. A failure a step could not record is recorded by
 * generation's FailJob, as the other machines' are.
 */
export const avatarsLambdas = {
  manifest: avatarsFamily,
  routes: { avatars: avatarsRoutes },
  tasks: {
    avatars: {
      DecideAvatarJobFunctionArn: decideAvatarJobTask,
      AwaitAvatarParentsFunctionArn: awaitAvatarParentsTask,
      RunAvatarJobFunctionArn: runAvatarJobTask,
      RunLargeAvatarJobFunctionArn: runAvatarJobTask,
      PrepareAvatarProcessingFunctionArn: prepareAvatarProcessingTask,
      RecordAvatarProcessingFunctionArn: recordAvatarProcessingTask,
      ReleaseAvatarDependantsFunctionArn: releaseAvatarDependantsTask,
      FailJobFunctionArn: failJobTask,
    },
  },
} satisfies LambdaFamily<CoreRuntime & AvatarsRuntime>;
