// The worker protocol is typed, and the types are checked: TypeScript (checkJs, not strict)
// runs over the worker and the page side of www/ against the typedefs in www/protocol.js, so a
// request or reply that drifts from its typedef (a field renamed, missing, added or of another
// type) fails here. No browser; a few seconds.
//
// tsconfig.page.json and tsconfig.worker.json (DOM and WebWorker globals) list the files; the
// files checked carry `// @ts-check` (so the generated wasm glue they import is not checked).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { OUT, ROOT } from './harness.mjs';
import { PROTOCOL_DTS, TSC, generate } from './protocol-dts.mjs';

const WWW = path.join(ROOT, 'www');
const CHECKED = ['protocol.js', 'errors.js', 'client.js', 'api.js', 'index.js', 'siglip-worker.js', 'worker-library.js', 'store.js', 'library.js'];

/**
 * Runs tsc; resolves to its diagnostics, one string each. The wasm glue (www/pkg*) exists only
 * after a build: before one, the worker's imports of it are not an error here.
 */
async function tsc(args) {
  const { stdout } = await promisify(execFile)(process.execPath, [TSC, '--pretty', 'false', ...args], { cwd: ROOT }).catch((err) => err);
  return stdout
    .split('\n')
    .filter((l) => /error TS\d+/.test(l))
    .filter((l) => !/error TS2307: Cannot find module '\.\/pkg(-relaxed|-threads|-threads-simd128)?\/siglip\.js'/.test(l));
}

/** The worker with its load reply's `wasmMemoryBytes` misspelt, next to copies of what it imports. */
function driftedWorker() {
  const dir = path.join(OUT, 'types-drift');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const source = readFileSync(path.join(WWW, 'siglip-worker.js'), 'utf8');
  const drifted = source.replace('wasmMemoryBytes: wasm.memory', 'wasmMemoryByte: wasm.memory');
  assert.notEqual(drifted, source, 'the load reply is where this test expects it');
  writeFileSync(path.join(dir, 'siglip-worker.js'), drifted);
  for (const f of ['protocol.js', 'protocol.d.ts', 'errors.js', 'loader.js', 'hub.js', 'worker-library.js', 'store.js']) writeFileSync(path.join(dir, f), readFileSync(path.join(WWW, f)));
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ extends: path.join(ROOT, 'tests/web/tsconfig.worker.json'), files: ['siglip-worker.js'] }));
  return path.join(dir, 'tsconfig.json');
}

/** A TypeScript user of index.d.ts naming every reflected property of both elements. */
function reflectedUser() {
  // The rows of REFLECTED (element-base.js) and the classifier's own.
  const properties = (file) => [...readFileSync(path.join(WWW, file), 'utf8').matchAll(/\{ property: '(\w+)', attribute: '[\w-]+'/g)].map((m) => m[1]);
  const base = properties('element-base.js');
  const classifier = properties('siglip-classifier.js');
  const search = properties('siglip-search.js');
  assert.ok(base.length >= 9 && classifier.length >= 1 && search.length >= 2, `${base} ${classifier} ${search}`);
  const dir = path.join(OUT, 'types-reflected');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'reflected.ts'),
    `import type { SiglipClassifier, SiglipSearch } from '${path.relative(dir, WWW)}/index.js';
export const classifier: (keyof SiglipClassifier)[] = ${JSON.stringify([...base, ...classifier])};
export const search: (keyof SiglipSearch)[] = ${JSON.stringify([...base, ...search])};
`,
  );
  return path.join(dir, 'reflected.ts');
}

// The programs run side by side (each is a second or two of one core).
const checks = {
  page: tsc(['-p', 'tests/web/tsconfig.page.json']),
  worker: tsc(['-p', 'tests/web/tsconfig.worker.json']),
  drift: tsc(['-p', driftedWorker()]),
  reflected: tsc(['--noEmit', '--strict', '--skipLibCheck', '--target', 'ES2022', '--module', 'ESNext', '--moduleResolution', 'bundler', '--lib', 'ES2022,DOM,DOM.Iterable', reflectedUser()]),
};

test('www/protocol.d.ts is what protocol.js generates', () => {
  assert.equal(readFileSync(PROTOCOL_DTS, 'utf8'), generate(), 'stale: run `node tests/web/protocol-dts.mjs`');
});

test('the files under check opt in with // @ts-check', () => {
  for (const file of CHECKED) assert.match(readFileSync(path.join(WWW, file), 'utf8'), /^\/\/ @ts-check\n/, file);
});

test('the page side and the worker type-check against the protocol', async () => {
  assert.deepEqual(await checks.page, [], 'page side');
  assert.deepEqual(await checks.worker, [], 'worker');
});

test('a reply that drifts from its typedef fails the check, or the check proves nothing', async () => {
  const errors = await checks.drift;
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0], /'wasmMemoryByte' does not exist in type 'Handled<LoadReply>'/);
});

test('index.d.ts declares every reflected attribute property of the elements', async () => {
  assert.deepEqual(await checks.reflected, []);
});
