#!/usr/bin/env python3
"""The native peer of `siglip index` for the indexing benchmark: onnxruntime on the Python
reference export (scripts/export_onnx.py, the q8 vision model transformers.js loads), over the
same folder of images, as a Python indexer would run it: PIL decode (the pipeline's
load_image), transformers' SiglipImageProcessor, the q8 vision model, normalized embeddings.
Prints images per second for each batch size, and with --check compares its embeddings with an
index file's (cosines). Never part of CI.

    .venv/bin/python scripts/bench_index_ort.py ONNX_DIR PHOTOS_DIR [--threads 2] [--batch 1 4 8]
        [--check photos.index.safetensors]
"""

import argparse
import json
import os
import time

import numpy as np
import onnxruntime as ort
from transformers import SiglipImageProcessor
from transformers.image_utils import load_image


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("onnx_dir")
    ap.add_argument("photos")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--limit", type=int, default=None, help="only the first N images")
    ap.add_argument("--check", help="an index file of the same images to compare embeddings with")
    args = ap.parse_args()
    files = sorted(
        os.path.join(d, f) for d, _, fs in os.walk(args.photos) for f in fs
        if f.lower().endswith((".jpg", ".jpeg", ".png", ".webp", ".gif"))
    )[: args.limit]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(os.path.join(args.onnx_dir, "onnx", "vision_model_quantized.onnx"), opts,
                                   providers=["CPUExecutionProvider"])
    proc = SiglipImageProcessor.from_pretrained(args.onnx_dir)
    rows = []
    embeddings = {}
    for batch in args.batch:
        # One warm-up batch, untimed.
        pv = proc(images=[load_image(f) for f in files[:batch]], return_tensors="np")["pixel_values"]
        session.run(["pooler_output"], {"pixel_values": pv})
        started = time.perf_counter()
        for at in range(0, len(files), batch):
            chunk = files[at:at + batch]
            pv = proc(images=[load_image(f) for f in chunk], return_tensors="np")["pixel_values"]
            (out,) = session.run(["pooler_output"], {"pixel_values": pv})
            out = out / np.linalg.norm(out, axis=-1, keepdims=True)
            for f, e in zip(chunk, out):
                embeddings[f] = e
        seconds = time.perf_counter() - started
        rows.append({"engine": "onnxruntime", "version": ort.__version__, "threads": args.threads, "batch": batch,
                     "images": len(files), "seconds": seconds, "images_per_second": len(files) / seconds})
        print(json.dumps(rows[-1]))
    if args.check:
        from safetensors import safe_open
        with safe_open(args.check, "np") as f:
            index = f.get_tensor("embeddings").astype(np.float32)
            records = json.loads(f.get_tensor("records").tobytes())
        by_name = {r["name"]: index[i] for i, r in enumerate(records)}
        cos = [float(by_name[os.path.basename(f)] @ embeddings[f]) for f in files if os.path.basename(f) in by_name]
        print(json.dumps({"compared": len(cos), "min_cosine": min(cos), "mean_cosine": float(np.mean(cos))}))


if __name__ == "__main__":
    main()
