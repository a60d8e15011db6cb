//! A `model.safetensors` converted while it streams (what the page does with a Hub checkpoint),
//! framed as `[chunking][dtype][weights]`, with fuzz/tiny/'s config and tokenizer; a result
//! that converts must also load.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siglip::pack_stream::PackStream;
use siglip::StorageDtype;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let [chunking, dtype, weights @ ..] = data else { return };
    let dtype = [StorageDtype::Q8, StorageDtype::Q4, StorageDtype::F16, StorageDtype::F32][usize::from(dtype % 4)];
    let Ok(mut stream) = PackStream::new(dtype, common::CONFIG, Some(common::PREPROCESSOR), common::tokenizer()) else {
        return;
    };
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
