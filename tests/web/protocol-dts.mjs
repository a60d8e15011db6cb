// www/protocol.d.ts is generated from the JSDoc of www/protocol.js, the one definition of the
// worker protocol's shapes and of the public types index.d.ts re-exports from it. After editing
// protocol.js: `node tests/web/protocol-dts.mjs` (types.test.mjs fails while the file is stale).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TSC = path.join(ROOT, 'tests/web/node_modules/typescript/bin/tsc');
export const PROTOCOL_DTS = path.join(ROOT, 'www/protocol.d.ts');

const HEADER = '// Generated from protocol.js by tests/web/protocol-dts.mjs: edit protocol.js, then run it.\n';

/** protocol.d.ts as protocol.js says it should be. */
export function generate() {
  const out = mkdtempSync(path.join(os.tmpdir(), 'protocol-dts-'));
  try {
    execFileSync(process.execPath, [
      TSC, '--allowJs', '--declaration', '--emitDeclarationOnly', '--target', 'ES2022', '--module', 'ESNext',
      '--moduleResolution', 'bundler', '--lib', 'ES2022,DOM', '--outDir', out, path.join(ROOT, 'www/protocol.js'),
    ], { stdio: 'pipe' });
    return HEADER + readFileSync(path.join(out, 'protocol.d.ts'), 'utf8');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(PROTOCOL_DTS, generate());
  console.log(`wrote ${path.relative(process.cwd(), PROTOCOL_DTS)}`);
}
