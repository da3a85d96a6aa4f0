import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { ParameterSpec, ParamValues } from '../../../../contracts/generators.ts';
import { listGenerators } from '../../../../lambdas/domain/generators/catalogue.ts';
import type { GeneratorSchema } from '../../../../lambdas/domain/generators/generator.ts';
import {
  applyDefaults,
  drawParamSets,
  randomizeUnspecified,
  randomParams,
  validateJobs,
  validateParams,
} from '../../../../lambdas/domain/generators/params.ts';
import { Rng } from '../../../../lambdas/domain/generators/rng.ts';
import { infinityRandomJob } from './infinity-random-job.ts';

const DEMO: GeneratorSchema = {
  name: 'demo',
  parameters: [
    { name: 'width', type: 'int', default_value: 512, options: { min: 64, max: 1024 } },
    { name: 'scale', type: 'float', default_value: 1, options: { min: 0.5, max: 2 } },
    { name: 'shape', type: 'str', default_value: 'circle', options: { choices: ['circle', 'star'] } },
    { name: 'mirror', type: 'bool', default_value: false },
    { name: 'label', type: 'str', default_value: 'untitled' },
    { name: 'min_count', type: 'int', default_value: 1, options: { min: 1, max: 10 } },
    { name: 'max_count', type: 'int', default_value: 5, options: { min: 1, max: 10 } },
  ],
  orderedPairs: [{ lower: 'min_count', upper: 'max_count' }],
};

/** The demo schema and every generator in the catalogue: new generators are covered as they arrive. */
const SCHEMAS: readonly GeneratorSchema[] = [DEMO, ...listGenerators()];
const schemaArb = fc.constantFrom(...SCHEMAS);
const rngArb = fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((seed) => new Rng(seed));

describe('applyDefaults', () => {
  it('completes the values with defaults, in schema order, keeping what was given', () => {
    // Act
    const complete = applyDefaults(DEMO, { shape: 'star', width: 100 });

    // Assess
    expect(Object.entries(complete)).toEqual([
      ['width', 100],
      ['scale', 1],
      ['shape', 'star'],
      ['mirror', false],
      ['label', 'untitled'],
      ['min_count', 1],
      ['max_count', 5],
    ]);
  });
});

describe('validateParams', () => {
  it('accepts no values at all, and a complete valid set', () => {
    // Act
    const empty = validateParams(DEMO, {});
    const complete = validateParams(DEMO, { width: 64, scale: 2, shape: 'star', mirror: true, label: 'a' });

    // Assess
    expect(empty).toBeNull();
    expect(complete).toBeNull();
  });

  it.each([
    ['a numeric string for an int', 'width', '512', 'an integer'],
    ['a fraction for an int', 'width', 512.5, 'an integer'],
    ['a numeric string for a float', 'scale', '1.5', 'a finite number'],
    ['a number for a bool', 'mirror', 1, 'a boolean'],
    ['a string for a bool', 'mirror', 'true', 'a boolean'],
    ['a number for a str', 'shape', 3, 'a string'],
    ['null for an int', 'width', null, 'an integer'],
  ])('reports %s as a type violation', (_, parameter, value, constraint) => {
    // Act
    const violations = validateParams(DEMO, { [parameter]: value });

    // Assess
    expect(violations).toEqual([{ parameter, kind: 'type', value, constraint, message: expect.any(String) }]);
    expect(violations?.[0]?.message).toContain(parameter);
    expect(violations?.[0]?.message).toContain(constraint);
    expect(violations?.[0]?.message).toContain(JSON.stringify(value));
  });

  it('accepts an integer for a float', () => {
    // Act
    const violations = validateParams(DEMO, { scale: 2 });

    // Assess
    expect(violations).toBeNull();
  });

  it('reports a value outside min and max, naming parameter, value and bounds', () => {
    // Act
    const violations = validateParams(DEMO, { width: 10 });

    // Assess
    expect(violations).toEqual([
      {
        parameter: 'width',
        kind: 'range',
        value: 10,
        constraint: '>= 64 and <= 1024',
        message: 'width must be >= 64 and <= 1024, got 10',
      },
    ]);
  });

  it('reports a value that is not one of the choices, listing them', () => {
    // Act
    const violations = validateParams(DEMO, { shape: 'hexagon' });

    // Assess
    expect(violations).toEqual([
      {
        parameter: 'shape',
        kind: 'choice',
        value: 'hexagon',
        constraint: 'one of: circle, star',
        message: 'shape must be one of: circle, star, got "hexagon"',
      },
    ]);
  });

  it('reports an unknown parameter, listing the known ones', () => {
    // Act
    const violations = validateParams(DEMO, { colour: 'red' });

    // Assess
    expect(violations).toHaveLength(1);
    expect(violations?.[0]).toMatchObject({ parameter: 'colour', kind: 'unsupported', value: 'red' });
    expect(violations?.[0]?.message).toContain('colour is not a parameter of demo');
    expect(violations?.[0]?.constraint).toContain('width, scale, shape');
  });

  it('reports every problem at once, one per parameter', () => {
    // Act
    const violations = validateParams(DEMO, { width: 1e6, shape: 'hexagon', mirror: 'no', extra: 1 });

    // Assess
    expect(violations?.map(({ parameter, kind }) => [parameter, kind])).toEqual([
      ['width', 'range'],
      ['shape', 'choice'],
      ['mirror', 'type'],
      ['extra', 'unsupported'],
    ]);
  });

  it('keeps a huge value from flooding the message', () => {
    // Act
    const violations = validateParams(DEMO, { label: 'x'.repeat(10_000).split('') });

    // Assess
    expect(violations?.[0]?.message.length).toBeLessThan(200);
  });

  it('accepts an ordered pair either way round, given or defaulted', () => {
    // Act: max_count defaults to 5
    const swapped = validateParams(DEMO, { min_count: 7, max_count: 3 });
    const aboveDefault = validateParams(DEMO, { min_count: 6 });

    // Assess: the two bound one range; Infinity's client draws them independently.
    expect(swapped).toBeNull();
    expect(aboveDefault).toBeNull();
  });

  it('accepts every combination of values within their options when no validate hook adds a rule', () => {
    // Infinity's client (seed 000) validates each parameter on its own and its random_job() draws
    // each from its options: without a hook, its checks and the server's agree on every set.
    fc.assert(
      fc.property(rngArb, (rng) => {
        // Prepare: every parameter drawn on its own, as the client draws them (bools and free text keep defaults).
        const values = infinityRandomJob(DEMO.parameters, rng);

        // Act
        const violations = validateParams(DEMO, values);

        // Assess
        expect(violations).toBeNull();
      }),
    );
  });

  it('runs the generator validate hook on complete values, only once each parameter is valid', () => {
    // Prepare
    const hook = vi.fn((params: ParamValues) =>
      params.mirror === true && params.shape === 'circle'
        ? [
            {
              parameter: 'mirror',
              kind: 'range' as const,
              value: true,
              constraint: 'false for circles',
              message: 'x',
            },
          ]
        : [],
    );
    const schema: GeneratorSchema = { ...DEMO, validate: hook };

    // Act
    const crossed = validateParams(schema, { mirror: true });
    const alreadyWrong = validateParams(schema, { mirror: true, width: 'wide' });

    // Assess
    expect(crossed).toMatchObject([{ parameter: 'mirror', constraint: 'false for circles' }]);
    expect(hook).toHaveBeenCalledTimes(1);
    expect(hook).toHaveBeenCalledWith(applyDefaults(DEMO, { mirror: true }));
    expect(alreadyWrong).toMatchObject([{ parameter: 'width', kind: 'type' }]);
  });

  it('reports anything but an object as one type violation on the whole', () => {
    fc.assert(
      fc.property(
        schemaArb,
        fc.oneof(
          fc.integer(),
          fc.double(),
          fc.string(),
          fc.boolean(),
          fc.constant(null),
          fc.array(fc.jsonValue()),
        ),
        (schema, values) => {
          // Act
          const violations = validateParams(schema, values);

          // Assess
          expect(violations).toMatchObject([
            { parameter: '', kind: 'type', constraint: 'an object of parameter values' },
          ]);
        },
      ),
    );
  });
});

describe('validateJobs', () => {
  it('answers each job in order, null for the valid ones', () => {
    // Act
    const results = validateJobs(DEMO, [{}, { width: 1 }, { shape: 'star' }, 'nonsense']);

    // Assess
    expect(results.map((violations) => violations?.map((violation) => violation.kind) ?? null)).toEqual([
      null,
      ['range'],
      null,
      ['type'],
    ]);
  });
});

describe('randomParams and randomizeUnspecified', () => {
  it('samples every parameter, and the same seed gives the same values', () => {
    // Act
    const first = randomParams(DEMO, new Rng(5));
    const again = randomParams(DEMO, new Rng(5));

    // Assess
    expect(again).toEqual(first);
    expect(Object.keys(first)).toEqual(DEMO.parameters.map((spec) => spec.name));
    expect(first.label).toBe('untitled'); // an open string has nothing to sample from
  });

  it('varies the values across seeds within their ranges and choices', () => {
    // Act
    const samples = Array.from({ length: 200 }, (_, seed) => randomParams(DEMO, new Rng(seed)));

    // Assess
    expect(new Set(samples.map((values) => values.shape))).toEqual(new Set(['circle', 'star']));
    expect(new Set(samples.map((values) => values.mirror))).toEqual(new Set([true, false]));
    const widths = samples.map((values) => values.width as number);
    expect(Math.min(...widths)).toBeLessThan(200);
    expect(Math.max(...widths)).toBeGreaterThan(900);
  });

  it('keeps the user values and draws the rest', () => {
    // Act
    const values = randomizeUnspecified(DEMO, { width: 100, shape: 'star' }, new Rng(3));

    // Assess
    expect(values).toMatchObject({ width: 100, shape: 'star' });
    expect(validateParams(DEMO, values)).toBeNull();
  });

  it('draws the free side of an ordered pair around the fixed side', () => {
    // Act
    const aboveMin = Array.from({ length: 50 }, (_, seed) =>
      randomizeUnspecified(DEMO, { min_count: 9 }, new Rng(seed)),
    );
    const belowMax = Array.from({ length: 50 }, (_, seed) =>
      randomizeUnspecified(DEMO, { max_count: 2 }, new Rng(seed)),
    );

    // Assess
    for (const values of aboveMin) expect(values.max_count).toBeGreaterThanOrEqual(9);
    for (const values of belowMax) expect(values.min_count).toBeLessThanOrEqual(2);
  });

  it('keeps unknown user keys so that validation still reports them', () => {
    // Act
    const values = randomizeUnspecified(DEMO, { colour: 'red' }, new Rng(1));

    // Assess
    expect(validateParams(DEMO, values)).toMatchObject([{ parameter: 'colour', kind: 'unsupported' }]);
  });
});

describe('properties', () => {
  it('random params always validate', () => {
    fc.assert(
      fc.property(schemaArb, rngArb, (schema, rng) => {
        // Act
        const values = randomParams(schema, rng);

        // Assess
        expect(validateParams(schema, values)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('random params around any valid user subset validate and keep the subset', () => {
    fc.assert(
      fc.property(schemaArb, rngArb, rngArb, fc.func(fc.boolean()), (schema, userRng, rng, keep) => {
        // Prepare
        const user = Object.fromEntries(
          Object.entries(randomParams(schema, userRng)).filter(([name]) => keep(name)),
        );

        // Act
        const values = randomizeUnspecified(schema, user, rng);

        // Assess
        expect(validateParams(schema, values)).toBeNull();
        expect(values).toMatchObject(user);
      }),
      { numRuns: 300 },
    );
  });

  it('a value pushed outside min or max is reported as a range violation of that parameter', () => {
    const bounded = (schema: GeneratorSchema) =>
      schema.parameters.filter((spec) => spec.options?.min !== undefined || spec.options?.max !== undefined);
    const case_ = schemaArb
      .filter((schema) => bounded(schema).length > 0)
      .chain((schema) =>
        fc.record({
          schema: fc.constant(schema),
          spec: fc.constantFrom(...bounded(schema)),
          rng: rngArb,
          below: fc.boolean(),
          distance: fc.integer({ min: 1, max: 1_000_000 }),
        }),
      );
    fc.assert(
      fc.property(case_, ({ schema, spec, rng, below, distance }) => {
        // Prepare
        const { min, max } = spec.options ?? {};
        const value =
          below && min !== undefined
            ? min - distance
            : max !== undefined
              ? max + distance
              : (min ?? 0) - distance;
        const values = { ...randomParams(schema, rng), [spec.name]: value };

        // Act
        const violations = validateParams(schema, values);

        // Assess
        expect(violations).toMatchObject([{ parameter: spec.name, kind: 'range', value }]);
      }),
      { numRuns: 300 },
    );
  });

  it('a value of the wrong JSON type is reported as a type violation of that parameter', () => {
    const wrongValue = (spec: ParameterSpec) => {
      const common = [
        fc.constant(null),
        fc.array(fc.integer(), { maxLength: 3 }),
        fc.dictionary(fc.string(), fc.integer()),
      ];
      switch (spec.type) {
        case 'int':
          return fc.oneof(
            ...common,
            fc.boolean(),
            fc.integer().map(String),
            fc.double({ noNaN: true }).filter((value) => !Number.isInteger(value)),
          );
        case 'float':
          return fc.oneof(
            ...common,
            fc.boolean(),
            fc.double().map(String),
            fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY),
          );
        case 'str':
          return fc.oneof(...common, fc.boolean(), fc.double());
        case 'bool':
          return fc.oneof(...common, fc.constantFrom('true', 'false', 0, 1), fc.string());
      }
    };
    const case_ = schemaArb.chain((schema) =>
      fc.constantFrom(...schema.parameters).chain((spec) =>
        fc.record({
          schema: fc.constant(schema),
          spec: fc.constant(spec),
          rng: rngArb,
          value: wrongValue(spec),
        }),
      ),
    );
    fc.assert(
      fc.property(case_, ({ schema, spec, rng, value }) => {
        // Prepare
        const values = { ...randomParams(schema, rng), [spec.name]: value };

        // Act
        const violations = validateParams(schema, values);

        // Assess
        expect(violations).toMatchObject([{ parameter: spec.name, kind: 'type' }]);
      }),
      { numRuns: 300 },
    );
  });

  it('a string outside the choices is reported as a choice violation of that parameter', () => {
    const withChoices = (schema: GeneratorSchema) =>
      schema.parameters.filter((spec) => spec.type === 'str' && (spec.options?.choices?.length ?? 0) > 0);
    const case_ = schemaArb
      .filter((schema) => withChoices(schema).length > 0)
      .chain((schema) =>
        fc.constantFrom(...withChoices(schema)).chain((spec) =>
          fc.record({
            schema: fc.constant(schema),
            spec: fc.constant(spec),
            rng: rngArb,
            value: fc.string().filter((value) => !spec.options?.choices?.includes(value)),
          }),
        ),
      );
    fc.assert(
      fc.property(case_, ({ schema, spec, rng, value }) => {
        // Prepare
        const values = { ...randomParams(schema, rng), [spec.name]: value };

        // Act
        const violations = validateParams(schema, values);

        // Assess
        expect(violations).toMatchObject([{ parameter: spec.name, kind: 'choice', value }]);
      }),
      { numRuns: 300 },
    );
  });

  it('every unknown key is reported as unsupported, and nothing else', () => {
    fc.assert(
      fc.property(
        schemaArb,
        rngArb,
        fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 5 }),
        (schema, rng, keys) => {
          // Prepare
          const known = new Set(schema.parameters.map((spec) => spec.name));
          const unknown = keys.filter((key) => !known.has(key));
          fc.pre(unknown.length > 0);
          const values = randomParams(schema, rng);
          for (const key of unknown) Object.defineProperty(values, key, { value: 1, enumerable: true });

          // Act
          const violations = validateParams(schema, values);

          // Assess
          // Sorted: JavaScript lists integer-like keys first, whatever the order they were added in.
          const reported = violations?.map(({ parameter, kind }) => `${kind}:${parameter}`).sort();
          expect(reported).toEqual(unknown.map((key) => `unsupported:${key}`).sort());
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** A schema whose cross-field rule few random sets meet: widths above 65 break it, the default does not. */
const NARROW: GeneratorSchema = {
  name: 'narrow',
  parameters: [
    { name: 'width', type: 'int', default_value: 64, options: { min: 64, max: 1024 } },
    { name: 'shape', type: 'str', default_value: 'circle', options: { choices: ['circle', 'star'] } },
  ],
  validate: (values) =>
    (values.width as number) > 65
      ? [{ parameter: 'width', kind: 'range', value: values.width, constraint: '<= 65', message: 'too wide' }]
      : [],
};

/** A rule across parameters: width x height at most 300,000. */
const AREA: GeneratorSchema = {
  name: 'area',
  parameters: [
    { name: 'width', type: 'int', default_value: 512, options: { min: 64, max: 1024 } },
    { name: 'height', type: 'int', default_value: 512, options: { min: 64, max: 1024 } },
  ],
  validate: (values) => {
    const area = (values.width as number) * (values.height as number);
    return area <= 300_000
      ? []
      : [
          {
            parameter: 'height',
            kind: 'range',
            value: values.height,
            constraint: 'width x height <= 300000',
            message: 'too large',
          },
        ];
  },
};

/** Values a user may send as `param_values`, sensible or not: known and unknown keys, any JSON and beyond. */
function keptValues(schema: GeneratorSchema): fc.Arbitrary<Record<string, unknown>> {
  const names = schema.parameters.map((spec) => spec.name);
  const value = fc.oneof(
    // Values the schema accepts, taken from a random valid set.
    fc.integer({ min: 0, max: 2 ** 32 - 1 }).chain((seed) => {
      const valid = randomParams(schema, new Rng(seed));
      return fc.constantFrom(...Object.values(valid));
    }),
    fc.constantFrom(
      ...schema.parameters
        .flatMap((spec) => [spec.options?.min, spec.options?.max])
        .filter((bound): bound is number => bound !== undefined),
      0,
    ),
    fc.constantFrom(
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -1e308,
      1e308,
      -1,
      1.5,
      'x',
      '\ud800',
      '\udfffx',
      '',
      null,
      true,
      [],
      {},
    ),
    fc.string({ unit: 'binary', maxLength: 8 }),
    fc.double(),
  );
  const key = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...names) },
    fc.constantFrom('colour', 'classes_', ''),
  );
  return fc.dictionary(key, value, { maxKeys: 4 });
}

describe('drawParamSets', () => {
  it.each([
    ['an infinite number (JSON 1e400)', { frames: Number.POSITIVE_INFINITY }, 'frames', 'Infinity'],
    ['a string for an integer', { frames: 'x' }, 'frames', 'x'],
    ['a number for a choice', { classes: 5 }, 'classes', 5],
    ['a lone surrogate for a choice', { palette: '\ud800' }, 'palette', '\ud800'],
    ['a lone surrogate for output', { output: '\ud800x' }, 'output', '\ud800x'],
    ['a huge negative number', { frames: -1e308 }, 'frames', -1e308],
    ['an unknown key', { colour: 'red' }, 'colour', 'red'],
  ])('answers the violations a submission gets for %s, and no sets', (_, kept, parameter, value) => {
    // Prepare
    const [shapes] = listGenerators().filter((generator) => generator.name === 'shapes');
    if (!shapes) throw new Error('no shapes generator');

    // Act
    const drawn = drawParamSets(shapes, kept, 3, new Rng(1));

    // Assess
    expect(drawn).toEqual({ violations: validateParams(shapes, kept) });
    expect(drawn).toMatchObject({ violations: [{ parameter, value }] });
  });

  it('names an infinite number as text, since JSON would write it back as null', () => {
    // Act
    const violations = validateParams(DEMO, {
      width: Number.POSITIVE_INFINITY,
      scale: Number.NEGATIVE_INFINITY,
    });

    // Assess
    expect(violations).toMatchObject([
      { parameter: 'width', kind: 'type', value: 'Infinity', constraint: 'an integer' },
      { parameter: 'scale', kind: 'type', value: '-Infinity', constraint: 'a finite number' },
    ]);
    expect(violations?.[0]?.message).toContain("Infinity (a number beyond a double's range)");
    expect(JSON.parse(JSON.stringify(violations))).toEqual(violations);
  });

  it('keeps values a submission refuses only for a rule across parameters, drawing the rest to meet it', () => {
    // Act: width 1000 with the default height (512) is over the area rule, so a job run with it alone is refused.
    const drawn = drawParamSets(AREA, { width: 1000 }, 5, new Rng(2));

    // Assess
    expect(validateParams(AREA, { width: 1000 })).toMatchObject([{ parameter: 'height', kind: 'range' }]);
    if (!('sets' in drawn)) throw new Error(`refused: ${JSON.stringify(drawn)}`);
    for (const values of drawn.sets) {
      expect(values.width).toBe(1000);
      expect(validateParams(AREA, values)).toBeNull();
    }
  });

  it('refuses values that conflict among themselves as a submission does', () => {
    // Act
    const drawn = drawParamSets(AREA, { width: 1000, height: 1000 }, 2, new Rng(2));

    // Assess
    expect(drawn).toEqual({ violations: validateParams(AREA, { width: 1000, height: 1000 }) });
    expect(drawn).toMatchObject({ violations: [{ parameter: 'height', kind: 'range', value: 1000 }] });
  });

  it('falls back to the defaults for what the user left out when random sets keep missing a cross-field rule', () => {
    // Act
    const sets = Array.from({ length: 20 }, (_, seed) =>
      randomizeUnspecified(NARROW, { shape: 'star' }, new Rng(seed)),
    );

    // Assess
    for (const values of sets) {
      expect(validateParams(NARROW, values)).toBeNull();
      expect(values.shape).toBe('star');
    }
  });

  it('for any kept values, answers their violations or n sets that all validate and keep them', () => {
    const case_ = fc.constantFrom(...SCHEMAS, NARROW).chain((schema) =>
      fc.record({
        schema: fc.constant(schema),
        kept: keptValues(schema),
        n: fc.integer({ min: 1, max: 5 }),
        seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      }),
    );
    fc.assert(
      fc.property(case_, ({ schema, kept, n, seed }) => {
        // Act
        const drawn = drawParamSets(schema, kept, n, new Rng(seed));

        // Assess: a refusal is exactly what a job run with these values gets; valid values are never refused.
        const submission = validateParams(schema, kept);
        if ('violations' in drawn) {
          expect(submission).not.toBeNull();
          expect(drawn.violations).toEqual(submission);
          return;
        }
        expect(drawn.sets).toHaveLength(n);
        expect(validateJobs(schema, drawn.sets)).toEqual(drawn.sets.map(() => null));
        for (const values of drawn.sets) expect(values).toMatchObject(kept);
      }),
      { numRuns: 500 },
    );
  });
});
