#!/usr/bin/env node
// Writes a generated photo library for the retrieval tests and benchmarks: COUNT small, varied
// PNG images (gradients, stripes, rings, checkers, noise, flat colours; 16-64 px, any aspect
// ratio; RGB, grey, RGBA) in nested folders, plus a few files that are not images. Every byte
// is deterministic (the PNGs use stored deflate blocks, so no zlib version changes them), so
// the reference index made from them with transformers (tests/fixtures/make_fixtures.py
// --gallery) matches what this script writes on any machine. No dependencies.
//
//   node scripts/make_gallery.mjs OUT_DIR [--count 1000] [--seed 1] [--no-junk]
//   node scripts/make_gallery.mjs OUT_DIR --big 200      # also BIG photo-sized images (0.5-3 MP)

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A 32-bit xorshift generator: the same numbers on every platform. */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function adler32(bytes) {
  let a = 1;
  let b = 0;
  for (const x of bytes) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

function u32(n) {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n >>> 0);
  return out;
}

function chunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  return Buffer.concat([u32(data.length), body, u32(crc32(body))]);
}

/** zlib stream of stored (uncompressed) deflate blocks. */
function storedZlib(raw) {
  const parts = [Buffer.from([0x78, 0x01])];
  for (let at = 0; at < raw.length || at === 0; at += 65535) {
    const block = raw.subarray(at, at + 65535);
    const last = at + 65535 >= raw.length ? 1 : 0;
    const header = Buffer.alloc(5);
    header[0] = last;
    header.writeUInt16LE(block.length, 1);
    header.writeUInt16LE(~block.length & 0xffff, 3);
    parts.push(header, block);
    if (raw.length === 0) break;
  }
  parts.push(u32(adler32(raw)));
  return Buffer.concat(parts);
}

/** A PNG of `channels` 1 (grey), 3 (RGB) or 4 (RGBA) 8-bit samples per pixel. */
export function png(width, height, channels, pixels) {
  const colorType = { 1: 0, 3: 2, 4: 6 }[channels];
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = colorType;
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) pixels.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', storedZlib(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const PATTERNS = ['gradient', 'stripes', 'rings', 'checkers', 'noise', 'flat', 'blobs'];

/** One image's pixels: a pattern in two colours, with some noise. */
function paint(random, width, height, channels) {
  const pattern = PATTERNS[Math.floor(random() * PATTERNS.length)];
  const c1 = [0, 1, 2].map(() => Math.floor(random() * 256));
  const c2 = [0, 1, 2].map(() => Math.floor(random() * 256));
  const freq = 2 + Math.floor(random() * 10);
  const angle = random() * Math.PI;
  const [cx, cy] = [random() * width, random() * height];
  const noise = random() * 40;
  const blobs = Array.from({ length: 3 }, () => [random() * width, random() * height, 3 + random() * 12]);
  const px = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / width;
      const v = y / height;
      let t;
      switch (pattern) {
        case 'gradient': t = u * Math.cos(angle) + v * Math.sin(angle); break;
        case 'stripes': t = Math.sin((u * Math.cos(angle) + v * Math.sin(angle)) * freq * Math.PI) > 0 ? 1 : 0; break;
        case 'rings': t = (Math.hypot(x - cx, y - cy) / 4) % 2 < 1 ? 1 : 0; break;
        case 'checkers': t = (Math.floor(u * freq) + Math.floor(v * freq)) % 2; break;
        case 'noise': t = random(); break;
        case 'flat': t = 0; break;
        default: t = blobs.some(([bx, by, r]) => Math.hypot(x - bx, y - by) < r) ? 1 : 0;
      }
      t = Math.min(1, Math.max(0, t));
      const grain = (random() - 0.5) * noise;
      const rgb = c1.map((a, i) => Math.min(255, Math.max(0, Math.round(a + (c2[i] - a) * t + grain))));
      const at = (y * width + x) * channels;
      if (channels === 1) px[at] = Math.round((rgb[0] * 299 + rgb[1] * 587 + rgb[2] * 114) / 1000);
      else {
        px[at] = rgb[0];
        px[at + 1] = rgb[1];
        px[at + 2] = rgb[2];
        if (channels === 4) px[at + 3] = 128 + Math.floor(random() * 128);
      }
    }
  }
  return px;
}

/** Writes the gallery; returns the relative paths of the images, in order. */
export function makeGallery(out, { count = 1000, seed = 1, junk = true, big = 0 } = {}) {
  const random = rng(seed);
  const files = [];
  for (let i = 0; i < count; i++) {
    const [w, h] = [16 + Math.floor(random() * 49), 16 + Math.floor(random() * 49)];
    const channels = random() < 0.8 ? 3 : random() < 0.5 ? 1 : 4;
    const dir = i % 10 === 0 ? 'b/c' : i % 3 === 0 ? 'a' : '.';
    const rel = path.posix.join(dir, `img-${String(i).padStart(4, '0')}.png`);
    mkdirSync(path.join(out, dir), { recursive: true });
    writeFileSync(path.join(out, rel), png(w, h, channels, paint(random, w, h, channels)));
    files.push(rel);
  }
  for (let i = 0; i < big; i++) {
    // Photo-sized: 0.5-3 MP at a 4:3 or 3:4 aspect ratio.
    const mp = 0.5 + random() * 2.5;
    const w = Math.round(Math.sqrt(mp * 1e6 * (random() < 0.7 ? 4 / 3 : 3 / 4)));
    const h = Math.round((mp * 1e6) / w);
    const rel = path.posix.join('big', `photo-${String(i).padStart(4, '0')}.png`);
    mkdirSync(path.join(out, 'big'), { recursive: true });
    writeFileSync(path.join(out, rel), png(w, h, 3, paint(random, w, h, 3)));
    files.push(rel);
  }
  if (junk) {
    // Not images: counted and skipped by the indexer, never an error.
    writeFileSync(path.join(out, 'notes.txt'), 'not an image\n');
    writeFileSync(path.join(out, 'a', 'broken.png'), Buffer.from('\x89PNG\r\n\x1a\nthis is not really a png'));
    writeFileSync(path.join(out, 'b', '.hidden.json'), '{}');
  }
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const out = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a));
  if (!out) {
    console.error('usage: node scripts/make_gallery.mjs OUT_DIR [--count 1000] [--seed 1] [--no-junk] [--big N]');
    process.exit(2);
  }
  const opt = (name, d) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : d;
  };
  const files = makeGallery(out, { count: opt('--count', 1000), seed: opt('--seed', 1), junk: !args.includes('--no-junk'), big: opt('--big', 0) });
  console.log(`wrote ${files.length} images to ${out}`);
}
