//! Packed files (`siglip quantize`) per storage dtype: they load, keep the reference's
//! results within measured bounds, and open as ordinary safetensors.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use siglip::{format, preprocess, weights::Weights, Siglip, StorageDtype};

fn pack(name: &str, dtype: StorageDtype) -> Vec<u8> {
    let f = hf_files(name);
    let w = Weights::parse(&f.weights).unwrap();
    format::pack(&w, dtype, &f.config, f.preprocessor.as_deref(), f.tokenizer()).unwrap()
}

/// Worst cosine to the reference over all texts and images, and worst logit error.
fn parity(name: &str, model: &Siglip) -> (f32, f32, f32) {
    let r = reference(name);
    let cfg = model.preprocess_config().clone();
    // In the pipeline's masking mode, the model's default.
    let (text_key, logits_key) = pipeline_keys(&r);
    let texts = model.embed_texts(&strings(&r["texts"])).unwrap();
    let mut text_cos = 1f32;
    for (t, w) in texts.iter().zip(matrix(&r[text_key])) {
        text_cos = text_cos.min(cosine(t, &w));
    }
    let (mut image_cos, mut logit_err) = (1f32, 0f32);
    for image in r["images"].as_array().unwrap() {
        let pixels = preprocess::normalize(&reference_resized(name, image), &cfg);
        let emb = model.embed_pixels(&pixels).unwrap();
        image_cos = image_cos.min(cosine(&emb, &floats(&image["image_embeds"])));
        for (t, want) in texts.iter().zip(floats(&image[logits_key])) {
            logit_err = logit_err.max((model.logit(&emb, t) - want).abs());
        }
    }
    (text_cos, image_cos, logit_err)
}

#[test]
fn every_dtype_loads_and_stays_close_to_the_reference() {
    // (dtype, min text cosine, min image cosine, max logit error), measured on the tiny
    // fixtures (whose perturbed random weights are harsher than a trained model's).
    let bounds = [
        (StorageDtype::F32, 0.999_999, 0.999_999, 1e-4),
        (StorageDtype::F16, 0.99999, 0.99999, 5e-3),
        (StorageDtype::Q8, 0.9999, 0.9999, 0.06),
        (StorageDtype::Q4, 0.98, 0.98, 0.6),
    ];
    for name in MODELS {
        let f32_len = pack(name, StorageDtype::F32).len();
        for (dtype, min_text, min_image, max_logit) in bounds {
            let bytes = pack(name, dtype);
            let model = Siglip::from_packed(&bytes).unwrap();
            assert_eq!(model.info().dtype, dtype.name());
            let (t, i, l) = parity(name, &model);
            eprintln!(
                "{name} {:>3}: {:>8} bytes ({:.2}x f32)  text cos {t:.6}  image cos {i:.6}  max logit err {l:.2e}",
                dtype.name(),
                bytes.len(),
                bytes.len() as f64 / f32_len as f64
            );
            assert!(t >= min_text, "{name} {dtype:?}: text cosine {t}");
            assert!(i >= min_image, "{name} {dtype:?}: image cosine {i}");
            assert!(l <= max_logit, "{name} {dtype:?}: logit error {l}");
        }
    }
}

#[test]
fn packed_file_is_plain_safetensors_with_metadata() {
    let bytes = pack("tiny-p14", StorageDtype::Q4);
    let meta = format::read_meta(&bytes).unwrap();
    assert_eq!(meta.dtype, "q4");
    assert!(meta.config.contains("\"patch_size\": 14"));
    assert!(meta.tokenizer.contains("Unigram"));
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    // intermediate_size 80 is not a multiple of the 32-value block: 3 scales per row.
    let q = st.tensor("text_model.encoder.layers.0.mlp.fc1.weight.q4").unwrap();
    assert_eq!(q.shape(), [80, 16]);
    let s = st.tensor("text_model.encoder.layers.0.mlp.fc2.weight.q4_scales").unwrap();
    assert_eq!(s.shape(), [32, 3]);
    assert_eq!(s.dtype(), safetensors::Dtype::F16);
    // The sensitive pooling head stays f32.
    let head = st.tensor("vision_model.head.attention.in_proj_weight").unwrap();
    assert_eq!(head.dtype(), safetensors::Dtype::F32);
}

#[test]
fn hf_checkpoint_is_refused_as_packed_file() {
    let f = hf_files("tiny-224");
    let err = Siglip::from_packed(&f.weights).err().unwrap();
    assert!(err.to_string().contains("siglip quantize"), "{err}");
    // The same checkpoint packed loads, with the reference's logits (f32: within 1e-4).
    let (_, _, logit_err) = parity("tiny-224", &Siglip::from_packed(&pack("tiny-224", StorageDtype::F32)).unwrap());
    assert!(logit_err <= 1e-4, "logit error {logit_err}");
}

/// docs/format.md's storage rules, read back from packed files with the safetensors crate.
#[test]
fn packed_dtypes_are_as_documented() {
    use safetensors::{Dtype, SafeTensors};
    let cases = [
        ("vision_model.embeddings.patch_embedding.weight", Dtype::F16),
        ("vision_model.embeddings.position_embedding.weight", Dtype::F16),
        ("text_model.embeddings.position_embedding.weight", Dtype::F16),
        ("vision_model.encoder.layers.0.layer_norm1.weight", Dtype::F32),
        ("vision_model.encoder.layers.0.self_attn.q_proj.bias", Dtype::F32),
        ("vision_model.head.mlp.fc1.weight", Dtype::F32),
        ("logit_scale", Dtype::F32),
    ];
    for dtype in [StorageDtype::Q8, StorageDtype::Q4, StorageDtype::F16] {
        let bytes = pack("tiny-224", dtype);
        let st = SafeTensors::deserialize(&bytes).unwrap();
        for (name, want) in cases {
            assert_eq!(st.tensor(name).unwrap().dtype(), want, "{name} in a {dtype:?} file");
        }
        let q = "vision_model.encoder.layers.0.mlp.fc1.weight";
        match dtype {
            StorageDtype::Q8 => assert_eq!(st.tensor(&format!("{q}.q8")).unwrap().dtype(), Dtype::I8),
            StorageDtype::Q4 => assert_eq!(st.tensor(&format!("{q}.q4")).unwrap().dtype(), Dtype::U8),
            _ => assert_eq!(st.tensor(q).unwrap().dtype(), Dtype::F16),
        }
    }
}
