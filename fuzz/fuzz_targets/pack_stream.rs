//! A `model.safetensors` converted while it streams (what the page does with a Hub checkpoint),
//! framed as `[chunking][dtype][weights]`, with the tiny fixture's config and tokenizer; a
//! result that converts must also load.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siglip::pack_stream::PackStream;
use siglip::tokenizer::TokenizerFiles;
use siglip::StorageDtype;

#[path = "common.rs"]
mod common;

const CONFIG: &str = include_str!("../../tests/fixtures/tiny-224/config.json");
const PREPROCESSOR: &str = include_str!("../../tests/fixtures/tiny-224/preprocessor_config.json");

fuzz_target!(|data: &[u8]| {
    let [chunking, dtype, weights @ ..] = data else { return };
    let dtype = [StorageDtype::Q8, StorageDtype::Q4, StorageDtype::F16, StorageDtype::F32][usize::from(dtype % 4)];
    let tokenizer = TokenizerFiles {
        spiece_model: Some(common::SPIECE),
        tokenizer_json: None,
        tokenizer_config: Some(common::TOKENIZER_CONFIG),
    };
    let Ok(mut stream) = PackStream::new(dtype, CONFIG, Some(PREPROCESSOR), tokenizer) else { return };
    let chunk = usize::from(*chunking) * 37 + 1;
    for piece in weights.chunks(chunk) {
        if stream.push(piece).is_err() {
            return;
        }
    }
    if let Ok(packed) = stream.finish() {
        if let Ok(model) = siglip::Siglip::from_packed(&packed) {
            common::exercise(&model);
        }
    }
});
