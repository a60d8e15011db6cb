//! SigLIP as Hugging Face `transformers`' `SiglipModel` computes it, on candle tensors.
//!
//! Every weight matrix goes through [`Linear`], whose storage may be dense f32 or a
//! block-quantized [`QuantMatrix`](crate::quant::QuantMatrix); a faster kernel (a tiled int8
//! GEMM, threads) slots in there without touching the towers. Tensor names are Hugging Face's.

mod layers;
mod ops;
mod text;
mod vision;

pub use layers::Linear;
pub use text::{TextSequence, TextTower};
pub use vision::VisionTower;

use candle_core::Tensor;

use crate::config::SiglipConfig;
use crate::error::{Error, Result};
use crate::weights::Weights;

/// The two towers and the learned logit scale and bias.
pub struct SiglipModel {
    pub config: SiglipConfig,
    pub text: TextTower,
    pub vision: VisionTower,
    /// `logit_scale` as stored (the model multiplies by its exponential).
    pub logit_scale: f32,
    pub logit_bias: f32,
}

impl SiglipModel {
    /// Builds the model from checkpoint tensors (Hugging Face names), checking every shape.
    pub fn load(config: SiglipConfig, weights: &Weights<'_>) -> Result<Self> {
        let text = TextTower::load(&config.text, weights, "text_model")?;
        let vision = VisionTower::load(&config.vision, weights, "vision_model")?;
        if text.output_dim() != vision.output_dim() {
            return Err(Error::Config(format!(
                "text embeddings are {} wide but image embeddings are {}",
                text.output_dim(),
                vision.output_dim()
            )));
        }
        let logit_scale = weights.scalar("logit_scale")?;
        let logit_bias = weights.scalar("logit_bias")?;
        Ok(SiglipModel { config, text, vision, logit_scale, logit_bias })
    }

    /// Width of the shared embedding space.
    pub fn embedding_dim(&self) -> usize {
        self.text.output_dim()
    }

    /// The logit for one (image, text) pair of **L2-normalized** embeddings:
    /// `exp(logit_scale) * cos + logit_bias`.
    pub fn logit(&self, image: &[f32], text: &[f32]) -> f32 {
        let cos: f32 = image.iter().zip(text).map(|(a, b)| a * b).sum();
        self.logit_scale.exp() * cos + self.logit_bias
    }

    /// Bytes held by the weights in memory.
    pub fn memory_bytes(&self) -> usize {
        self.text.memory_bytes() + self.vision.memory_bytes()
    }
}

/// Splits a `[n, dim]` tensor into L2-normalized rows.
pub fn normalized_rows(t: &Tensor) -> Result<Vec<Vec<f32>>> {
    let rows: Vec<Vec<f32>> = t.to_vec2::<f32>()?;
    Ok(rows.into_iter().map(l2_normalize).collect())
}

/// Divides a vector by its L2 norm (as `transformers` does: `x / x.norm(p=2, dim=-1)`).
pub fn l2_normalize(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}
