//! Image bytes through decoding (PNG, JPEG, GIF, WebP, EXIF orientation) and SigLIP's
//! preprocessing (bicubic resize, normalization).
#![no_main]

use libfuzzer_sys::fuzz_target;
use siglip::config::PreprocessConfig;
use siglip::preprocess;

fuzz_target!(|data: &[u8]| {
    if let Ok(image) = preprocess::decode(data) {
        let cfg = PreprocessConfig { size: 32, rescale_factor: 1.0 / 255.0, mean: [0.5; 3], std: [0.5; 3] };
        let pixels = preprocess::pixel_values(&image, &cfg);
        assert_eq!(pixels.len(), 3 * 32 * 32);
    }
});
