/**
 * `POST /api/v1/batches` and `/batches/estimate` for every generator of the catalogue: procedural
 * generators run in Lambda (the batch workflow), models on their endpoints (the image workflow).
 * A batch is one execution of one workflow, so it runs one kind or the other; a batch that mixes
 * them is refused, naming the jobs to move to a second batch, before anything is stored.
 */
import type { Batch, BatchEstimate, BatchRequest } from '../../../contracts/batches.ts';
import { estimateModelRuns, isModelRun, planModelRun } from '../images/model-runs.ts';
import type { ImageService, PlannedModelRun } from '../images/service.ts';
import {
  type BatchService,
  isProblem,
  type PlannedJob,
  presentBatch,
  type RunProblem,
  rejectInvalidRuns,
} from './service.ts';

type Plan = { runsOn: 'lambda'; jobs: PlannedJob[] } | { runsOn: 'endpoint'; runs: PlannedModelRun[] };

export class BatchSubmission {
  constructor(
    private readonly batches: BatchService,
    private readonly images: ImageService,
  ) {}

  /** Validates every job run; one 400 lists every problem of every run. */
  plan(request: BatchRequest): Plan {
    const onEndpoint = request.job_runs.map((run) => isModelRun(this.images, run));
    rejectMixed(request, onEndpoint);
    if (onEndpoint[0]) {
      const outcomes = request.job_runs.map((run, index) => planModelRun(this.images, run, index));
      rejectInvalidRuns(outcomes.filter(isProblem), outcomes.length);
      return { runsOn: 'endpoint', runs: outcomes as PlannedModelRun[] };
    }
    return { runsOn: 'lambda', jobs: this.batches.plan(request) };
  }

  estimate(request: BatchRequest): BatchEstimate {
    const plan = this.plan(request);
    return plan.runsOn === 'endpoint'
      ? estimateModelRuns(plan.runs)
      : this.batches.estimatePlanned(plan.jobs);
  }

  async submit(tenant: string, request: BatchRequest): Promise<Batch> {
    const plan = this.plan(request);
    if (plan.runsOn === 'lambda') return this.batches.submitPlanned(tenant, request.name, plan.jobs);
    const name = request.name ?? `${plan.runs.length} images`;
    const { batch, items } = await this.images.submitRuns(tenant, name, plan.runs);
    return presentBatch(batch, items);
  }
}

/** A batch whose runs are not all on the same kind of compute: a 400 naming the odd ones out. */
function rejectMixed(request: BatchRequest, onEndpoint: readonly boolean[]): void {
  const first = onEndpoint[0] ?? false;
  const odd = request.job_runs.flatMap((run, index): RunProblem[] =>
    onEndpoint[index] === first
      ? []
      : [
          {
            index,
            generator: run.name,
            violations: [
              {
                parameter: 'name',
                kind: 'choice',
                value: run.name,
                constraint: `a generator that runs on ${first ? 'a model endpoint' : 'Lambda'}, as job 0 (${request.job_runs[0]?.name}) does`,
                message: `${run.name} runs on ${first ? 'Lambda' : 'a model endpoint'} and job 0 on ${first ? 'a model endpoint' : 'Lambda'}: a batch runs one or the other, so submit them as two batches`,
              },
            ],
          },
        ],
  );
  rejectInvalidRuns(odd, request.job_runs.length);
}
