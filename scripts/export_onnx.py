#!/usr/bin/env python3
"""Exports a Hugging Face SigLIP checkpoint to the layout transformers.js loads, for the browser
benchmark's peer (`./build.sh bench`, tests/web/bench.mjs). Never part of CI.

Does what transformers.js' own conversion does (optimum-style `torch.onnx.export`, then its
`scripts/quantize.py` q8 mode):

* `onnx/model.onnx`        SiglipModel: input_ids, pixel_values -> logits_per_image,
                           logits_per_text, text_embeds, image_embeds
* `onnx/text_model.onnx`   SiglipTextModel: input_ids -> last_hidden_state, pooler_output
* `onnx/vision_model.onnx` SiglipVisionModel: pixel_values -> last_hidden_state, pooler_output
* `onnx/*_quantized.onnx`  q8: `onnxruntime.quantization.quantize_dynamic`, weights uint8 when the
                           graph has a Conv (the vision tower's patch embedding: onnxruntime-web
                           has no ConvInteger for int8 weights), int8 otherwise; activations uint8
* config.json, preprocessor_config.json, tokenizer.json, tokenizer_config.json,
  special_tokens_map.json (what transformers.js reads), and logit_params.json (logit scale and
  bias, so the benchmark can score with the vision model alone).

Then checks onnxruntime's output against PyTorch (fp32) and prints the q8-vs-fp32 cosine.

Usage (the fixtures' venv plus `onnx onnxruntime onnxscript`):

    .venv/bin/python scripts/export_onnx.py [models/siglip-base-random] [-o models/siglip-base-random-onnx]
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from transformers import SiglipModel

# transformers.js scripts/quantize.py: these operators select uint8 weights in its q8 mode.
QUINT8_OPS = {"Conv", "GroupQueryAttention", "MultiHeadAttention"}
OPSET = 14  # optimum's default for CLIP-like models


class Full(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, pixel_values):
        out = self.model(input_ids=input_ids, pixel_values=pixel_values)
        return out.logits_per_image, out.logits_per_text, out.text_embeds, out.image_embeds


class Tower(torch.nn.Module):
    def __init__(self, tower, arg):
        super().__init__()
        self.tower = tower
        self.arg = arg

    def forward(self, x):
        out = self.tower(**{self.arg: x})
        return out.last_hidden_state, out.pooler_output


def export(module, args, path, input_names, output_names, dynamic_axes):
    kwargs = dict(input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes,
                  opset_version=OPSET, do_constant_folding=True)
    try:
        torch.onnx.export(module, args, path, dynamo=False, **kwargs)  # the TorchScript exporter, as optimum
    except TypeError:  # older torch without the `dynamo` argument
        torch.onnx.export(module, args, path, **kwargs)


def operators(model):
    ops = set()

    def walk(graph):
        for node in graph.node:
            ops.add(node.op_type)
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)

    walk(model.graph)
    return ops


def quantize_q8(src, dst):
    ops = operators(onnx.load(src, load_external_data=False))
    weight_type = QuantType.QUInt8 if ops & QUINT8_OPS else QuantType.QInt8
    quantize_dynamic(src, dst, per_channel=False, reduce_range=False, weight_type=weight_type,
                     extra_options={"EnableSubgraph": True, "MatMulConstBOnly": True})
    return weight_type


def cosine(a, b):
    a = a.reshape(a.shape[0], -1).astype(np.float64)
    b = b.reshape(b.shape[0], -1).astype(np.float64)
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def copy_tokenizer(src, out):
    """tokenizer.json (+ config, special tokens) as transformers.js reads them: the SigLIP
    template (`</s>` appended), padding to 64 with `</s>` in the pipeline."""
    tok_json = os.path.join(src, "tokenizer.json")
    if not os.path.exists(tok_json):
        from transformers import AutoTokenizer
        AutoTokenizer.from_pretrained(src).save_pretrained(out)
        tok_json = os.path.join(out, "tokenizer.json")
    with open(tok_json) as f:
        tok = json.load(f)
    if not tok.get("post_processor"):
        eos_id = next(t["id"] for t in tok["added_tokens"] if t["content"] == "</s>") \
            if any(t["content"] == "</s>" for t in tok.get("added_tokens", [])) else 1
        tok["post_processor"] = {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {"</s>": {"id": "</s>", "ids": [eos_id], "tokens": ["</s>"]}},
        }
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tok, f, ensure_ascii=False)
    cfg_path = os.path.join(src, "tokenizer_config.json")
    cfg = json.load(open(cfg_path)) if os.path.exists(cfg_path) else {}
    cfg.update({"tokenizer_class": "SiglipTokenizer", "model_max_length": 64, "do_lower_case": True,
                "eos_token": "</s>", "pad_token": "</s>", "unk_token": "<unk>"})
    cfg.pop("added_tokens_decoder", None)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out, "special_tokens_map.json"), "w") as f:
        json.dump({"eos_token": "</s>", "pad_token": "</s>", "unk_token": "<unk>"}, f, indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", nargs="?", default="models/siglip-base-random")
    ap.add_argument("-o", "--out", default="models/siglip-base-random-onnx")
    args = ap.parse_args()
    torch.set_num_threads(2)

    src, out = args.checkpoint, args.out
    onnx_dir = os.path.join(out, "onnx")
    os.makedirs(onnx_dir, exist_ok=True)
    model = SiglipModel.from_pretrained(src, attn_implementation="eager").eval()
    cfg = model.config
    size = cfg.vision_config.image_size

    for f in ("config.json", "preprocessor_config.json"):
        if os.path.exists(os.path.join(src, f)):
            shutil.copy(os.path.join(src, f), out)
    if not os.path.exists(os.path.join(out, "preprocessor_config.json")):
        from transformers import SiglipImageProcessor
        SiglipImageProcessor(size={"height": size, "width": size}).save_pretrained(out)
    copy_tokenizer(src, out)
    with open(os.path.join(out, "logit_params.json"), "w") as f:
        json.dump({"logit_scale": model.logit_scale.item(), "logit_bias": model.logit_bias.item()}, f)

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, cfg.text_config.vocab_size, (2, 64), generator=g)
    ids[:, 20:] = 1  # `</s>` padding, as the pipeline pads
    pixels = torch.rand((2, 3, size, size), generator=g) * 2 - 1
    graphs = {
        "model": (Full(model), (ids, pixels), ["input_ids", "pixel_values"],
                  ["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"],
                  {"input_ids": {0: "text_batch_size", 1: "sequence_length"},
                   "pixel_values": {0: "image_batch_size"},
                   "logits_per_image": {0: "image_batch_size", 1: "text_batch_size"},
                   "logits_per_text": {0: "text_batch_size", 1: "image_batch_size"},
                   "text_embeds": {0: "text_batch_size"}, "image_embeds": {0: "image_batch_size"}}),
        "text_model": (Tower(model.text_model, "input_ids"), (ids,), ["input_ids"],
                       ["last_hidden_state", "pooler_output"],
                       {"input_ids": {0: "batch_size", 1: "sequence_length"},
                        "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
                        "pooler_output": {0: "batch_size"}}),
        "vision_model": (Tower(model.vision_model, "pixel_values"), (pixels,), ["pixel_values"],
                         ["last_hidden_state", "pooler_output"],
                         {"pixel_values": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"},
                          "pooler_output": {0: "batch_size"}}),
    }
    ok = True
    for name, (module, inputs, in_names, out_names, axes) in graphs.items():
        fp32 = os.path.join(onnx_dir, f"{name}.onnx")
        q8 = os.path.join(onnx_dir, f"{name}_quantized.onnx")
        print(f"exporting {fp32}", flush=True)
        export(module, inputs, fp32, in_names, out_names, axes)
        weight_type = quantize_q8(fp32, q8)
        with torch.no_grad():
            want = [t.numpy() for t in module(*inputs)]
        feeds = {n: t.numpy() for n, t in zip(in_names, inputs)}
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        got = ort.InferenceSession(fp32, opts, providers=["CPUExecutionProvider"]).run(None, feeds)
        got_q8 = ort.InferenceSession(q8, opts, providers=["CPUExecutionProvider"]).run(None, feeds)
        err = max(float(np.abs(a - b).max()) for a, b in zip(got, want))
        # The embeddings: pooler_output for the towers, text_embeds and image_embeds for the model.
        picks = [1] if name != "model" else [2, 3]
        cos = [float(cosine(got_q8[i], got[i]).min()) for i in picks]
        mb = os.path.getsize(fp32) / 1e6, os.path.getsize(q8) / 1e6
        print(f"  {name}: fp32 {mb[0]:.0f} MB, q8 ({weight_type.name} weights) {mb[1]:.0f} MB; "
              f"ORT fp32 vs torch max abs error {err:.1e}; ORT q8 vs fp32 min cosine "
              + " / ".join(f"{c:.6f}" for c in cos), flush=True)
        if err > 1e-3 * max(1.0, max(float(np.abs(w).max()) for w in want)):
            ok = False
    print(f"wrote {out}")
    if not ok:
        sys.exit("ORT fp32 output disagrees with PyTorch")


if __name__ == "__main__":
    main()
