//! SigLIP 2 NaFlex (`model_type` `siglip2`) against transformers' `Siglip2Model` with its
//! `Siglip2ImageProcessor` and `Siglip2Tokenizer`, on the committed tiny checkpoint
//! (`tests/fixtures/make_fixtures.py`): every image at three patch budgets, its grid, its
//! resized pixels, its embedding and logits, and the pipeline's scores end to end.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use serde_json::Value;
use siglip::{format, preprocess, weights::Weights, Classifier, Siglip, StorageDtype, TextMasking};

const NAME: &str = "tiny-siglip2-naflex";

fn image_path(file: &str) -> std::path::PathBuf {
    let plain = fixtures().join("images").join(file);
    if plain.exists() {
        plain
    } else {
        fixtures().join("images-naflex").join(file)
    }
}

fn budget(image: &Value) -> usize {
    image["max_num_patches"].as_u64().unwrap() as usize
}

#[test]
fn tokenizer_is_siglip2s_and_padding_is_attended_to() {
    let r = reference(NAME);
    let model = load_hf(NAME);
    // model_type siglip2: transformers loads Siglip2Tokenizer (lowercasing), whatever class
    // tokenizer_config.json names (GemmaTokenizer here, as the conversion saves it).
    assert_eq!(r["tokenizer_class"], "Siglip2Tokenizer");
    let texts = strings(&r["texts"]);
    for (i, (e, text)) in model.tokenize(&texts).unwrap().iter().zip(&texts).enumerate() {
        let want: Vec<u32> = r["input_ids"][i].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        assert_eq!(e.ids, want, "{text:?}");
    }
    assert_eq!(model.text_masking(), TextMasking::None);
    let info = model.info();
    assert_eq!((info.model_type.as_str(), info.max_num_patches), ("siglip2", Some(64)));
}

#[test]
fn grids_and_resized_pixels_match_the_image_processor() {
    let r = reference(NAME);
    let mut model = load_hf(NAME);
    for image in r["images"].as_array().unwrap() {
        let file = image["file"].as_str().unwrap();
        model.set_max_num_patches(budget(image)).unwrap();
        let decoded = preprocess::decode(&std::fs::read(image_path(file)).unwrap()).unwrap();
        let want_grid = (image["grid"][0].as_u64().unwrap() as usize, image["grid"][1].as_u64().unwrap() as usize);
        assert_eq!(model.image_grid(decoded.width(), decoded.height()), want_grid, "{file} at {}", budget(image));
        let want = reference_resized(NAME, image);
        let got = preprocess::resize(&decoded, want.width(), want.height(), model.preprocess_config().resample);
        assert_eq!((want.width(), want.height()), (want_grid.1 * 16, want_grid.0 * 16));
        let differ = got.data().iter().zip(want.data()).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "{file} at {}: resize must match Pillow's bilinear exactly", budget(image));
    }
}

#[test]
fn embeddings_and_logits_match_at_every_budget() {
    let r = reference(NAME);
    let mut model = load_hf(NAME);
    let texts = model.embed_texts(&strings(&r["texts"])).unwrap();
    let (mut worst_emb, mut worst_logit) = (0f32, 0f32);
    for image in r["images"].as_array().unwrap() {
        let file = image["file"].as_str().unwrap();
        model.set_max_num_patches(budget(image)).unwrap();
        // From the reference's resized pixels, which the budget leaves at their size.
        let emb = model.embed_image(&reference_resized(NAME, image)).unwrap();
        let d = max_abs_diff(&emb, &floats(&image["image_embeds"]));
        assert!(d < 1e-5, "{file} at {}: embedding max abs diff {d}", budget(image));
        for (t, want) in texts.iter().zip(floats(&image["logits_unmasked"])) {
            let err = (model.logit(&emb, t) - want).abs();
            assert!(err <= 1e-4, "{file} at {}: logit error {err}", budget(image));
            worst_logit = worst_logit.max(err);
        }
        worst_emb = worst_emb.max(d);
    }
    eprintln!("{NAME}: max embedding diff {worst_emb:.1e}, max logit error {worst_logit:.1e}");
}

#[test]
fn classify_end_to_end_gives_the_pipelines_scores() {
    // The encoded files, decoded, resized and cut as the image processor does, at the
    // default budget (the pipeline's).
    let r = reference(NAME);
    let labels = strings(&r["labels"]);
    let mut classifier = Classifier::new(load_hf(NAME));
    let default = r["max_num_patches"].as_u64().unwrap() as usize;
    for image in r["images"].as_array().unwrap().iter().filter(|i| budget(i) == default) {
        let file = image["file"].as_str().unwrap();
        let results = classifier.classify_bytes(&std::fs::read(image_path(file)).unwrap(), &labels).unwrap();
        let want = floats(&image["scores"]);
        for res in &results {
            let i = labels.iter().position(|l| *l == res.label).unwrap();
            assert!((res.score - want[i]).abs() <= 1e-4, "{file} {}: {} vs {}", res.label, res.score, want[i]);
        }
    }
}

#[test]
fn packed_dtypes_stay_close() {
    let f = hf_files(NAME);
    let r = reference(NAME);
    let w = Weights::parse(&f.weights).unwrap();
    let default = r["max_num_patches"].as_u64().unwrap() as usize;
    for (dtype, min_cos) in [(StorageDtype::F32, 0.999_999), (StorageDtype::Q8, 0.9999), (StorageDtype::Q4, 0.98)] {
        let bytes = format::pack(&w, dtype, &f.config, f.preprocessor.as_deref(), f.tokenizer()).unwrap();
        let model = Siglip::from_packed(&bytes).unwrap();
        assert_eq!(model.max_num_patches(), Some(default));
        let texts = model.embed_texts(&strings(&r["texts"])).unwrap();
        let text_cos =
            texts.iter().zip(matrix(&r["text_embeds_unmasked"])).map(|(a, b)| cosine(a, &b)).fold(1f32, f32::min);
        let mut image_cos = 1f32;
        for image in r["images"].as_array().unwrap().iter().filter(|i| budget(i) == default) {
            let emb = model.embed_image(&reference_resized(NAME, image)).unwrap();
            image_cos = image_cos.min(cosine(&emb, &floats(&image["image_embeds"])));
        }
        eprintln!(
            "{NAME} {:>3}: {:>8} bytes  text cos {text_cos:.6}  image cos {image_cos:.6}",
            dtype.name(),
            bytes.len()
        );
        assert!(text_cos >= min_cos && image_cos >= min_cos, "{dtype:?}: {text_cos} {image_cos}");
    }
}

#[test]
fn patch_budgets_are_checked() {
    let mut model = load_hf(NAME);
    for bad in [0, 5000] {
        let err = model.set_max_num_patches(bad).unwrap_err().to_string();
        assert!(err.contains("max_num_patches"), "{err}");
    }
    assert_eq!(model.max_num_patches(), Some(64), "a refused budget changes nothing");
    model.set_max_num_patches(1).unwrap();
    // One patch: every image becomes a single 16 x 16 patch, and still embeds.
    let img = preprocess::decode(&std::fs::read(image_path("wide.png")).unwrap()).unwrap();
    assert_eq!(model.image_grid(img.width(), img.height()), (1, 1));
    assert_eq!(model.embed_image(&img).unwrap().len(), 48);
    // Fixed-resolution models ignore the budget, and refuse patches.
    let mut fixed = load_hf("tiny-siglip2-256");
    fixed.set_max_num_patches(16).unwrap();
    assert_eq!((fixed.max_num_patches(), fixed.image_grid(640, 480)), (None, (16, 16)));
    assert!(fixed.patches(&img).is_err());
    assert!(model.embed_pixels(&vec![0.0; 3 * 128 * 128]).is_err(), "a NaFlex model takes patches");
}
