// Writes the seed corpora of the fuzz targets: fuzz/corpus/<target>/ (framed inputs as
// fuzz/fuzz_targets/common.rs reads them). Every seed is small (at most a few tens of KB), so
// the fuzzers run thousands of inputs a second rather than tens:
//
// - two tiny SigLIP checkpoints with random weights, written here as Hugging Face folders under
//   target/fuzz-seeds/ ("a": fuzz/tiny/config.json, widths 8/16, the config the harnesses use;
//   "b": ragged widths 12/20/36/40 and a tokenizer.json, which give the q8 kernels full and partial blocks and
//   panels), then converted by `siglip quantize` to f32, f16, q8 and q4 packed files;
// - tiny spiece.model files (protobuf written here: plain, with a small precompiled character
//   map, with byte fallback, with user-defined pieces) plus texts from the tokenizer corpus;
// - tiny tokenizer.json files (Unigram, with a Precompiled normalizer, WordLevel, BPE, Gemma's BPE);
// - small PNG, GIF, JPEG and WebP images (PNG and GIF encoded here; the JPEG and WebP bytes
//   were made once with the `image` crate's encoders and are inlined below), plus the
//   fixture's 159-byte tiny.png.
//
// Usage: node fuzz/seeds.mjs [SIGLIP_CLI]   (default ./target/release/siglip; build.sh builds it)

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIX = path.join(ROOT, 'tests/fixtures');
const TINY = path.join(ROOT, 'fuzz/tiny');
const OUT = path.join(ROOT, 'fuzz/corpus');
const WORK = path.join(ROOT, 'target/fuzz-seeds');
const CLI = path.resolve(process.argv[2] ?? path.join(ROOT, 'target/release/siglip'));

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
const seed = (target, name, bytes) => writeFileSync(path.join(dir(target), name), bytes);
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

// Deterministic weights (mulberry32).
let state = 0x5eed;
const random = () => {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

// ---- safetensors -------------------------------------------------------------------------

function safetensors(tensors) {
  const header = { __metadata__: { format: 'pt' } };
  const blobs = [];
  let offset = 0;
  for (const [name, shape, values] of [...tensors].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const data = Buffer.from(Float32Array.from(values).buffer);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.length] };
    blobs.push(data);
    offset += data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, Buffer.from(json), ...blobs]);
}

/// The tensors of a SigLIP checkpoint with `config`, random values (layer norms near 1).
function siglipTensors(config) {
  const t = config.text_config;
  const v = config.vision_config;
  const out = [];
  const add = (name, shape, around = 0, spread = 0.5) => {
    const n = shape.reduce((a, b) => a * b, 1);
    out.push([name, shape, Array.from({ length: n }, () => around + (random() * 2 - 1) * spread)]);
  };
  const layers = (prefix, c) => {
    const [h, m] = [c.hidden_size, c.intermediate_size];
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const l = `${prefix}.encoder.layers.${i}`;
      for (const n of ['layer_norm1', 'layer_norm2']) {
        add(`${l}.${n}.weight`, [h], 1, 0.1);
        add(`${l}.${n}.bias`, [h], 0, 0.1);
      }
      for (const p of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
        add(`${l}.self_attn.${p}.weight`, [h, h]);
        add(`${l}.self_attn.${p}.bias`, [h]);
      }
      add(`${l}.mlp.fc1.weight`, [m, h]);
      add(`${l}.mlp.fc1.bias`, [m]);
      add(`${l}.mlp.fc2.weight`, [h, m]);
      add(`${l}.mlp.fc2.bias`, [h]);
    }
  };
  add('logit_scale', [1], 2.3, 0);
  add('logit_bias', [1], -10, 0);
  add('text_model.embeddings.token_embedding.weight', [t.vocab_size, t.hidden_size]);
  add('text_model.embeddings.position_embedding.weight', [t.max_position_embeddings, t.hidden_size]);
  layers('text_model', t);
  add('text_model.final_layer_norm.weight', [t.hidden_size], 1, 0.1);
  add('text_model.final_layer_norm.bias', [t.hidden_size], 0, 0.1);
  add('text_model.head.weight', [t.projection_size, t.hidden_size]);
  add('text_model.head.bias', [t.projection_size]);
  const [h, p] = [v.hidden_size, v.patch_size];
  add('vision_model.embeddings.patch_embedding.weight', [h, 3, p, p], 0, 0.1);
  add('vision_model.embeddings.patch_embedding.bias', [h]);
  add('vision_model.embeddings.position_embedding.weight', [(v.image_size / p) ** 2, h]);
  layers('vision_model', v);
  add('vision_model.post_layernorm.weight', [h], 1, 0.1);
  add('vision_model.post_layernorm.bias', [h], 0, 0.1);
  add('vision_model.head.probe', [1, 1, h]);
  add('vision_model.head.attention.in_proj_weight', [3 * h, h]);
  add('vision_model.head.attention.in_proj_bias', [3 * h]);
  add('vision_model.head.attention.out_proj.weight', [h, h]);
  add('vision_model.head.attention.out_proj.bias', [h]);
  add('vision_model.head.layernorm.weight', [h], 1, 0.1);
  add('vision_model.head.layernorm.bias', [h], 0, 0.1);
  add('vision_model.head.mlp.fc1.weight', [v.intermediate_size, h]);
  add('vision_model.head.mlp.fc1.bias', [v.intermediate_size]);
  add('vision_model.head.mlp.fc2.weight', [h, v.intermediate_size]);
  add('vision_model.head.mlp.fc2.bias', [h]);
  return out;
}

// ---- SentencePiece models (sentencepiece_model.proto) ---------------------------------------

const varint = (n) => {
  const out = [];
  for (n = BigInt(n); n >= 0x80n; n >>= 7n) out.push(Number((n & 0x7fn) | 0x80n));
  out.push(Number(n));
  return Buffer.from(out);
};
const pbVarint = (field, n) => Buffer.concat([varint(field * 8), varint(n)]);
const pbBytes = (field, bytes) => Buffer.concat([varint(field * 8 + 2), varint(bytes.length), Buffer.from(bytes)]);
const pbFloat = (field, f) => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(f);
  return Buffer.concat([varint(field * 8 + 5), b]);
};

/// A darts-clone double array (the trie of SentencePiece's precompiled character map) for
/// `rules` ([key, replacement]), followed by the NUL-terminated replacements, as
/// src/spm/normalizer.rs reads it.
function charsmap(rules) {
  const blob = [];
  const root = { children: new Map(), leaf: null };
  for (const [key, value] of rules) {
    let node = root;
    for (const b of Buffer.from(key)) {
      if (!node.children.has(b)) node.children.set(b, { children: new Map(), leaf: null });
      node = node.children.get(b);
    }
    node.leaf = blob.length;
    blob.push(...Buffer.from(value), 0);
  }
  const units = [0];
  const used = new Set([0]);
  const build = (node, pos) => {
    const labels = [...node.children.keys()];
    if (node.leaf !== null) labels.push(0);
    let base = 1;
    while (labels.some((l) => used.has(base ^ l))) base++;
    for (const l of labels) used.add(base ^ l);
    units[pos] = ((units[pos] ?? 0) | ((pos ^ base) << 10) | (node.leaf !== null ? 1 << 8 : 0)) >>> 0;
    if (node.leaf !== null) units[base] = (0x80000000 | node.leaf) >>> 0;
    for (const [b, child] of node.children) {
      units[base ^ b] = b;
      build(child, base ^ b);
    }
  };
  build(root, 0);
  const trie = Buffer.alloc(units.length * 4);
  for (let i = 0; i < units.length; i++) trie.writeUInt32LE(units[i] ?? 0, i * 4);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(trie.length);
  return Buffer.concat([size, trie, Buffer.from(blob)]);
}

const TYPES = { normal: 1, unknown: 2, control: 3, user: 4, unused: 5, byte: 6 };

/// A `ModelProto` from `[piece, score, type]` entries.
function spieceModel(pieces, { map = null, byteFallback = false, dummyPrefix = true } = {}) {
  const parts = pieces.map(([piece, score, type]) =>
    pbBytes(1, Buffer.concat([pbBytes(1, Buffer.from(piece)), pbFloat(2, score), pbVarint(3, TYPES[type])])),
  );
  parts.push(pbBytes(2, Buffer.concat([pbVarint(3, 1), pbVarint(35, byteFallback ? 1 : 0)])));
  const normalizer = [pbBytes(1, Buffer.from(map ? 'nmt_nfkc' : 'identity'))];
  if (map) normalizer.push(pbBytes(2, map));
  normalizer.push(pbVarint(3, dummyPrefix ? 1 : 0), pbVarint(4, 1), pbVarint(5, 1));
  parts.push(pbBytes(3, Buffer.concat(normalizer)));
  return Buffer.concat(parts);
}

const tinyTokenizer = readJson(path.join(TINY, 'tokenizer.json'));
const tinyPieces = tinyTokenizer.model.vocab.map(([piece, score], id) => [
  piece,
  score,
  id === tinyTokenizer.model.unk_id ? 'unknown' : id < 3 ? 'control' : 'normal',
]);
const BYTES = Array.from({ length: 256 }, (_, b) => [`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, 0, 'byte']);
const MAP_RULES = [
  ['\uff21', 'A'], // fullwidth A, and a
  ['\uff41', 'a'],
  ['\ufb01', 'fi'],
  ['\u3000', ' '],
  ['\uff76\uff9e', '\u30ac'], // ｶﾞ → ガ: two characters, one rule
  ['\u2160', 'I'],
];
const spiece = {
  plain: spieceModel(tinyPieces),
  map: spieceModel(tinyPieces, { map: charsmap(MAP_RULES) }),
  bytes: spieceModel([...tinyPieces.slice(0, 3), ...BYTES, ...tinyPieces.slice(3)], { byteFallback: true }),
  user: spieceModel([...tinyPieces, ['<extra_id_0>', 0, 'user'], ['\u2581x\u2581y', 0, 'user']], { dummyPrefix: false }),
};

// ---- images --------------------------------------------------------------------------------

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
};

/// A PNG: `color` type (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA), `depth` bits per
/// sample, pixel samples from `sample(x, y, channel)`; odd scanlines use the Sub filter.
function png(width, height, color, depth, sample, extra = []) {
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[color];
  const rows = [];
  for (let y = 0; y < height; y++) {
    const bits = [];
    for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) bits.push(sample(x, y, c) & ((1 << depth) - 1));
    const row = Buffer.alloc(Math.ceil((width * channels * depth) / 8));
    if (depth >= 8) bits.forEach((v, i) => (depth === 8 ? row.writeUInt8(v, i) : row.writeUInt16BE(v, 2 * i)));
    else bits.forEach((v, i) => (row[(i * depth) >> 3] |= v << (8 - depth - ((i * depth) & 7))));
    // Sub works on whole bytes, bytes per pixel rounded up to 1.
    const filter = y % 2;
    const bpp = Math.max(1, (channels * depth) >> 3);
    const out = Buffer.from(row);
    if (filter === 1) for (let i = row.length - 1; i >= bpp; i--) out[i] = (row[i] - row[i - bpp]) & 0xff;
    rows.push(Buffer.from([filter]), out);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([depth, color, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra,
    chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/// A GIF89a with a 4-colour global palette and one image per entry of `frames` (functions
/// of x, y giving a palette index), LZW-coded with a clear code before every pixel (valid,
/// and simple); more than one frame gets a Netscape loop extension and frame delays.
function gif(width, height, frames) {
  const palette = [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255];
  const head = Buffer.alloc(13);
  head.write('GIF89a');
  head.writeUInt16LE(width, 6);
  head.writeUInt16LE(height, 8);
  head.set([0xf1, 0, 0], 10); // global table of 4 entries
  const parts = [head, Buffer.from(palette)];
  if (frames.length > 1) parts.push(Buffer.from([0x21, 0xff, 11, ...Buffer.from('NETSCAPE2.0'), 3, 1, 0, 0, 0]));
  for (const f of frames) {
    parts.push(Buffer.from([0x21, 0xf9, 4, 0x04, 10, 0, 0, 0])); // 100 ms, keep
    const desc = Buffer.alloc(10);
    desc[0] = 0x2c;
    desc.writeUInt16LE(width, 5);
    desc.writeUInt16LE(height, 7);
    parts.push(desc, Buffer.from([2])); // min code size 2: codes 0-3, clear 4, end 5, width 3
    let acc = 0;
    let bits = 0;
    const bytes = [];
    const put = (code) => {
      acc |= code << bits;
      bits += 3;
      while (bits >= 8) {
        bytes.push(acc & 0xff);
        acc >>= 8;
        bits -= 8;
      }
    };
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) put(4), put(f(x, y) & 3);
    put(5);
    if (bits) bytes.push(acc & 0xff);
    for (let i = 0; i < bytes.length; i += 255) {
      const block = bytes.slice(i, i + 255);
      parts.push(Buffer.from([block.length, ...block]));
    }
    parts.push(Buffer.from([0]));
  }
  parts.push(Buffer.from([0x3b]));
  return Buffer.concat(parts);
}

/// An APP1 Exif segment with one Orientation tag, inserted after a JPEG's SOI.
function withExifOrientation(jpeg, orientation) {
  const tiff = Buffer.from([0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, orientation, 0, 0, 0, 0, 0, 0, 0]);
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const seg = Buffer.alloc(4);
  seg.set([0xff, 0xe1]);
  seg.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), seg, body, jpeg.subarray(2)]);
}

// Made once with image 0.25 (JpegEncoder quality 50 / 30, WebPEncoder::new_lossless).
const JPEG_RGB_12x10 = Buffer.from(
  '/9j/4AAQSkZJRgABAgAAAQABAAD/wAARCAAKAAwDAREAAhEBAxEB/9sAQwAQCwwODAoQDg0OEhEQExgoGhgWFhgxIyUdKDozPTw5Mzg3QEhcTkBEV0U3OFBtUVdfYmdoZz5NcXlwZHhcZWdj/9sAQwEREhIYFRgvGhovY0I4QmNjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDHs9H6fLURmRhsWbEWj/IPlrVTPdp4v3TTs1HHA/KuKJ8LhmzYiUbBwPyrVHu02+U//9k=',
  'base64',
);
const JPEG_GRAY_8x8 = Buffer.from(
  '/9j/4AAQSkZJRgABAgAAAQABAAD/wAALCAAIAAgBAREA/9sAQwAbEhQXFBEbFxYXHhwbIChCKyglJShROj0wQmBVZWRfVV1baniZgWpxkHNbXYW1hpCeo6utq2eAvMm6pseZqKuk/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/AIdBH3a//9k=',
  'base64',
);
const WEBP_RGBA_9x7 = Buffer.from(
  'UklGRu4AAABXRUJQVlA4TOEAAAAvCIABEM1VICICHogEAAAAAIABAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAMAAAHggEgAAAAAA5z8AAAAGAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAAAA9EAgAAAADg/AcAAAAAAAAAAAAAAAAAAAAMAAAAAAAAAAAAAIAAAAAA4IEAEgAAAACcfzNCCGGEAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAFlPhwFYEIIRHIoHsCAEIzgUD2BBCEZwKB7AghCM4FA8gAUhGMGheAALQjCCQ/EA',
  'base64',
);
const WEBP_RGB_12x10 = Buffer.from(
  'UklGRpoAAABXRUJQVlA4TI4AAAAvC0ACAM1VICICHsgmAAAAAIABAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABB8ADkQAAAAAAOP8BADAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAHggEgAAAAAA5z+AAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIAAgEjl30gB',
  'base64',
);

// ---- write everything ------------------------------------------------------------------------

rmSync(WORK, { recursive: true, force: true });
const tinyConfig = readJson(path.join(TINY, 'config.json'));
const tinyPreprocessor = readFileSync(path.join(TINY, 'preprocessor_config.json'));
const configB = structuredClone(tinyConfig);
Object.assign(configB.text_config, { hidden_size: 20, num_attention_heads: 2, intermediate_size: 36, max_position_embeddings: 12, projection_size: 12 });
Object.assign(configB.vision_config, { hidden_size: 12, num_attention_heads: 2, intermediate_size: 40, image_size: 8, patch_size: 4, num_hidden_layers: 2 });
const preprocessorB = JSON.stringify({ ...JSON.parse(tinyPreprocessor), size: { height: 8, width: 8 } });
const checkpoints = [
  // name, config, preprocessor, tokenizer files
  ['a', tinyConfig, tinyPreprocessor, { 'spiece.model': spiece.plain }],
  ['b', configB, Buffer.from(preprocessorB), { 'tokenizer.json': readFileSync(path.join(TINY, 'tokenizer.json')) }],
];
const tokenizerConfig = readFileSync(path.join(FIX, 'tiny-224/tokenizer_config.json'));
for (const [name, config, preprocessor, tokenizer] of checkpoints) {
  const d = path.join(WORK, name);
  mkdirSync(d, { recursive: true });
  const configJson = Buffer.from(JSON.stringify(config, null, 1));
  const weights = safetensors(siglipTensors(config));
  writeFileSync(path.join(d, 'config.json'), configJson);
  writeFileSync(path.join(d, 'preprocessor_config.json'), preprocessor);
  writeFileSync(path.join(d, 'tokenizer_config.json'), tokenizerConfig);
  writeFileSync(path.join(d, 'model.safetensors'), weights);
  for (const [file, bytes] of Object.entries(tokenizer)) writeFileSync(path.join(d, file), bytes);
  // hf_checkpoint: [len][config][len][preprocessor][weights] (the harness brings the tokenizer).
  seed('hf_checkpoint', name, frame(configJson, preprocessor, weights));
  if (name === 'a') seed('hf_checkpoint', `${name}-no-preprocessor`, frame(configJson, Buffer.alloc(0), weights));
  for (const dtype of ['f32', 'f16', 'q8', 'q4']) {
    const out = path.join(WORK, `${name}-${dtype}.safetensors`);
    execFileSync(CLI, ['quantize', d, '--dtype', dtype, '-o', out], { stdio: ['ignore', 'ignore', 'inherit'] });
    copyFileSync(out, path.join(dir('packed'), `${name}-${dtype}`));
  }
}

// pack_stream: [chunking][dtype][weights], the weights of fuzz/tiny/config.json (what the
// harness converts them with); chunk = chunking * 37 + 1 bytes, dtype % 4 = q8, q4, f16, f32.
const weightsA = readFileSync(path.join(WORK, 'a/model.safetensors'));
for (const [chunking, dtype] of [[0, 0], [3, 1], [110, 2], [255, 3]]) {
  seed('pack_stream', `a-${chunking}-${dtype}`, Buffer.concat([Buffer.from([chunking, dtype]), weightsA]));
}

const corpus = readJson(path.join(FIX, 'tokenizer/corpus.json')).texts;
const texts = [
  'This is a photo of a cat.',
  '',
  '\uff21 \ufb01sh\u3000\uff76\uff9e \u2160 the dogs',
  '\u65e5\u672c \ud83d\udc31 \u200b x y <extra_id_0>',
  ...corpus.filter((t, i) => i % 12 === 0 && Buffer.byteLength(t) <= 200),
];
const models = Object.entries(spiece);
texts.forEach((text, i) => {
  const [name, model] = models[i % models.length];
  seed('spiece', `${name}-${i}`, frame(model, Buffer.from(text)));
});

const tokJson = (o) => Buffer.from(JSON.stringify({ version: '1.0', truncation: null, padding: null, ...o }));
const mapped = structuredClone(tinyTokenizer);
mapped.normalizer = { type: 'Sequence', normalizers: [{ type: 'Precompiled', precompiled_charsmap: charsmap(MAP_RULES).toString('base64') }] };
const byteFallback = structuredClone(tinyTokenizer);
byteFallback.model.vocab = [...byteFallback.model.vocab, ...BYTES.map(([p]) => [p, -20])];
byteFallback.model.byte_fallback = true;
const wordVocab = { '</s>': 0, '<unk>': 1, this: 2, is: 3, a: 4, photo: 5, of: 6, cat: 7 };
const tokenizerJsons = {
  unigram: readFileSync(path.join(TINY, 'tokenizer.json')),
  // SigLIP 2's kind: Gemma BPE with byte fallback, added tokens and a `$A <eos>` post-processor.
  gemma: readFileSync(path.join(FIX, 'tiny-siglip2-256/tokenizer.json')),
  'unigram-precompiled': Buffer.from(JSON.stringify(mapped)),
  'unigram-bytes': Buffer.from(JSON.stringify(byteFallback)),
  wordlevel: tokJson({
    added_tokens: [{ id: 0, content: '</s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] },
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab: wordVocab, unk_token: '<unk>' },
  }),
  bpe: tokJson({
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: { '</s>': 0, a: 1, t: 2, c: 3, 'Ġ': 4, at: 5, cat: 6, 'Ġc': 7 },
      merges: ['a t', 'c at', 'Ġ c'],
    },
  }),
};
for (const [name, bytes] of Object.entries(tokenizerJsons)) seed('tokenizer_json', name, bytes);

const images = {
  'rgb-8x8.png': png(8, 8, 2, 8, (x, y, c) => [x * 32, y * 32, (x ^ y) * 16][c]),
  'rgba-5x7.png': png(5, 7, 6, 8, (x, y, c) => [x * 50, y * 36, 200, x * y * 7][c]),
  'gray-4x4.png': png(4, 4, 0, 8, (x, y) => x * 64 + y),
  'gray1-9x3.png': png(9, 3, 0, 1, (x, y) => (x + y) & 1),
  'gray-alpha16-3x3.png': png(3, 3, 4, 16, (x, y, c) => (c ? 40000 : x * 20000 + y)),
  'rgb16-4x2.png': png(4, 2, 2, 16, (x, y, c) => x * 16000 + y * 3000 + c),
  'palette4-6x5.png': png(6, 5, 3, 4, (x, y) => (x + 2 * y) % 3, [
    chunk('PLTE', Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255])),
    chunk('tRNS', Buffer.from([255, 128, 0])),
  ]),
  'one-frame-7x5.gif': gif(7, 5, [(x, y) => (x + y) % 4]),
  'animated-4x4.gif': gif(4, 4, [(x) => x % 4, (x, y) => y % 4]),
  'rgb-12x10.jpg': JPEG_RGB_12x10,
  'gray-8x8.jpg': JPEG_GRAY_8x8,
  'exif-6-12x10.jpg': withExifOrientation(JPEG_RGB_12x10, 6),
  'exif-3-8x8.jpg': withExifOrientation(JPEG_GRAY_8x8, 3),
  'rgba-9x7.webp': WEBP_RGBA_9x7,
  'rgb-12x10.webp': WEBP_RGB_12x10,
  'tiny.png': readFileSync(path.join(FIX, 'images/tiny.png')),
};
for (const [name, bytes] of Object.entries(images)) seed('image', name, bytes);
// Every kind of JPEG Pillow writes (progressive, restart markers, CMYK, odd sizes, EXIF), from
// tests/fixtures/make_jpeg_fixtures.py: 1-4 KB each.
for (const f of readdirSync(path.join(FIX, 'jpeg')).filter((f) => f.endsWith('.jpg'))) {
  seed('image', `fixture-${f}`, readFileSync(path.join(FIX, 'jpeg', f)));
}

console.log(`seeds written to ${path.relative(ROOT, OUT)}/`);
