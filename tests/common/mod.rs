//! Shared helpers for the native tests: fixture paths, the reference outputs, model loading.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use siglip::Siglip;

/// SigLIP (patch 16 at 224, patch 14 at 112) and a fixed-resolution SigLIP 2 (Gemma
/// tokenizer, bilinear resize, 256 px).
pub const MODELS: [&str; 3] = ["tiny-224", "tiny-p14", "tiny-siglip2-256"];

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn model_dir(name: &str) -> PathBuf {
    fixtures().join(name)
}

pub fn reference(name: &str) -> Value {
    let text = std::fs::read_to_string(model_dir(name).join("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub struct HfFiles {
    pub config: String,
    pub preprocessor: Option<String>,
    /// SigLIP only; SigLIP 2 has a Gemma tokenizer.json alone.
    pub spiece_model: Option<Vec<u8>>,
    pub tokenizer_json: String,
    pub tokenizer_config: String,
    pub weights: Vec<u8>,
}

impl HfFiles {
    /// All the tokenizer files the checkpoint has.
    pub fn tokenizer(&self) -> siglip::tokenizer::TokenizerFiles<'_> {
        siglip::tokenizer::TokenizerFiles {
            spiece_model: self.spiece_model.as_deref(),
            tokenizer_json: Some(self.tokenizer_json.as_bytes()),
            tokenizer_config: Some(self.tokenizer_config.as_bytes()),
        }
    }
}

pub fn hf_files(name: &str) -> HfFiles {
    let dir = model_dir(name);
    HfFiles {
        config: std::fs::read_to_string(dir.join("config.json")).unwrap(),
        preprocessor: std::fs::read_to_string(dir.join("preprocessor_config.json")).ok(),
        spiece_model: std::fs::read(dir.join("spiece.model")).ok(),
        tokenizer_json: std::fs::read_to_string(dir.join("tokenizer.json")).unwrap(),
        tokenizer_config: std::fs::read_to_string(dir.join("tokenizer_config.json")).unwrap(),
        weights: std::fs::read(dir.join("model.safetensors")).unwrap(),
    }
}

pub fn load_hf(name: &str) -> Siglip {
    let f = hf_files(name);
    Siglip::from_hf(&f.config, f.preprocessor.as_deref(), f.tokenizer(), &f.weights).unwrap()
}

pub fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

pub fn matrix(v: &Value) -> Vec<Vec<f32>> {
    v.as_array().unwrap().iter().map(floats).collect()
}

pub fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

/// The reference's resized image (lossless PNG of the exact pixels it fed the model).
pub fn reference_resized(name: &str, image: &Value) -> siglip::preprocess::Rgb8 {
    let path = model_dir(name).join(image["resized_png"].as_str().unwrap());
    siglip::preprocess::decode(&std::fs::read(path).unwrap()).unwrap()
}

pub fn is_jpeg(file: &str) -> bool {
    file.ends_with(".jpg") || file.ends_with(".jpeg")
}

/// The reference keys of the text embeddings and logits the zero-shot pipeline uses for this
/// checkpoint: masked padding (SigLIP) or not (SigLIP 2, whose tokenizer returns no mask).
pub fn pipeline_keys(r: &Value) -> (&'static str, &'static str) {
    match r["pipeline_text_masking"].as_str() {
        Some("none") => ("text_embeds_unmasked", "logits_unmasked"),
        _ => ("text_embeds", "logits"),
    }
}
