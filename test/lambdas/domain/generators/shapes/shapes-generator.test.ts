import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ParamValues } from '../../../../../contracts/generators.ts';
import {
  applyDefaults,
  randomizeUnspecified,
  validateParams,
} from '../../../../../lambdas/domain/generators/params.ts';
import { deriveSeed, Rng } from '../../../../../lambdas/domain/generators/rng.ts';
import type { CocoDataset } from '../../../../../lambdas/domain/generators/shapes/coco.ts';
import {
  MAX_PIXELS_PER_JOB,
  readShapesParams,
  SHAPE_CLASSES,
} from '../../../../../lambdas/domain/generators/shapes/parameters.ts';
import { renderScene } from '../../../../../lambdas/domain/generators/shapes/scene.ts';
import {
  renderFrame,
  shapesGenerator,
} from '../../../../../lambdas/domain/generators/shapes/shapes-generator.ts';
import { readZipFiles } from '../../archive/read-zip.ts';
import { infinityRandomJob } from '../infinity-random-job.ts';
import { decodePng } from './decode-png.ts';

interface Job {
  files: Map<string, Uint8Array>;
  archive: Uint8Array;
  coco: CocoDataset;
  params: ParamValues;
  frames: number;
}

async function renderJob(values: ParamValues, preview = false): Promise<Job> {
  const { archive, frames } = await shapesGenerator.render(applyDefaults(shapesGenerator, values), {
    preview,
  });
  const files = readZipFiles(archive);
  const json = (name: string) => JSON.parse(Buffer.from(files.get(name) ?? []).toString('utf8'));
  return { files, archive, coco: json('annotations.json'), params: json('params.json'), frames };
}

const SMALL = { image_width: 96, image_height: 72 };

describe('shapes generator', () => {
  it('archives the frames, the COCO annotations and the parameters', async () => {
    // Act
    const job = await renderJob({ ...SMALL, frames: 3 });

    // Assess
    expect([...job.files.keys()]).toEqual([
      'annotations.json',
      'frames/frame_0000.png',
      'frames/frame_0001.png',
      'frames/frame_0002.png',
      'params.json',
    ]);
    expect(job.frames).toBe(3);
    expect(job.coco.images).toEqual(
      [0, 1, 2].map((i) => ({
        id: i + 1,
        file_name: `frames/frame_000${i}.png`,
        width: 96,
        height: 72,
      })),
    );
    for (const image of job.coco.images) {
      expect(decodePng(job.files.get(image.file_name))).toMatchObject({ width: 96, height: 72 });
    }
  });

  it('gives byte-identical archives for the same parameters, in any key order', async () => {
    // Prepare
    const values = { ...SMALL, frames: 2, seed: 77, noise: 0.05, blur: 1 };
    const reordered = Object.fromEntries(Object.entries(values).reverse());

    // Act
    const first = await renderJob(values);
    const second = await renderJob(reordered);

    // Assess
    expect(Buffer.from(second.archive).equals(Buffer.from(first.archive))).toBe(true);
  });

  it('gives a different archive for a different seed', async () => {
    // Act
    const first = await renderJob({ ...SMALL, seed: 1 });
    const second = await renderJob({ ...SMALL, seed: 2 });

    // Assess
    expect(Buffer.from(second.archive).equals(Buffer.from(first.archive))).toBe(false);
    expect(second.files.get('frames/frame_0000.png')).not.toEqual(first.files.get('frames/frame_0000.png'));
  });

  it('renders frame i from seed (seed, i), as renderScene shows it', async () => {
    // Prepare
    const values = applyDefaults(shapesGenerator, { ...SMALL, frames: 2, seed: 5, blur: 0.8, noise: 0.03 });

    // Act
    const job = await renderJob(values);

    // Assess
    for (const frame of [0, 1]) {
      const scene = renderScene(readShapesParams(values), 96, 72, deriveSeed(5, frame));
      const png = decodePng(job.files.get(`frames/frame_000${frame}.png`));
      expect(Buffer.from(png.rgb).equals(Buffer.from(scene.rgb))).toBe(true);
      const annotations = job.coco.annotations.filter((annotation) => annotation.image_id === frame + 1);
      expect(annotations.map(({ bbox, area }) => ({ bbox, area }))).toEqual(
        scene.annotations.map(({ bbox, area }) => ({ bbox, area })),
      );
    }
  });

  it('boxes and areas match the pixels of each object colour in the decoded PNG', async () => {
    // Prepare: solid background, no effects, so every object is one exact colour
    const values = applyDefaults(shapesGenerator, {
      image_width: 128,
      image_height: 96,
      frames: 1,
      seed: 31,
      background: 'solid',
      min_objects: 8,
      max_objects: 8,
    });
    const scene = renderScene(readShapesParams(values), 128, 96, deriveSeed(31, 0));
    const colours = [...scene.objects.map((object) => object.colour), ...scene.background.colours].map((c) =>
      c.join(),
    );
    expect(new Set(colours).size).toBe(colours.length); // the check below needs distinct colours

    // Act
    const job = await renderJob(values);

    // Assess
    const png = decodePng(job.files.get('frames/frame_0000.png'));
    const fromPixels = new Map<
      string,
      { left: number; top: number; right: number; bottom: number; area: number }
    >();
    for (let y = 0; y < png.height; y++) {
      for (let x = 0; x < png.width; x++) {
        const key = [...png.rgb.subarray((y * png.width + x) * 3, (y * png.width + x) * 3 + 3)].join();
        const box = fromPixels.get(key) ?? { left: x, top: y, right: x, bottom: y, area: 0 };
        fromPixels.set(key, {
          left: Math.min(box.left, x),
          top: Math.min(box.top, y),
          right: Math.max(box.right, x),
          bottom: Math.max(box.bottom, y),
          area: box.area + 1,
        });
      }
    }
    const hidden = scene.objects.length - job.coco.annotations.length;
    expect(fromPixels.size).toBe(colours.length - hidden);
    const expected = scene.annotations.map((visible) => {
      const box = fromPixels.get(scene.objects[visible.objectId - 1]?.colour.join() ?? '');
      return (
        box && {
          bbox: [box.left, box.top, box.right - box.left + 1, box.bottom - box.top + 1],
          area: box.area,
        }
      );
    });
    expect(job.coco.annotations.map(({ bbox, area }) => ({ bbox, area }))).toEqual(expected);
  });

  it('lists every class as a category with a fixed id, and labels each object with its class id', async () => {
    // Act
    const stars = await renderJob({ ...SMALL, classes: 'star', min_objects: 3 });
    const mixed = await renderJob({
      ...SMALL,
      frames: 1,
      classes: 'all',
      min_objects: 10,
      max_objects: 10,
      seed: 9,
    });

    // Assess
    const expectedCategories = SHAPE_CLASSES.map((name, i) => ({ id: i + 1, name, supercategory: 'shape' }));
    expect(stars.coco.categories).toEqual(expectedCategories);
    expect(mixed.coco.categories).toEqual(expectedCategories);
    expect(stars.coco.annotations.length).toBeGreaterThan(0);
    expect(new Set(stars.coco.annotations.map((annotation) => annotation.category_id))).toEqual(new Set([5]));

    const scene = renderScene(readShapesParams(mixed.params), 96, 72, deriveSeed(9, 0));
    const names = mixed.coco.annotations.map(
      (annotation) => mixed.coco.categories.find((category) => category.id === annotation.category_id)?.name,
    );
    expect(names).toEqual(scene.annotations.map((annotation) => annotation.shape));
  });

  it('writes COCO annotations with unique ids, polygons and iscrowd 0', async () => {
    // Act
    const { coco } = await renderJob({ ...SMALL, frames: 3, min_objects: 3, max_objects: 6 });

    // Assess
    expect(coco.annotations.map((annotation) => annotation.id)).toEqual(
      coco.annotations.map((_, i) => i + 1),
    );
    for (const annotation of coco.annotations) {
      expect(annotation.iscrowd).toBe(0);
      expect(annotation.segmentation).toHaveLength(1);
      expect(annotation.segmentation[0]?.length).toBeGreaterThanOrEqual(6);
      expect((annotation.segmentation[0]?.length ?? 1) % 2).toBe(0);
    }
  });

  it('writes the complete parameters, and rendering them again gives the same archive', async () => {
    // Prepare
    const values = { ...SMALL, frames: 2, seed: 1234, palette: 'pastel' };

    // Act
    const job = await renderJob(values);
    const again = await renderJob(job.params);

    // Assess
    expect(job.params).toEqual(applyDefaults(shapesGenerator, values));
    expect(validateParams(shapesGenerator, job.params)).toBeNull();
    expect(Buffer.from(again.archive).equals(Buffer.from(job.archive))).toBe(true);
  });

  it('previews one frame scaled to a longest side of 256, keeping the aspect ratio', async () => {
    // Act
    const preview = await renderJob({ image_width: 1024, image_height: 512, frames: 10 }, true);

    // Assess
    expect(preview.frames).toBe(1);
    expect([...preview.files.keys()]).toEqual(['annotations.json', 'frames/frame_0000.png', 'params.json']);
    expect(decodePng(preview.files.get('frames/frame_0000.png'))).toMatchObject({ width: 256, height: 128 });
    expect(preview.coco.images).toEqual([
      { id: 1, file_name: 'frames/frame_0000.png', width: 256, height: 128 },
    ]);
  });

  it('previews the scene of frame 0, with blur scaled to the smaller frame', async () => {
    // Prepare
    const values = applyDefaults(shapesGenerator, {
      image_width: 1024,
      image_height: 1024,
      seed: 3,
      blur: 4,
    });
    const params = readShapesParams(values);

    // Act
    const preview = await renderJob(values, true);

    // Assess: 256 of 1024 px, so the preview is blurred with sigma 1
    const scene = renderScene({ ...params, blur: 1 }, 256, 256, deriveSeed(3, 0));
    const png = decodePng(preview.files.get('frames/frame_0000.png'));
    expect(Buffer.from(png.rgb).equals(Buffer.from(renderFrame(params, 0, true).rgb))).toBe(true);
    expect(Buffer.from(png.rgb).equals(Buffer.from(scene.rgb))).toBe(true);
    expect(preview.coco.annotations.map(({ bbox }) => bbox)).toEqual(
      scene.annotations.map(({ bbox }) => bbox),
    );
  });

  it('previews a small image at its own size', async () => {
    // Act
    const preview = await renderJob({ image_width: 100, image_height: 80 }, true);

    // Assess
    expect(preview.coco.images[0]).toMatchObject({ width: 100, height: 80 });
  });

  it('estimates the frames a job produces: one for a preview', () => {
    // Prepare
    const values = applyDefaults(shapesGenerator, { frames: 12 });

    // Act
    const standard = shapesGenerator.estimateFrames(values, false);
    const preview = shapesGenerator.estimateFrames(values, true);

    // Assess
    expect([standard, preview]).toEqual([12, 1]);
  });

  it('reports progress after each frame, waiting for the reporter, ending at 1', async () => {
    // Prepare
    const reports: string[] = [];
    const onProgress = async (fraction: number, message: string) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      reports.push(`${fraction.toFixed(2)} ${message}`);
    };

    // Act
    await shapesGenerator.render(applyDefaults(shapesGenerator, { ...SMALL, frames: 4 }), {
      preview: false,
      onProgress,
    });

    // Assess
    expect(reports).toEqual([
      '0.25 rendered frame 1 of 4',
      '0.50 rendered frame 2 of 4',
      '0.75 rendered frame 3 of 4',
      '1.00 rendered frame 4 of 4',
    ]);
  });

  it('reads a minimum above its maximum as the range between the two', async () => {
    // Prepare
    const swapped = { ...SMALL, frames: 3, min_objects: 9, max_objects: 3, min_size: 0.2, max_size: 0.1 };

    // Act
    const violations = validateParams(shapesGenerator, swapped);
    const job = await renderJob({ ...swapped, background: 'solid', allow_occlusion: true, seed: 5 });

    // Assess: accepted, every frame holds 3 to 9 objects (fewer only when one is fully hidden).
    expect(violations).toBeNull();
    expect(readShapesParams(applyDefaults(shapesGenerator, swapped))).toMatchObject({
      minObjects: 3,
      maxObjects: 9,
      minSize: 0.1,
      maxSize: 0.2,
    });
    for (const image of job.coco.images) {
      const count = job.coco.annotations.filter((annotation) => annotation.image_id === image.id).length;
      expect(count).toBeLessThanOrEqual(9);
    }
    expect(job.params).toMatchObject({ min_objects: 9, max_objects: 3 });
  });

  it('puts every file under the folder it is given: the job id, for stored results', async () => {
    // Act
    const { archive } = await shapesGenerator.render(
      applyDefaults(shapesGenerator, { ...SMALL, frames: 2 }),
      {
        preview: false,
        folder: '01J0000000000000000000JOB1',
      },
    );

    // Assess
    expect([...readZipFiles(archive).keys()]).toEqual([
      '01J0000000000000000000JOB1/annotations.json',
      '01J0000000000000000000JOB1/frames/frame_0000.png',
      '01J0000000000000000000JOB1/frames/frame_0001.png',
      '01J0000000000000000000JOB1/params.json',
    ]);
  });

  it('for any valid small parameters renders without error, with boxes inside the frame and no more objects than asked', async () => {
    const small = fc.record({
      image_width: fc.integer({ min: 64, max: 96 }),
      image_height: fc.integer({ min: 64, max: 96 }),
      frames: fc.integer({ min: 1, max: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(small, fc.nat(), fc.boolean(), async (fixed, seed, preview) => {
        // Prepare
        const values = randomizeUnspecified(shapesGenerator, fixed, new Rng(seed));
        expect(validateParams(shapesGenerator, values)).toBeNull();

        // Act
        const job = await renderJob(values, preview);

        // Assess
        expect(job.coco.images).toHaveLength(preview ? 1 : fixed.frames);
        for (const image of job.coco.images) {
          const annotations = job.coco.annotations.filter((annotation) => annotation.image_id === image.id);
          expect(annotations.length).toBeLessThanOrEqual(values.max_objects as number);
          for (const { bbox, area } of annotations) {
            const [x, y, w, h] = bbox;
            expect(x >= 0 && y >= 0 && w >= 1 && h >= 1).toBe(true);
            expect(x + w <= image.width && y + h <= image.height).toBe(true);
            expect(area >= 1 && area <= w * h).toBe(true);
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('shapes pixel budget', () => {
  it('publishes ranges whose largest scene fits a worker, so that no scene job is over budget', () => {
    // Prepare
    const max = (name: string) =>
      shapesGenerator.parameters.find((spec) => spec.name === name)?.options?.max ?? Number.NaN;

    // Assess: the largest of each, together, is exactly the budget.
    expect(max('image_width') * max('image_height') * max('frames')).toBe(MAX_PIXELS_PER_JOB);
    expect(validateParams(shapesGenerator, { image_width: 1024, image_height: 1024, frames: 64 })).toBeNull();
  });

  it("accepts every scene Infinity's client can draw: each parameter on its own, within its options", () => {
    // seed 000's Session.random_job() (infinityRandomJob) leaves output and allow_occlusion at their
    // defaults, and its validation checks each parameter on its own. Every such draw must be a valid
    // job here too.
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        // Prepare
        const rng = new Rng(seed);
        const drawn = infinityRandomJob(shapesGenerator.parameters, rng);

        // Act
        const violations = validateParams(shapesGenerator, drawn);

        // Assess
        expect(violations).toBeNull();
      }),
      { numRuns: 500 },
    );
  });
});
