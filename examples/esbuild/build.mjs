// `node build.mjs`: esbuild bundles the app, but it leaves `new URL('./siglip-worker.js',
// import.meta.url)` as it is and emits neither the worker nor the wasm. The recipe, one line
// after the bundler: `npx siglip-web copy-worker dist` copies the package's worker side (the
// worker, the modules it imports and the pkg*/ builds, which import only each other by relative
// paths) next to the bundle, where that URL points.
import { cpSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import * as esbuild from 'esbuild';

await esbuild.build({ entryPoints: ['main.js'], bundle: true, format: 'esm', minify: true, outdir: 'dist' });
// (examples/run.mjs also builds with --no-copy, to check the error a user gets without it.)
if (!process.argv.includes('--no-copy')) execFileSync('npx', ['siglip-web', 'copy-worker', 'dist'], { stdio: 'inherit' });
cpSync('index.html', 'dist/index.html');
cpSync('public', 'dist', { recursive: true });
