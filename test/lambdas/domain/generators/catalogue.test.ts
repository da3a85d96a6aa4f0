import { describe, expect, it } from 'vitest';
import { GeneratorInfo } from '../../../../contracts/generators.ts';
import {
  describeGenerator,
  getGenerator,
  listGenerators,
  summarizeGenerator,
} from '../../../../lambdas/domain/generators/catalogue.ts';
import { applyDefaults, validateParams } from '../../../../lambdas/domain/generators/params.ts';

describe('catalogue', () => {
  it('offers the shapes generator, running in Lambda with previews', () => {
    // Act
    const shapes = getGenerator('shapes');

    // Assess
    expect(listGenerators().map((generator) => generator.name)).toContain('shapes');
    expect(shapes).toMatchObject({ name: 'shapes', runsOn: 'lambda', allowsPreview: true });
  });

  it.each(['nope', 'constructor', '__proto__', 'Shapes', ''])('finds no generator called %j', (name) => {
    // Act
    const generator = getGenerator(name);

    // Assess
    expect(generator).toBeUndefined();
  });

  it('gives each generator a unique name', () => {
    // Act
    const names = listGenerators().map((generator) => generator.name);

    // Assess
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(listGenerators().map((generator) => [generator.name, generator] as const))(
    'describes %s in the API shape, with every parameter documented',
    (_, generator) => {
      // Act
      const info = describeGenerator(generator);

      // Assess
      expect(GeneratorInfo.strict().parse(info)).toEqual(info);
      expect(info).toMatchObject({
        ...summarizeGenerator(generator),
        runs_on: generator.runsOn,
        options: { preview: generator.allowsPreview },
        output: generator.output,
      });
      expect(info.params).toEqual(generator.parameters);
      for (const spec of info.params) expect(spec.description, spec.name).toMatch(/\w{3,}/);
    },
  );

  it.each(listGenerators().map((generator) => [generator.name, generator] as const))(
    'accepts %s defaults as valid parameters',
    (_, generator) => {
      // Act
      const violations = validateParams(generator, applyDefaults(generator, {}));

      // Assess
      expect(violations).toBeNull();
    },
  );

  it('hands out copies, so a caller cannot change the catalogue', () => {
    // Prepare
    const [first] = listGenerators();
    if (!first) throw new Error('the catalogue is empty');
    const info = describeGenerator(first);
    const list = listGenerators();

    // Act
    info.params[0] = { ...first.parameters[0], name: 'changed', type: 'int', default_value: -1 };
    list.length = 0;

    // Assess
    expect(describeGenerator(first).params[0]?.name).not.toBe('changed');
    expect(listGenerators()).toHaveLength(1);
  });
});
