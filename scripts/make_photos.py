#!/usr/bin/env python3
"""Writes photo-sized JPEGs for the indexing benchmarks (never for tests, never committed):
COUNT images of 0.5-3 megapixels (4:3 or 3:4), smooth gradients with shapes, text-like
strokes and sensor-like noise, at JPEG quality 85-95 (4:2:0), so that decoding and resizing cost
what a phone photo costs. Deterministic for a seed.

    .venv/bin/python scripts/make_photos.py OUT_DIR [--count 200] [--seed 1]
"""

import argparse
import os
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def photo(rng, nrng):
    mp = rng.uniform(0.5, 3.0)
    aspect = 4 / 3 if rng.random() < 0.7 else 3 / 4
    w = int(round((mp * 1e6 * aspect) ** 0.5))
    h = int(round(mp * 1e6 / w))
    # A smooth background: two colours blended along a random direction.
    c1, c2 = nrng.integers(0, 256, 3), nrng.integers(0, 256, 3)
    a = rng.uniform(0, np.pi)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    t = ((x / w) * np.cos(a) + (y / h) * np.sin(a))
    t = (t - t.min()) / max(1e-6, t.max() - t.min())
    img = (c1[None, None, :] * (1 - t[..., None]) + c2[None, None, :] * t[..., None]).astype(np.float32)
    pil = Image.fromarray(img.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    for _ in range(rng.randint(3, 12)):
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.03, 0.25) * min(w, h)
        fill = tuple(int(v) for v in nrng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse([x0 - r, y0 - r, x0 + r, y0 + r], fill=fill)
        else:
            draw.rectangle([x0 - r, y0 - r * 0.6, x0 + r, y0 + r * 0.6], fill=fill)
    for _ in range(rng.randint(0, 40)):  # strokes, as text or branches
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        draw.line([x0, y0, x0 + rng.uniform(-80, 80), y0 + rng.uniform(-20, 20)], fill=(20, 20, 20), width=3)
    pil = pil.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.0)))
    noisy = np.asarray(pil).astype(np.int16) + nrng.normal(0, rng.uniform(2, 8), (h, w, 3)).astype(np.int16)
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng, nrng = random.Random(args.seed), np.random.default_rng(args.seed)
    total = 0
    for i in range(args.count):
        path = os.path.join(args.out, f"photo-{i:04d}.jpg")
        photo(rng, nrng).save(path, quality=rng.randint(85, 95))
        total += os.path.getsize(path)
    print(f"wrote {args.count} photos to {args.out} ({total / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
