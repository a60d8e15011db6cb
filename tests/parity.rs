//! Parity with Hugging Face `transformers` on the committed random-weight checkpoints
//! (`tests/fixtures/make_fixtures.py` made both the checkpoints and `reference.json`).

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use siglip::{preprocess, Classifier, TextMasking};

/// f32 logits must match the reference to this (the bound).
const LOGIT_TOL: f32 = 1e-4;

#[test]
fn input_ids_are_exact() {
    for name in MODELS {
        let r = reference(name);
        let model = load_hf(name);
        let texts = strings(&r["texts"]);
        let encoded = model.tokenize(&texts).unwrap();
        for (i, (e, text)) in encoded.iter().zip(&texts).enumerate() {
            let want: Vec<u32> =
                r["input_ids"][i].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
            assert_eq!(e.ids, want, "{name}: ids of {text:?}");
            assert_eq!(e.len as u64, r["attention_mask_lengths"][i].as_u64().unwrap(), "{text:?}");
            assert_eq!(e.start as u64, r["attention_mask_starts"][i].as_u64().unwrap(), "{text:?}");
        }
        // The long label really was truncated, and still ends in </s> (SigLIP) or <eos>
        // (SigLIP 2), id 1 in both.
        let long = texts.iter().position(|t| t.starts_with("This is a photo of mountain river")).unwrap();
        assert_eq!(encoded[long].len, 64);
        assert_eq!(encoded[long].ids[63], 1);
    }
}

#[test]
fn text_masking_defaults_to_the_pipelines() {
    // SigLIP's tokenizer returns an attention mask, so the pipeline masks padding; SigLIP 2's
    // conversion drops it (`model_input_names = ["input_ids"]`), so padding is attended to.
    for name in MODELS {
        let r = reference(name);
        let want = match r["pipeline_text_masking"].as_str().unwrap() {
            "padding" => TextMasking::Padding,
            "none" => TextMasking::None,
            other => panic!("{other}"),
        };
        let model = load_hf(name);
        assert_eq!(model.text_masking(), want, "{name}");
        assert_eq!(model.pipeline_text_masking(), want, "{name}");
    }
    assert_eq!(load_hf("tiny-siglip2-256").text_masking(), TextMasking::None);
    // transformers' own SigLIP conversion saves the tokenizer with model_input_names
    // ["input_ids"] too (convert_siglip_to_hf.py), so for such a checkpoint the pipeline
    // attends to the padding: the same tiny-224 with that config gives the unmasked logits.
    let f = hf_files("tiny-224");
    let mut config: serde_json::Value = serde_json::from_str(&f.tokenizer_config).unwrap();
    config["model_input_names"] = serde_json::json!(["input_ids"]);
    let config = serde_json::to_string(&config).unwrap();
    let tokenizer = siglip::tokenizer::TokenizerFiles { tokenizer_config: Some(config.as_bytes()), ..f.tokenizer() };
    let model = siglip::Siglip::from_hf(&f.config, f.preprocessor.as_deref(), tokenizer, &f.weights).unwrap();
    assert_eq!(model.text_masking(), TextMasking::None);
    let r = reference("tiny-224");
    let labels = strings(&r["labels"]);
    let image = &r["images"][0];
    let bytes = std::fs::read(fixtures().join("images").join(image["file"].as_str().unwrap())).unwrap();
    let want = floats(&image["logits_unmasked"]);
    for res in Classifier::new(model).classify_bytes(&bytes, &labels).unwrap() {
        let w = want[labels.iter().position(|l| *l == res.label).unwrap()];
        assert!((res.logit - w).abs() <= LOGIT_TOL, "{}: {} vs {w}", res.label, res.logit);
    }
}

#[test]
fn text_embeddings_match_masked_and_unmasked() {
    for name in MODELS {
        let r = reference(name);
        let mut model = load_hf(name);
        let texts = strings(&r["texts"]);
        for (masking, key) in [(TextMasking::Padding, "text_embeds"), (TextMasking::None, "text_embeds_unmasked")] {
            model.set_text_masking(masking);
            let got = model.embed_texts(&texts).unwrap();
            for (g, w) in got.iter().zip(matrix(&r[key])) {
                let d = max_abs_diff(g, &w);
                assert!(d < 1e-5, "{name} {key}: max abs diff {d}");
            }
        }
    }
}

#[test]
fn resized_pixels_match_pillow() {
    for name in MODELS {
        let r = reference(name);
        let model = load_hf(name);
        let (size, resample) = (model.preprocess_config().size, model.preprocess_config().resample);
        for image in r["images"].as_array().unwrap() {
            let file = image["file"].as_str().unwrap();
            let want = reference_resized(name, image);
            let decoded = preprocess::decode(&std::fs::read(fixtures().join("images").join(file)).unwrap()).unwrap();
            let got = preprocess::resize(&decoded, size, size, resample);
            assert_eq!((got.width(), got.height()), (want.width(), want.height()));
            let diffs: Vec<i32> =
                got.data().iter().zip(want.data()).map(|(a, b)| (*a as i32 - *b as i32).abs()).collect();
            let max = *diffs.iter().max().unwrap();
            let mean = diffs.iter().sum::<i32>() as f64 / diffs.len() as f64;
            // JPEGs too: decoded as Pillow's libjpeg-turbo decodes them (src/jpeg.rs).
            assert_eq!(max, 0, "{name} {file}: decode + resize must match Pillow exactly (mean {mean})");
        }
    }
}

#[test]
fn image_embeddings_and_logits_match_from_reference_pixels() {
    for name in MODELS {
        let r = reference(name);
        let model = load_hf(name);
        let cfg = model.preprocess_config().clone();
        let texts = strings(&r["texts"]);
        let mut model = model;
        model.set_text_masking(TextMasking::Padding);
        let text_embeds = model.embed_texts(&texts).unwrap();
        for image in r["images"].as_array().unwrap() {
            let pixels = preprocess::normalize(&reference_resized(name, image), &cfg);
            let emb = model.embed_pixels(&pixels).unwrap();
            let d = max_abs_diff(&emb, &floats(&image["image_embeds"]));
            assert!(d < 1e-5, "{name} {}: image embedding max abs diff {d}", image["file"]);
            for (t, want) in text_embeds.iter().zip(floats(&image["logits"])) {
                let got = model.logit(&emb, t);
                assert!((got - want).abs() <= LOGIT_TOL, "{name}: logit {got} vs {want}");
            }
        }
    }
}

#[test]
fn classify_end_to_end_matches_reference_scores() {
    for name in MODELS {
        let r = reference(name);
        let labels = strings(&r["labels"]);
        let mut classifier = Classifier::new(load_hf(name));
        for image in r["images"].as_array().unwrap() {
            let file = image["file"].as_str().unwrap();
            let bytes = std::fs::read(fixtures().join("images").join(file)).unwrap();
            let results = classifier.classify_bytes(&bytes, &labels).unwrap();
            // Sorted by score, highest first, one per label.
            assert_eq!(results.len(), labels.len());
            assert!(results.windows(2).all(|w| w[0].score >= w[1].score));
            // The classifier runs in the pipeline's masking mode; so do the reference scores.
            let want_logits = floats(&image[pipeline_keys(&r).1]);
            let want_scores = floats(&image["scores"]);
            let tol = LOGIT_TOL;
            for res in &results {
                let i = labels.iter().position(|l| *l == res.label).unwrap();
                assert!(
                    (res.logit - want_logits[i]).abs() <= tol,
                    "{name} {file} {}: {} vs {}",
                    res.label,
                    res.logit,
                    want_logits[i]
                );
                assert!((res.score - want_scores[i]).abs() <= tol, "{name} {file}: score");
            }
        }
        // Every label was embedded once; new images reuse the cache.
        assert_eq!(classifier.cached_texts(), labels.len());
    }
}

#[test]
fn spiece_model_converts_to_the_reference_tokenizer() {
    // google/siglip-* ship only spiece.model; our conversion must tokenize like the slow
    // SiglipTokenizer (reference input ids) and like transformers' converted tokenizer.json.
    for name in MODELS.into_iter().filter(|n| model_dir(n).join("spiece.model").exists()) {
        let r = reference(name);
        let spm = std::fs::read(model_dir(name).join("spiece.model")).unwrap();
        let json = siglip::spm::SpmModel::parse(&spm).unwrap().to_tokenizer_json().unwrap();
        let ours = siglip::tokenizer::SiglipTokenizer::from_json(json.as_bytes(), 64).unwrap();
        let python_json = std::fs::read(model_dir(name).join("tokenizer.json")).unwrap();
        let theirs = siglip::tokenizer::SiglipTokenizer::from_json(&python_json, 64).unwrap();
        let mut texts = strings(&r["texts"]);
        texts.extend(
            ["", "!!!", "ÉCOLE ﬁnancière Ⅻ", "tab\there", "  ２ｃａｔｓ  ", "x".repeat(300).as_str()].map(String::from),
        );
        for (i, text) in texts.iter().enumerate() {
            let a = ours.encode(text).unwrap();
            assert_eq!(a, theirs.encode(text).unwrap(), "{name}: {text:?}");
            if let Some(want) = r["input_ids"].get(i) {
                let want: Vec<u32> = want.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
                assert_eq!(a.ids, want, "{name}: {text:?}");
            }
        }
    }
}
