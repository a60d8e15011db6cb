// `node build.mjs`: Rollup (with node-resolve for the bare `siglip-web`) bundles the app; like
// esbuild it does not follow `new URL('./siglip-worker.js', import.meta.url)`, so the package's
// worker side is copied next to the bundle by `npx siglip-web copy-worker dist` (see
// ../esbuild/build.mjs).
import { cpSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { rollup } from 'rollup';
import { nodeResolve } from '@rollup/plugin-node-resolve';

const bundle = await rollup({ input: 'main.js', plugins: [nodeResolve()] });
await bundle.write({ dir: 'dist', format: 'es' });
await bundle.close();
// (examples/run.mjs also builds with --no-copy, to check the error a user gets without it.)
if (!process.argv.includes('--no-copy')) execFileSync('npx', ['siglip-web', 'copy-worker', 'dist'], { stdio: 'inherit' });
cpSync('index.html', 'dist/index.html');
cpSync('public', 'dist', { recursive: true });
