/** One stack per stage. The key tool finds a deployed stage's outputs by this name. */
export const stackNameFor = (stage: string) => `SynthForge-${stage}`;

/** The stage's model endpoints, in a stack of their own that depends on the stage's stack. */
export const modelsStackNameFor = (stage: string) => `${stackNameFor(stage)}-Models`;
