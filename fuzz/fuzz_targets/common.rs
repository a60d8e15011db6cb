//! Shared by the fuzz targets: input framing, and a short exercise of a loaded model.

#![allow(dead_code)]

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

/// The tiny fixture's tokenizer files, for targets that fuzz something else.
pub const SPIECE: &[u8] = include_bytes!("../../tests/fixtures/tiny-224/spiece.model");
pub const TOKENIZER_CONFIG: &[u8] = include_bytes!("../../tests/fixtures/tiny-224/tokenizer_config.json");
