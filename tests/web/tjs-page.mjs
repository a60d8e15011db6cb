// Runs in a benchmark page (bench.mjs, index-bench.mjs), imported by its URL: transformers.js
// loaded from this server and set up to read models from `modelRoot` only (no Hub, no browser
// cache of models or of onnxruntime's wasm), onnxruntime-web on `threads` threads.

/**
 * @param {{lib: string, modelRoot: string, wasmPaths: string, threads: number}} c
 *   `lib`: the URL of transformers.js; `wasmPaths`: of onnxruntime-web's files
 */
export async function loadTransformers({ lib, modelRoot, wasmPaths, threads }) {
  const tjs = await import(lib);
  const { env } = tjs;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = modelRoot;
  env.useBrowserCache = false;
  env.useWasmCache = false;
  env.backends.onnx.wasm.wasmPaths = wasmPaths;
  env.backends.onnx.wasm.numThreads = threads;
  return tjs;
}
