#!/usr/bin/env python3
"""Writes tokenizer.json next to spiece.model in a Hugging Face SigLIP checkpoint folder.

google/siglip-* checkpoints ship only the SentencePiece model (spiece.model) for the slow
`SiglipTokenizer`. `siglip quantize` needs a `tokenizer.json`; this converts one with
transformers' SentencePiece converter and checks it against the slow tokenizer.

    pip install transformers sentencepiece protobuf tokenizers
    python scripts/make_tokenizer_json.py path/to/siglip-base-patch16-224
"""

import re
import string
import sys

from transformers import SiglipTokenizer
from transformers.convert_slow_tokenizer import SpmConverter


def canonicalize(text):
    text = text.lower().translate(str.maketrans("", "", string.punctuation))
    return re.sub(r"\s+", " ", text).strip()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    folder = sys.argv[1]
    slow = SiglipTokenizer.from_pretrained(folder)
    fast = SpmConverter(slow).converted()
    samples = ["This is a photo of 2 cats.", "A Red CAR, parked!", "l'été à Paris", "日本の猫", ""]
    eos = slow.convert_tokens_to_ids("</s>")
    for text in samples:
        want = slow(text)["input_ids"]
        got = fast.encode(canonicalize(text), add_special_tokens=False).ids + [eos]
        if got != want:
            sys.exit(f"conversion disagrees with SiglipTokenizer on {text!r}: {got} vs {want}")
    fast.save(f"{folder}/tokenizer.json")
    print(f"wrote {folder}/tokenizer.json")


if __name__ == "__main__":
    main()
