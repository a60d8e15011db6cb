// Writes the seed corpora of the fuzz targets from the committed fixtures:
// fuzz/corpus/<target>/ (framed inputs as fuzz/fuzz_targets/common.rs reads them).
// Usage: node fuzz/seeds.mjs PACKED_FILE...   (packed files made by `siglip quantize`)

import { mkdirSync, readFileSync, readdirSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIX = path.join(ROOT, 'tests/fixtures');
const OUT = path.join(ROOT, 'fuzz/corpus');
const frame = (...parts) => {
  const out = [];
  for (const p of parts.slice(0, -1)) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(p.length);
    out.push(len, p);
  }
  out.push(parts.at(-1));
  return Buffer.concat(out);
};
const dir = (target) => {
  const d = path.join(OUT, target);
  mkdirSync(d, { recursive: true });
  return d;
};
const read = (...p) => readFileSync(path.join(FIX, ...p));

for (const [i, file] of process.argv.slice(2).entries()) copyFileSync(file, path.join(dir('packed'), `seed-${i}`));

for (const name of ['tiny-224', 'tiny-p14']) {
  const seed = frame(read(name, 'config.json'), read(name, 'preprocessor_config.json'), read(name, 'model.safetensors'));
  writeFileSync(path.join(dir('hf_checkpoint'), name), seed);
}

// [chunking][dtype][weights]: 4 KB-ish chunks, q8.
writeFileSync(path.join(dir('pack_stream'), 'tiny-224'), Buffer.concat([Buffer.from([110, 0]), read('tiny-224', 'model.safetensors')]));

for (const f of readdirSync(path.join(FIX, 'images'))) copyFileSync(path.join(FIX, 'images', f), path.join(dir('image'), f));

const corpus = JSON.parse(readFileSync(path.join(FIX, 'tokenizer/corpus.json'), 'utf8'));
const models = [read('tiny-224', 'spiece.model'), read('tokenizer', 'bytefallback', 'spiece.model')];
corpus.texts.forEach((text, i) => {
  if (i % 6 === 0) writeFileSync(path.join(dir('spiece'), `text-${i}`), frame(models[(i / 6) % 2], Buffer.from(text)));
});

copyFileSync(path.join(FIX, 'tiny-224/tokenizer.json'), path.join(dir('tokenizer_json'), 'tiny-224'));
for (const name of ['tiny-224', 'bytefallback']) {
  copyFileSync(path.join(FIX, `tokenizer/${name}-tokenizer-hf.json`), path.join(dir('tokenizer_json'), `${name}-hf`));
}
console.log(`seeds written to ${path.relative(ROOT, OUT)}/`);
