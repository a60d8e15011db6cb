// webpack 5 needs no loader or plugin: it emits the worker (`new Worker(new URL(...))`), the
// wasm builds' glue as chunks and each .wasm as an asset. The HTML page is copied by build.mjs.
import path from 'node:path';

export default {
  mode: 'production',
  entry: './main.js',
  output: { path: path.resolve('dist'), filename: 'main.js', clean: true },
  performance: { hints: false }, // the wasm files are 4-5 MB by nature
};
