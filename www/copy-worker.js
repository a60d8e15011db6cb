#!/usr/bin/env node
// `npx siglip-web copy-worker DIR`: copies the package's worker side (WORKER_FILES of
// protocol.js: the model worker, the modules it imports and the three wasm builds) into DIR,
// for bundlers that do not emit `new Worker(new URL(..., import.meta.url))` targets (esbuild,
// Rollup): DIR is where the bundle that imports siglip-web is written. A Node script, never
// loaded by a page; portable where `cp -r a/{b,c}` is not (npm scripts run sh, or cmd.exe).

import { cpSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKER_FILES } from './protocol.js';

const USAGE = 'usage: siglip-web copy-worker DIR   (DIR: where your bundle is written, e.g. dist)';
const [command, dir, ...rest] = process.argv.slice(2);
if (command === '--help' || command === '-h') {
  console.log(USAGE);
} else if (command !== 'copy-worker' || !dir || rest.length) {
  console.error(USAGE);
  process.exitCode = 2;
} else {
  const from = path.dirname(fileURLToPath(import.meta.url));
  const missing = WORKER_FILES.filter((file) => !existsSync(path.join(from, file)));
  if (missing.length) {
    console.error(`siglip-web: ${missing.join(', ')} missing from ${from}; reinstall siglip-web`);
    process.exitCode = 1;
  } else {
    for (const file of WORKER_FILES) cpSync(path.join(from, file), path.join(dir, file), { recursive: true });
    console.log(`siglip-web: copied ${WORKER_FILES.join(', ')} into ${dir}`);
  }
}
