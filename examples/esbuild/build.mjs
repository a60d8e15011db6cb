// `node build.mjs`: esbuild bundles the app, but it leaves `new URL('./siglip-worker.js',
// import.meta.url)` as it is and emits neither the worker nor the wasm. The recipe: copy the
// package's worker side (WORKER_FILES in its protocol.js: the worker, the modules it imports and the
// pkg*/ builds, which import only each other by relative paths) next to the bundle, where that URL points.
import { cpSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

await esbuild.build({ entryPoints: ['main.js'], bundle: true, format: 'esm', minify: true, outdir: 'dist' });
const pkg = path.dirname(createRequire(import.meta.url).resolve('siglip-web/package.json'));
// (examples/run.mjs also builds with --no-copy, to check the error a user gets without it.)
if (!process.argv.includes('--no-copy')) for (const f of (await import(pathToFileURL(path.join(pkg, 'protocol.js')).href)).WORKER_FILES) cpSync(path.join(pkg, f), path.join('dist', f), { recursive: true });
cpSync('index.html', 'dist/index.html');
cpSync('public', 'dist', { recursive: true });
