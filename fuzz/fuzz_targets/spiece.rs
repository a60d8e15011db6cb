//! A SentencePiece model (`spiece.model`) plus a text through the tokenizer (framed as
//! `[len][spiece.model][text]`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use siglip::tokenizer::{SiglipTokenizer, TokenizerFiles};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((model, text)) = common::split(data) else { return };
    let text = String::from_utf8_lossy(text);
    let files = TokenizerFiles { spiece_model: Some(model), ..Default::default() };
    if let Ok(tokenizer) = SiglipTokenizer::from_files(files, 64) {
        if let Ok(encoded) = tokenizer.encode(&text) {
            assert_eq!(encoded.ids.len(), 64);
            assert!(encoded.len >= 1 && encoded.len <= 64);
        }
    }
});
