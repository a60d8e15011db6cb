//! A `tokenizer.json`, loaded and used on a few texts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siglip::tokenizer::SiglipTokenizer;

fuzz_target!(|data: &[u8]| {
    if let Ok(tokenizer) = SiglipTokenizer::from_json(data, 64) {
        for text in ["This is a photo of a cat.", "", "ｶﾞ </s> <unk> 日本 🐱 \u{200b}"] {
            if let Ok(encoded) = tokenizer.encode(text) {
                assert_eq!(encoded.ids.len(), 64);
            }
        }
    }
});
