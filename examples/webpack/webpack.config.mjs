// webpack 5 needs no loader or plugin: it emits the worker (`new Worker(new URL(...))`), the
// wasm builds' glue inside it and each .wasm as an asset. The HTML page is written by build.mjs
// and serve.mjs (page() below).
import { readFileSync } from 'node:fs';
import path from 'node:path';

export default {
  mode: 'production',
  entry: './main.js',
  output: { path: path.resolve('dist'), filename: 'main.js', clean: true },
  performance: { hints: false }, // the wasm files are 5-6 MB by nature
};

/** The app's index.html for webpack's output, which is a classic script. */
export function page() {
  return readFileSync('index.html', 'utf8').replace('<script type="module" src="./main.js">', '<script defer src="./main.js">');
}
