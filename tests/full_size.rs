//! Parity of every storage dtype on the full-size random google/siglip-base-patch16-224
//! checkpoint, which is generated on demand and never committed:
//!
//! ```sh
//! .venv/bin/python tests/fixtures/make_fixtures.py --full models/siglip-base-random
//! cargo test --release --test full_size -- --ignored --nocapture
//! ```
//!
//! Set `SIGLIP_FULL_DIR` to use another folder (any SigLIP config made with `--config`, or the
//! SigLIP 2 ones: `make_fixtures.py --full-siglip2 models/siglip2-base-random`, or
//! `--full-naflex models/siglip2-naflex-random`).

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::path::PathBuf;

use common::*;
use siglip::{format, preprocess, weights::Weights, Siglip, StorageDtype};

fn full_dir() -> PathBuf {
    std::env::var_os("SIGLIP_FULL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/siglip-base-random"))
}

#[test]
#[ignore = "needs the generated full-size checkpoint (see the module docs)"]
fn full_size_parity_per_dtype() {
    let dir = full_dir();
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()));
    let config = String::from_utf8(read("config.json")).unwrap();
    let preprocessor = String::from_utf8(read("preprocessor_config.json")).unwrap();
    let optional = |f: &str| std::fs::read(dir.join(f)).ok();
    let (spiece, tokenizer_json) = (optional("spiece.model"), optional("tokenizer.json"));
    let tokenizer_config = read("tokenizer_config.json");
    // SigLIP: spiece.model (as google/siglip-* ship it); SigLIP 2: the Gemma tokenizer.json.
    let tokenizer = siglip::tokenizer::TokenizerFiles {
        spiece_model: spiece.as_deref(),
        tokenizer_json: if spiece.is_some() { None } else { tokenizer_json.as_deref() },
        tokenizer_config: Some(&tokenizer_config),
    };
    let weights = read("model.safetensors");
    let r: serde_json::Value = serde_json::from_slice(&read("reference.json")).unwrap();
    let texts = strings(&r["texts"]);
    let (text_key, logits_key) = pipeline_keys(&r);

    for dtype in [StorageDtype::F32, StorageDtype::F16, StorageDtype::Q8, StorageDtype::Q4] {
        let bytes = {
            let w = Weights::parse(&weights).unwrap();
            format::pack(&w, dtype, &config, Some(&preprocessor), tokenizer).unwrap()
        };
        let model = Siglip::from_packed(&bytes).unwrap();
        let size = bytes.len();
        drop(bytes);
        let cfg = model.preprocess_config().clone();
        let text_embeds = model.embed_texts(&texts).unwrap();
        let text_cos = text_embeds.iter().zip(matrix(&r[text_key])).map(|(a, b)| cosine(a, &b)).fold(1f32, f32::min);
        let (mut image_cos, mut logit_err, mut score_err) = (1f32, 0f32, 0f32);
        for image in r["images"].as_array().unwrap() {
            let resized = siglip::preprocess::decode(&read(image["resized_png"].as_str().unwrap())).unwrap();
            // NaFlex: the resized image is already a whole grid within the budget, so it is only cut.
            let emb = if model.max_num_patches().is_some() {
                model.embed_image(&resized).unwrap()
            } else {
                model.embed_pixels(&preprocess::normalize(&resized, &cfg)).unwrap()
            };
            image_cos = image_cos.min(cosine(&emb, &floats(&image["image_embeds"])));
            for ((t, want), want_score) in
                text_embeds.iter().zip(floats(&image[logits_key])).zip(floats(&image["scores"]))
            {
                let logit = model.logit(&emb, t);
                logit_err = logit_err.max((logit - want).abs());
                score_err = score_err.max((siglip::sigmoid(logit) - want_score).abs());
            }
        }
        println!(
            "{:>3}: file {:>7.1} MB  min text cos {text_cos:.6}  min image cos {image_cos:.6}  max |logit err| {logit_err:.2e}  max |score err| {score_err:.2e}",
            dtype.name(),
            size as f64 / 1e6
        );
        match dtype {
            StorageDtype::F32 => assert!(logit_err <= 1e-4, "f32 logit error {logit_err}"),
            StorageDtype::F16 | StorageDtype::Q8 => {
                assert!(text_cos >= 0.999 && image_cos >= 0.999, "{dtype:?}: {text_cos} {image_cos}")
            }
            StorageDtype::Q4 => assert!(text_cos >= 0.95 && image_cos >= 0.95, "q4: {text_cos} {image_cos}"),
        }
    }
}
