/**
 * The attribute-inference attack of the avatar paper (`metrics/inference_metrics.py`): an attacker
 * who knows some variables of every individual (`knownVariables`) predicts another (`target`)
 * from the synthetic row nearest to the individual in a projection of the known variables fitted
 * on the synthetic table (the attacker's only data). The paper reports R², RMSE and SMAPE for a
 * continuous target and the accuracy for a categorical one; the client's `inference_continuous`
 * and `inference_categorical` (targets "> 10", higher is safer) are read here as the attack's
 * error, a SynthForge definition:
 * - `inference_continuous` = SMAPE, the mean of 200·|ŷ − y| / (|y| + |ŷ|) (0 where both are 0);
 * - `inference_categorical` = 100·(1 − accuracy).
 */
import { buildKdTree, kdTreeKnn } from '../kd-tree.ts';
import { fitProjection, transformTable } from '../projection.ts';
import type { Random } from '../rng.ts';
import { isCategorical, type Table } from '../table.ts';

export interface InferenceResult {
  readonly inferenceContinuous: number | null;
  readonly inferenceCategorical: number | null;
}

/** The paper's default number of components: `min(5, len(variable_known))`. */
const MAX_COMPONENTS = 5;

/** Runs the attack; the tables must be aligned (align.ts) and without missing values. */
export function inferenceAttack(
  original: Table,
  synthetic: Table,
  knownVariables: readonly string[],
  target: string,
  random: Random,
): InferenceResult {
  if (knownVariables.length === 0) throw new Error('the inference attack needs at least one known variable');
  if (knownVariables.includes(target))
    throw new Error(`the target "${target}" cannot also be a known variable`);
  const pick = (table: Table, names: readonly string[]): Table => ({
    rowCount: table.rowCount,
    columns: names.map((name) => {
      const column = table.columns.find((c) => c.name === name);
      if (!column)
        throw new Error(`the inference attack names the column "${name}", which the table does not have`);
      return column;
    }),
  });
  const known = pick(synthetic, knownVariables);
  const model = fitProjection(known, {
    nf: Math.min(MAX_COMPONENTS, knownVariables.length),
    random,
    exactSvd: true,
  });
  const syntheticCoords = transformTable(model, known);
  const originalCoords = transformTable(model, pick(original, knownVariables));
  const nearest = kdTreeKnn(buildKdTree(syntheticCoords), originalCoords, 1).indices;

  const truth = pick(original, [target]).columns[0]!;
  const guess = pick(synthetic, [target]).columns[0]!;
  if (isCategorical(truth) || isCategorical(guess) || truth.type === 'bool') {
    let right = 0;
    for (let row = 0; row < original.rowCount; row++) {
      const source = nearest[row]!;
      const actual = isCategorical(truth) ? truth.codes[row] : truth.values[row];
      const predicted = isCategorical(guess) ? guess.codes[source] : guess.values[source];
      if (actual === predicted) right++;
    }
    return { inferenceContinuous: null, inferenceCategorical: 100 * (1 - right / original.rowCount) };
  }
  let total = 0;
  for (let row = 0; row < original.rowCount; row++) {
    const actual = truth.values[row]!;
    const predicted = guess.values[nearest[row]!]!;
    const scale = Math.abs(actual) + Math.abs(predicted);
    total += scale === 0 ? 0 : (200 * Math.abs(predicted - actual)) / scale;
  }
  return { inferenceContinuous: total / original.rowCount, inferenceCategorical: null };
}
