// `node build.mjs`: Rollup (with node-resolve for the bare `siglip-web`) bundles the app; like
// esbuild it does not follow `new URL('./siglip-worker.js', import.meta.url)`, so the package's
// worker side is copied next to the bundle (see ../esbuild/build.mjs).
import { cpSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { rollup } from 'rollup';
import { nodeResolve } from '@rollup/plugin-node-resolve';

const bundle = await rollup({ input: 'main.js', plugins: [nodeResolve()] });
await bundle.write({ dir: 'dist', format: 'es' });
await bundle.close();
const pkg = path.dirname(createRequire(import.meta.url).resolve('siglip-web/package.json'));
// (examples/run.mjs also builds with --no-copy, to check the error a user gets without it.)
if (!process.argv.includes('--no-copy')) for (const f of (await import(pathToFileURL(path.join(pkg, 'protocol.js')).href)).WORKER_FILES) cpSync(path.join(pkg, f), path.join('dist', f), { recursive: true });
cpSync('index.html', 'dist/index.html');
cpSync('public', 'dist', { recursive: true });
