/** One stack per stage. The key tool finds a deployed stage's outputs by this name. */
export const stackNameFor = (stage: string) => `SynthForge-${stage}`;
