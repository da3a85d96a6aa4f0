/**
 * How `train start` builds its request from a file and flags and checks it against the contract,
 * and how `--follow` tells the trainer's new log lines from those it already printed.
 */
import { describe, expect, it } from 'vitest';
import { logUpdate } from '../../src/cli/commands/train.ts';
import { UsageError } from '../../src/cli/exit-codes.ts';
import { buildTrainRequest, checkTrainRequest, parseTrainRequestText } from '../../src/cli/train-request.ts';

describe('buildTrainRequest', () => {
  it('maps the flags onto the request, over the file', () => {
    // Prepare
    const file = { custom_name: 'old', wandb_tags: ['a'], training_kwargs: { margin: 0.3, num_epochs: 9 } };

    // Act
    const request = buildTrainRequest(file, {
      name: 'players',
      prefix: 'datasets/players/',
      epochs: '4',
      set: [
        'training.learning_rate=0.0005',
        'model.attention_layers=layer1, layer4',
        'model_kwargs.use_cbam=false',
        'compute.instance_type=ml.m5.xlarge',
        'frames=8',
      ],
      tag: ['b', 'a'],
      'no-resume': true,
    });

    // Assess
    expect(request).toEqual({
      custom_name: 'players',
      dataset: { s3_prefix: 'datasets/players/' },
      wandb_tags: ['a', 'b'],
      training_kwargs: { margin: 0.3, num_epochs: 4, learning_rate: 0.0005 },
      model_kwargs: { attention_layers: ['layer1', 'layer4'], use_cbam: false },
      compute: { instance_type: 'ml.m5.xlarge' },
      frames: 8,
      resume_from_checkpoint: false,
    });
    expect(file.training_kwargs.num_epochs).toBe(9);
  });

  it('reads a JSON value where one is given, for lists too', () => {
    const request = buildTrainRequest(
      {},
      { set: ['model.attention_layers=["layer2","layer3"]', 'training.margin=big'] },
    );
    expect(request).toEqual({
      model_kwargs: { attention_layers: ['layer2', 'layer3'] },
      training_kwargs: { margin: 'big' },
    });
  });

  it.each([
    [{ set: ['learning_rate'] }, /--set takes SECTION\.NAME=VALUE/],
    [{ set: ['training.=1'] }, /--set takes SECTION\.NAME=VALUE/],
    [{ set: ['__proto__.polluted=1'] }, /--set cannot set "__proto__.polluted"/],
    [{ batch: '01JD3X2K8Q7YV4N6B5M9T0RWZC', prefix: 'datasets/x/' }, /one of --batch ID and --prefix/],
    [{ resume: true, 'no-resume': true }, /one of --resume and --no-resume/],
  ])('refuses flags it cannot read: %j', (flags, message) => {
    expect(() => buildTrainRequest({}, flags)).toThrow(message);
  });
});

describe('checkTrainRequest', () => {
  it('accepts a valid request and fills in the defaults the server will use', () => {
    const checked = checkTrainRequest({ training_kwargs: { num_epochs: 3 } });
    expect(checked.ok).toBe(true);
    if (checked.ok) {
      expect(checked.request).toEqual({ training_kwargs: { num_epochs: 3 } });
      expect(checked.parsed.training_kwargs).toMatchObject({ num_epochs: 3, batch_size: 64 });
    }
  });

  it('names every problem by its parameter', () => {
    // Act
    const checked = checkTrainRequest({
      training_kwargs: { learning_rate: -1, learning_rte: 0.1 },
      model_kwargs: { attention_layers: ['layer7'] },
      dataset: { batch_id: '01JD3X2K8Q7YV4N6B5M9T0RWZC', s3_prefix: 'datasets/x/' },
      typo: 1,
    });

    // Assess
    expect(checked.ok).toBe(false);
    const problems = checked.ok ? [] : checked.problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        {
          parameter: 'training_kwargs.learning_rate',
          message: 'learning_rate must be above 0 and at most 1',
        },
        { parameter: 'training_kwargs.learning_rte', message: 'not a parameter of training_kwargs' },
        {
          parameter: 'model_kwargs.attention_layers.0',
          message: 'attention_layers must name ResNet stages: layer1, layer2, layer3, layer4',
        },
        { parameter: 'typo', message: 'not a parameter of the request' },
      ]),
    );
    expect(problems.some((problem) => problem.parameter.startsWith('dataset'))).toBe(true);
  });
});

describe('parseTrainRequestText', () => {
  it.each([
    ['{"frames": ', /request\.json is not JSON/],
    ['[{"frames": 2}]', /request\.json must hold one JSON object/],
  ])('refuses %j', (text, message) => {
    expect(() => parseTrainRequestText(text, 'request.json')).toThrow(UsageError);
    expect(() => parseTrainRequestText(text, 'request.json')).toThrow(message);
  });
});

describe('logUpdate', () => {
  it.each([
    [[], ['a', 'b'], ['a', 'b']],
    [['a', 'b'], ['a', 'b'], []],
    [
      ['a', 'b', 'c'],
      ['b', 'c', 'd', 'e'],
      ['d', 'e'],
    ],
    [
      ['a', 'b'],
      ['x', 'y'],
      ['x', 'y'],
    ],
    [['a', 'b', 'c'], [], []],
    [['a', 'b', 'c'], ['a', 'b'], []],
  ])('after %j, of %j prints %j', (previous, next, expected) => {
    expect(logUpdate(previous, next).fresh).toEqual(expected);
  });

  it('keeps the last window when a read brings an empty or older one', () => {
    // Prepare
    const first = logUpdate([], ['a', 'b']).window;

    // Act
    const empty = logUpdate(first, []);
    const older = logUpdate(first, ['a']);
    const after = logUpdate(older.window, ['a', 'b', 'c']);

    // Assess
    expect(empty.window).toEqual(['a', 'b']);
    expect(older.window).toEqual(['a', 'b']);
    expect(after.fresh).toEqual(['c']);
  });
});
