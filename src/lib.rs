//! SigLIP (Zhai et al. 2023) zero-shot image classification and image-text retrieval, as
//! Hugging Face `transformers` computes it, in Rust on candle: natively and in the browser.
//!
//! The core takes bytes and returns plain structs; it does no I/O. Only `wasm` (compiled for
//! `wasm32`) knows about JavaScript.
//!
//! ```no_run
//! # fn main() -> siglip::Result<()> {
//! let model = siglip::Siglip::from_packed(&std::fs::read("siglip-base-q8.safetensors").unwrap())?;
//! let mut classifier = siglip::Classifier::new(model);
//! let labels = vec!["a cat".to_string(), "a dog".to_string()];
//! for r in classifier.classify_bytes(&std::fs::read("photo.jpg").unwrap(), &labels)? {
//!     println!("{}: {:.4}", r.label, r.score);
//! }
//! # Ok(()) }
//! ```

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod base64;
pub mod classifier;
pub mod config;
pub mod error;
pub mod format;
pub mod index;
pub mod jpeg;
pub mod kernels;
pub mod model;
pub mod pack_stream;
pub mod preprocess;
pub mod profile;
pub mod quant;
pub mod siglip;
pub mod spm;
pub mod tokenizer;
pub mod weights;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use classifier::{Classifier, LabelScore, Ranked};
pub use config::SiglipConfig;
pub use error::{Error, Result};
pub use format::StorageDtype;
pub use siglip::{sigmoid, ModelInfo, Siglip, TextMasking};
