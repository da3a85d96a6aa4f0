/**
 * B6 (this suite's numbering): `shapes` render
 * throughput in process, for standard jobs at 512×512 and 1024×1024 with the generator's defaults
 * otherwise. A job's time covers what the run-job Lambda spends on it before the upload: every
 * frame's scene, its PNG, the COCO annotations and the ZIP. Reported as seconds per
 * megapixel-frame next to RENDER_SECONDS_PER_MEGAPIXEL, the figure the batch estimate bills.
 * A ratio above 1 means the estimate under-bills compute.
 */
import { fmt, type Row, row } from './lib/rows.ts';
import { summarize } from './lib/stats.ts';

export interface B6Options {
  /** Jobs measured per size (after one warm-up job). */
  jobs: { 512: number; 1024: number };
  /** Frames per job (the generator's default is 4). */
  framesPerJob: number;
  log: (line: string) => void;
}

export async function benchRender(options: B6Options): Promise<Row[]> {
  const [{ getGenerator }, { applyDefaults }, { RENDER_SECONDS_PER_MEGAPIXEL }] = await Promise.all([
    import('../lambdas/domain/generators/catalogue.ts'),
    import('../lambdas/domain/generators/params.ts'),
    import('../lambdas/domain/batches/service.ts'),
  ]);
  const generator = getGenerator('shapes');
  if (!generator) throw new Error('the catalogue has no shapes generator');

  const rows: Row[] = [];
  for (const side of [512, 1024] as const) {
    const megapixels = (side * side) / 1e6;
    const job = async (seed: number) => {
      const params = applyDefaults(generator, {
        image_width: side,
        image_height: side,
        frames: options.framesPerJob,
        seed,
      });
      const started = performance.now();
      const result = await generator.render(params, { preview: false });
      const seconds = (performance.now() - started) / 1000;
      return seconds / (result.frames * megapixels);
    };
    await job(0); // warm-up: JIT and lazily built tables
    const perMegapixelFrame: number[] = [];
    for (let seed = 1; seed <= options.jobs[side]; seed++) perMegapixelFrame.push(await job(seed));
    const s = summarize(perMegapixelFrame);
    options.log(`B6: ${side}×${side} done`);
    rows.push(
      row({
        bench: 'B6',
        metric: `shapes ${side}×${side} standard job: s per megapixel-frame`,
        unit: 's',
        reference: RENDER_SECONDS_PER_MEGAPIXEL,
        project: s.p50,
        target: { kind: 'max', value: 1 },
        note:
          `reference = RENDER_SECONDS_PER_MEGAPIXEL; median of ${s.n} jobs × ${options.framesPerJob} frames ` +
          `(min ${fmt(s.min)}, max ${fmt(s.max)} s/MP); ${fmt(1 / (s.p50 * megapixels))} frames/s on one core`,
      }),
    );
  }
  return rows;
}
