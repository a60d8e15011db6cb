//! Shared by the fuzz targets: input framing, and a short exercise of a loaded model.

#![allow(dead_code)]

use siglip::tokenizer::TokenizerFiles;
use siglip::Siglip;

/// Splits `[u32 little-endian length][that many bytes][rest]` (fuzz/seeds.mjs writes seeds so).
pub fn split(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_le_bytes(data.get(..4)?.try_into().ok()?) as usize;
    let body = data.get(4..)?;
    (len <= body.len()).then(|| body.split_at(len))
}

/// A model that loaded must embed a text and an image without panicking.
pub fn exercise(model: &Siglip) {
    let _ = model.embed_texts(&["a photo of a cat".to_string(), String::new()]);
    let size = model.preprocess_config().size;
    let pixels = vec![0.25f32; 3 * size * size];
    let _ = model.embed_pixels(&pixels);
}

/// A tiny SigLIP's config (fuzz/tiny/, the config of fuzz/seeds.mjs's checkpoint "a").
pub const CONFIG: &str = include_str!("../tiny/config.json");
pub const PREPROCESSOR: &str = include_str!("../tiny/preprocessor_config.json");

/// Tokenizer files for targets that fuzz something else: a 43-piece Unigram `tokenizer.json`
/// (fuzz/tiny/, 1 KB; the fixtures' `spiece.model` is 250 KB, mostly its character map, and
/// was parsed on every input) and SigLIP's `tokenizer_config.json`.
pub const TOKENIZER_JSON: &[u8] = include_bytes!("../tiny/tokenizer.json");
pub const TOKENIZER_CONFIG: &[u8] = include_bytes!("../../tests/fixtures/tiny-224/tokenizer_config.json");

pub fn tokenizer() -> TokenizerFiles<'static> {
    TokenizerFiles {
        spiece_model: None,
        tokenizer_json: Some(TOKENIZER_JSON),
        tokenizer_config: Some(TOKENIZER_CONFIG),
    }
}
