/**
 * The packages installed beside the datasets functions' bundles instead of inlined (NodejsFunction
 * `nodeModules`): sharp's native code in all four, and with the bundled detectors
 * (`datasets.detectors: 'bundled'`) the models' packages in the two that check privacy (face-api
 * reads its weights and TensorFlow.js its wasm from their folders, tesseract.js starts its worker
 * from a script path). The construct and the bench (bench/entries.ts) both read these lists.
 */
export const NATIVE_MODULES: readonly string[] = ['sharp'];
export const BUNDLED_MODEL_MODULES: readonly string[] = [
  '@vladmandic/face-api',
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-backend-wasm',
  'tesseract.js',
  '@tesseract.js-data/eng',
];
