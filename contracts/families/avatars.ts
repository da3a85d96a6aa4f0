import { defineFamily } from './manifest.ts';

/**
 * Seed 004: avatarization (Octopize's avatar method) as a graph of jobs over a set of YAML
 * resources. Each job is one execution of the avatars machine: it waits for its parents, runs the
 * engine (in Lambda, sized to the table, or as a SageMaker Processing job above what Lambda holds)
 * and wakes its dependants.
 */
export const avatarsFamily = defineFamily({
  name: 'avatars',
  seeds: ['004'],
  routeFamilies: ['avatars'],
  jobKinds: ['avatars'],
  errorFormat: 'seed004',
  stateMachines: {
    avatars: {
      file: 'avatars.asl.json',
      taskFunctions: [
        'DecideAvatarJobFunctionArn',
        'AwaitAvatarParentsFunctionArn',
        'RunAvatarJobFunctionArn',
        'RunLargeAvatarJobFunctionArn',
        'PrepareAvatarProcessingFunctionArn',
        'RecordAvatarProcessingFunctionArn',
        'ReleaseAvatarDependantsFunctionArn',
        'FailJobFunctionArn',
      ],
      serviceSubstitutions: ['AvatarProcessingRoleArn', 'AvatarizerImageUri'],
    },
  },
});
