/** The job's annotations in COCO object-detection format (https://cocodataset.org/#format-data). */
import { SHAPE_CLASSES, type ShapeClass } from './parameters.ts';
import type { ObjectAnnotation } from './scene.ts';

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
}

export interface CocoCategory {
  id: number;
  name: ShapeClass;
  supercategory: 'shape';
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** [x, y, width, height] in pixels. */
  bbox: [number, number, number, number];
  /** Visible pixels. */
  area: number;
  /** One polygon per object: its whole outline, including parts hidden behind later objects. */
  segmentation: number[][];
  iscrowd: 0;
}

export interface CocoDataset {
  info: { description: string; version: string };
  licenses: [];
  images: CocoImage[];
  categories: CocoCategory[];
  annotations: CocoAnnotation[];
}

export interface AnnotatedFrame {
  /** Relative to the archive's root. */
  fileName: string;
  width: number;
  height: number;
  annotations: readonly ObjectAnnotation[];
}

/** Every class is listed, whatever the job drew, so that a category id means the same in every job. */
export const COCO_CATEGORIES: readonly CocoCategory[] = SHAPE_CLASSES.map((name, index) => ({
  id: index + 1,
  name,
  supercategory: 'shape',
}));

export function categoryId(shape: ShapeClass): number {
  return SHAPE_CLASSES.indexOf(shape) + 1;
}

/** Image ids are frame numbers from 1; annotation ids run from 1 across the whole job. */
export function cocoDataset(frames: readonly AnnotatedFrame[]): CocoDataset {
  const images: CocoImage[] = [];
  const annotations: CocoAnnotation[] = [];
  frames.forEach((frame, index) => {
    const imageId = index + 1;
    images.push({ id: imageId, file_name: frame.fileName, width: frame.width, height: frame.height });
    for (const object of frame.annotations) {
      annotations.push({
        id: annotations.length + 1,
        image_id: imageId,
        category_id: categoryId(object.shape),
        bbox: object.bbox,
        area: object.area,
        segmentation: [object.segmentation],
        iscrowd: 0,
      });
    }
  });
  return {
    info: {
      description: 'SynthForge shapes generator: procedural 2D shapes with exact annotations',
      version: '1.0',
    },
    licenses: [],
    images,
    categories: [...COCO_CATEGORIES],
    annotations,
  };
}
