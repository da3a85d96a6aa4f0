/**
 * The images of a generation job's archive: its frames (or crops) in name order, each with exactly
 * the COCO annotations of its image and the categories they use.
 */
import { describe, expect, it } from 'vitest';
import { ArchiveError } from '../../../../lambdas/domain/archive/unzip.ts';
import { createZip } from '../../../../lambdas/domain/archive/zip.ts';
import { archiveFrames } from '../../../../lambdas/domain/datasets/archive-frames.ts';
import { applyDefaults } from '../../../../lambdas/domain/generators/params.ts';
import {
  renderShapesJob,
  shapesGenerator,
} from '../../../../lambdas/domain/generators/shapes/shapes-generator.ts';
import { aPng } from './dataset-fixtures.ts';

const JOB = '01JD3X2K8Q7YV4N6B5M9T0RWZC';
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('archiveFrames', () => {
  it('gives each frame of a shapes job the annotations of its COCO image, and only their categories', async () => {
    // Prepare
    const params = applyDefaults(shapesGenerator, { image_width: 64, image_height: 64, frames: 3, seed: 11 });
    const { archive } = await renderShapesJob(params, { preview: false, folder: JOB });

    // Act
    const frames = archiveFrames(archive, JOB);

    // Assess
    expect(frames.map((frame) => frame.entry)).toEqual([
      'frames/frame_0000.png',
      'frames/frame_0001.png',
      'frames/frame_0002.png',
    ]);
    for (const [index, frame] of frames.entries()) {
      const annotations = frame.annotations?.annotations ?? [];
      expect(annotations.every((annotation) => annotation.image_id === index + 1)).toBe(true);
      const used = [...new Set(annotations.map((annotation) => annotation.category_id))].sort(
        (a, b) => a - b,
      );
      expect(frame.annotations?.categories.map((category) => category.id)).toEqual(used);
      expect(frame.read().byteLength).toBe(frame.size);
    }
  });

  it('leaves annotations out where the archive has none, and entries outside the job’s folder out', () => {
    // Prepare: an identity-crops archive has identities.json, no COCO file.
    const archive = createZip([
      { name: `${JOB}/identities/id_0000/crop_0000.png`, data: aPng(), store: true },
      { name: `${JOB}/identities.json`, data: json({ identities: [] }) },
      { name: 'elsewhere/frame.png', data: aPng(), store: true },
    ]);

    // Act
    const frames = archiveFrames(archive, JOB);

    // Assess
    expect(frames).toHaveLength(1);
    expect(frames[0]?.entry).toBe('identities/id_0000/crop_0000.png');
    expect(frames[0]?.annotations).toBeUndefined();
  });

  it('gives a frame its COCO image shows no object in an empty list', () => {
    // Prepare
    const coco = {
      images: [{ id: 1, file_name: 'frames/frame_0000.png', width: 8, height: 6 }],
      categories: [{ id: 1, name: 'circle', supercategory: 'shape' }],
      annotations: [],
    };
    const archive = createZip([
      { name: `${JOB}/frames/frame_0000.png`, data: aPng(), store: true },
      { name: `${JOB}/annotations.json`, data: json(coco) },
    ]);

    // Act
    const frames = archiveFrames(archive, JOB);

    // Assess
    expect(frames[0]?.annotations).toEqual({ annotations: [], categories: [] });
  });

  it('refuses an annotations file that is not COCO', () => {
    // Prepare
    const archive = createZip([
      { name: `${JOB}/frames/frame_0000.png`, data: aPng(), store: true },
      { name: `${JOB}/annotations.json`, data: json({ boxes: [] }) },
    ]);

    // Act
    const attempt = () => archiveFrames(archive, JOB);

    // Assess
    expect(attempt).toThrow(ArchiveError);
  });
});
