//! A packed model file (`siglip quantize` output): header, metadata, config, tokenizer,
//! tensors, and the model built from them.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = siglip::Siglip::from_packed(data) {
        common::exercise(&model);
    }
});
