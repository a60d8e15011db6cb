//! Image bytes through decoding (PNG, JPEG, GIF, WebP, EXIF orientation) and SigLIP's
//! preprocessing (bicubic and bilinear resize, normalization), and SigLIP 2 NaFlex's
//! (aspect-preserving resize within a patch budget, patches).
#![no_main]

use libfuzzer_sys::fuzz_target;
use siglip::config::{PreprocessConfig, Resample};
use siglip::preprocess;

fuzz_target!(|data: &[u8]| {
    if let Ok(image) = preprocess::decode(data) {
        for resample in [Resample::Bicubic, Resample::Bilinear] {
            let cfg = PreprocessConfig {
                size: 32,
                resample,
                rescale_factor: 1.0 / 255.0,
                mean: [0.5; 3],
                std: [0.5; 3],
                max_num_patches: Some(16),
            };
            let pixels = preprocess::pixel_values(&image, &cfg);
            assert_eq!(pixels.len(), 3 * 32 * 32);
            let patches = preprocess::naflex_patches(&image, &cfg, 8, 16);
            assert!(patches.rows * patches.cols <= 16 && patches.rows > 0 && patches.cols > 0);
            assert_eq!(patches.data.len(), patches.rows * patches.cols * 8 * 8 * 3);
        }
    }
});
