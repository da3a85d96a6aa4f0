// Worker-thread entry: registers tsx so the TypeScript sources load the same way in every context
// (npm start, vitest, the benchmark), then runs the render loop.
import { register } from 'tsx/esm/api';

register();
await import('./render-worker-loop.ts');
