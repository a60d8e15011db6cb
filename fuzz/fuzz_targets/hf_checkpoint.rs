//! A Hugging Face checkpoint: `config.json`, `preprocessor_config.json` and `model.safetensors`
//! (framed as `[len][config][len][preprocessor][weights]`), with a tiny tokenizer.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((config, rest)) = common::split(data) else { return };
    let Some((preprocessor, weights)) = common::split(rest) else { return };
    let (Ok(config), Ok(preprocessor)) = (std::str::from_utf8(config), std::str::from_utf8(preprocessor)) else {
        return;
    };
    let preprocessor = (!preprocessor.is_empty()).then_some(preprocessor);
    if let Ok(model) = siglip::Siglip::from_hf(config, preprocessor, common::tokenizer(), weights) {
        common::exercise(&model);
    }
});
