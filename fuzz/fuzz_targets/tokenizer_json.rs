//! A `tokenizer.json`, loaded and used on a few texts: as SigLIP's, and as the Gemma one of a
//! SigLIP 2 checkpoint (GemmaTokenizer, and Siglip2Tokenizer for NaFlex), which rebuilds it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siglip::tokenizer::{SiglipTokenizer, TokenizerFiles};

const GEMMA_CONFIG: &[u8] = include_bytes!("../../tests/fixtures/tiny-siglip2-256/tokenizer_config.json");

fuzz_target!(|data: &[u8]| {
    let files = TokenizerFiles { tokenizer_json: Some(data), tokenizer_config: Some(GEMMA_CONFIG), ..Default::default() };
    let loaded = [
        SiglipTokenizer::from_json(data, 64),
        SiglipTokenizer::from_files(files, 64),
        SiglipTokenizer::for_model(files, 64, "siglip2"),
    ];
    for tokenizer in loaded.into_iter().flatten() {
        for text in ["This is a photo of a cat.", "", "ｶﾞ </s> <unk> <eos> <pad> 日本 🐱 \u{200b}"] {
            if let Ok(encoded) = tokenizer.encode(text) {
                assert_eq!(encoded.ids.len(), 64);
                assert!(encoded.start + encoded.len <= 64);
            }
        }
    }
});
