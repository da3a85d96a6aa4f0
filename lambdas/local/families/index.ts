/**
 * The registry of the families the local platform runs: adding a family is adding its local part
 * here (docs/architecture.md, "Adding a family"). The platform derives from this list its route
 * table, its task bindings, the executions a cancel may stop, the resume rules and the shutdown order.
 */
import type { AvatarsRuntime } from '../../families/avatars/runtime.ts';
import type { DatasetsRuntime } from '../../families/datasets/runtime.ts';
import type { GenerationRuntime } from '../../families/generation/runtime.ts';
import type { ImagesRuntime } from '../../families/images/runtime.ts';
import type { InferenceRuntime } from '../../families/inference/runtime.ts';
import type { TrainingRuntime } from '../../families/training/runtime.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { localAvatars } from './avatars.ts';
import { localDatasets } from './datasets.ts';
import type { LocalFamily } from './family.ts';
import { localGeneration } from './generation.ts';
import { localImages } from './images.ts';
import { localInference } from './inference.ts';
import { localPlatformRoutes } from './platform.ts';
import { localTraining } from './training.ts';

/** The local platform's runtime: the core and every registered family's part. */
export type PlatformRuntime = CoreRuntime &
  GenerationRuntime &
  ImagesRuntime &
  TrainingRuntime &
  InferenceRuntime &
  AvatarsRuntime &
  DatasetsRuntime;

/** In the order they start; they stop in the same order. */
export const LOCAL_FAMILIES: readonly LocalFamily<object, PlatformRuntime>[] = [
  localPlatformRoutes,
  localGeneration,
  localImages,
  localTraining,
  localInference,
  localAvatars,
  localDatasets,
];
