import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../lib/paths.ts';
import {
  allStates,
  placeholdersOf,
  readDefinition,
  SERVICE_SUBSTITUTIONS,
  STATE_MACHINE_FILES,
  type StateMachineName,
  substitute,
  TASK_FUNCTIONS,
} from '../../statemachines/definitions.ts';

const NAMES = Object.keys(STATE_MACHINE_FILES) as StateMachineName[];

describe('placeholdersOf', () => {
  it('finds each placeholder once and nothing else', () => {
    const text = JSON.stringify({
      a: '$' + '{One}',
      b: '$' + '{Two}',
      c: '$' + '{One}',
      d: '$.x',
      e: '$$' + '{',
    });
    expect(placeholdersOf(text)).toEqual(new Set(['One', 'Two']));
  });
});

describe('substitute', () => {
  it('replaces every placeholder and refuses to leave one without a value', () => {
    const text = '{"a":"$' + '{One}","b":"$' + '{Two}"}';
    expect(substitute(text, { One: '1', Two: '2' })).toBe('{"a":"1","b":"2"}');
    expect(() => substitute(text, { One: '1' })).toThrow(/no substitution for \$\{Two\}/);
  });
});

describe('STATE_MACHINE_FILES and TASK_FUNCTIONS', () => {
  it('point at the ASL files under statemachines/', () => {
    expect(relative(REPO_ROOT, STATE_MACHINE_FILES.generationBatch)).toBe(
      'statemachines/generation-batch.asl.json',
    );
  });

  it.each(NAMES)(
    'list exactly the placeholders of %s (what the stack and the local platform supply)',
    (name) => {
      expect(placeholdersOf(readDefinition(name))).toEqual(
        new Set([...TASK_FUNCTIONS[name], ...SERVICE_SUBSTITUTIONS[name]]),
      );
    },
  );
});

describe('allStates', () => {
  it('lists the states inside Map and Parallel states too, by path', () => {
    const states: Parameters<typeof allStates>[0] = {
      A: { Type: 'Task' },
      M: { Type: 'Map', ItemProcessor: { States: { B: { Type: 'Task' } } } },
      P: {
        Type: 'Parallel',
        Branches: [{ States: { C: { Type: 'Pass' } } }, { States: { D: { Type: 'Task' } } }],
      },
    };

    expect(allStates(states).map(([path, state]) => `${path}:${state.Type}`)).toEqual([
      'A:Task',
      'M:Map',
      'M/B:Task',
      'P:Parallel',
      'P/C:Pass',
      'P/D:Task',
    ]);
  });
});
