//! The vision tower (`SiglipVisionTransformer`): patch embedding (a strided convolution, done
//! here as one matrix product over unfolded patches), position embeddings, encoder, post layer
//! norm and the multi-head attention pooling head (`SiglipMultiheadAttentionPoolingHead`).
//!
//! SigLIP 2 NaFlex (`Siglip2VisionTransformer`) differs only before the encoder: its patches
//! come flattened in (row, column, channel) order and go through a linear layer, and its
//! square position table is resized to each image's grid ([`resize_positions`]). Its image
//! processor pads every image to `max_num_patches` and masks the padding in attention and in
//! the head; computing an image's real patches alone gives the same result, so that is what
//! [`VisionTower::forward_patches`] does.

use candle_core::Tensor;

use super::layers::{attention, select_position, tensor_from, Encoder, EncoderShape, LayerNorm, Linear, Mlp};
use crate::config::VisionConfig;
use crate::error::{Error, Result};
use crate::kernels::ActPrecision;
use crate::weights::Weights;

/// 7-bit activations for the image path: the fast kernels, and image embeddings stay within
/// 0.99999 cosine of f32 on the test checkpoints (see `crate::kernels`).
const PRECISION: ActPrecision = ActPrecision::Int7;

/// The attention-pooling head: a learned probe attends over all patch states.
struct PoolingHead {
    probe: Tensor,
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    layer_norm: LayerNorm,
    mlp: Mlp,
    heads: usize,
}

impl PoolingHead {
    fn load(c: &VisionConfig, w: &Weights<'_>, prefix: &str) -> Result<Self> {
        let d = c.hidden_size;
        // torch.nn.MultiheadAttention keeps q, k and v projections stacked in one tensor.
        let in_proj = w.matrix(&format!("{prefix}.attention.in_proj_weight"), 3 * d, d)?;
        let in_bias = w.dense(&format!("{prefix}.attention.in_proj_bias"), &[3 * d])?;
        let part = |i: usize| -> Result<Linear> {
            Ok(Linear::from_parts(in_proj.row_range(i * d, d)?, Some(in_bias.narrow(0, i * d, d)?.contiguous()?), d))
        };
        Ok(PoolingHead {
            probe: w.dense(&format!("{prefix}.probe"), &[1, 1, d])?,
            q: part(0)?,
            k: part(1)?,
            v: part(2)?,
            out: Linear::load(w, &format!("{prefix}.attention.out_proj"), d, d, PRECISION)?,
            layer_norm: LayerNorm::load(w, &format!("{prefix}.layernorm"), d, c.layer_norm_eps)?,
            mlp: Mlp::load(w, &format!("{prefix}.mlp"), d, c.intermediate_size, c.hidden_act, PRECISION)?,
            heads: c.num_attention_heads,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let b = x.dims()[0];
        let probe = self.probe.repeat((b, 1, 1))?;
        let ctx = attention(&self.q.forward(&probe)?, &self.k.forward(x)?, &self.v.forward(x)?, self.heads, None)?;
        let h = self.out.forward(&ctx)?;
        let h = (&h + self.mlp.forward(&self.layer_norm.forward(&h)?)?)?;
        select_position(&h, 0)
    }

    fn memory_bytes(&self) -> usize {
        self.q.memory_bytes() * 3 + self.out.memory_bytes() + self.mlp.memory_bytes()
    }
}

pub struct VisionTower {
    patch_embedding: Linear,
    position_embedding: Tensor,
    encoder: Encoder,
    post_layernorm: LayerNorm,
    head: PoolingHead,
    channels: usize,
    image_size: usize,
    patch: usize,
    dim: usize,
    /// NaFlex: patches come pre-cut ([`VisionTower::forward_patches`]).
    naflex: bool,
}

impl VisionTower {
    pub fn load(c: &VisionConfig, w: &Weights<'_>, prefix: &str) -> Result<Self> {
        let grid = c.image_size / c.patch_size;
        let (h, m, l, n) = (c.hidden_size, c.intermediate_size, c.num_hidden_layers, c.num_attention_heads);
        let shape = EncoderShape::new(h, m, l, n, c.layer_norm_eps, c.hidden_act).with_precision(PRECISION);
        let p = format!("{prefix}.embeddings");
        Ok(VisionTower {
            patch_embedding: Linear::load(
                w,
                &format!("{p}.patch_embedding"),
                c.num_channels * c.patch_size * c.patch_size,
                c.hidden_size,
                PRECISION,
            )?,
            position_embedding: w.dense(&format!("{p}.position_embedding.weight"), &[grid * grid, c.hidden_size])?,
            encoder: Encoder::load(w, &format!("{prefix}.encoder"), shape)?,
            post_layernorm: LayerNorm::load(w, &format!("{prefix}.post_layernorm"), c.hidden_size, c.layer_norm_eps)?,
            head: PoolingHead::load(c, w, &format!("{prefix}.head"))?,
            channels: c.num_channels,
            image_size: c.image_size,
            patch: c.patch_size,
            dim: c.hidden_size,
            naflex: c.num_patches.is_some(),
        })
    }

    pub fn output_dim(&self) -> usize {
        self.dim
    }

    /// Unnormalized image embeddings `[batch, dim]` from pixel values laid out
    /// `[batch, channels, image_size, image_size]` (row-major, already normalized).
    pub fn forward(&self, pixels: &[f32], batch: usize) -> Result<Tensor> {
        if self.naflex {
            return Err(Error::Input("a NaFlex model takes images as patches (forward_patches)".into()));
        }
        let (c, s, p) = (self.channels, self.image_size, self.patch);
        if batch == 0 || pixels.len() != batch * c * s * s {
            return Err(Error::Input(format!(
                "vision tower needs {batch} x {c} x {s} x {s} pixel values, got {}",
                pixels.len()
            )));
        }
        let grid = s / p;
        let patch_len = c * p * p;
        // Unfold into [batch * grid * grid, c * p * p], each patch in the conv kernel's
        // (channel, row, column) order, patches in row-major grid order.
        let mut patches = vec![0f32; batch * grid * grid * patch_len];
        for (i, dst) in patches.chunks_exact_mut(patch_len).enumerate() {
            let (img, cell) = (i / (grid * grid), i % (grid * grid));
            let (gy, gx) = (cell / grid, cell % grid);
            for ch in 0..c {
                for ky in 0..p {
                    let src = ((img * c + ch) * s + gy * p + ky) * s + gx * p;
                    let o = (ch * p + ky) * p;
                    dst[o..o + p].copy_from_slice(&pixels[src..src + p]);
                }
            }
        }
        let x = tensor_from(patches, &[batch, grid * grid, patch_len])?;
        let x = self.patch_embedding.forward(&x)?;
        let x = x.broadcast_add(&self.position_embedding.unsqueeze(0)?)?;
        let x = self.encoder.forward(&x, None)?;
        let x = self.post_layernorm.forward(&x)?;
        self.head.forward(&x)
    }

    /// NaFlex: the unnormalized embedding `[1, dim]` of one image cut into `rows x cols`
    /// patches (`crate::preprocess::naflex_patches` layout).
    pub fn forward_patches(&self, patches: &[f32], rows: usize, cols: usize) -> Result<Tensor> {
        let patch_len = self.channels * self.patch * self.patch;
        let n = rows * cols;
        if !self.naflex || n == 0 || patches.len() != n * patch_len {
            return Err(Error::Input(format!(
                "a NaFlex vision tower needs {rows} x {cols} patches of {patch_len} values, got {} values{}",
                patches.len(),
                if self.naflex { "" } else { " (and this model is not NaFlex)" }
            )));
        }
        let x = tensor_from(patches.to_vec(), &[1, n, patch_len])?;
        let x = self.patch_embedding.forward(&x)?;
        let grid = self.image_size / self.patch;
        let table = self.position_embedding.flatten_all()?.to_vec1::<f32>()?;
        let positions = resize_positions(&table, grid, self.dim, rows, cols);
        let x = x.broadcast_add(&tensor_from(positions, &[1, n, self.dim])?)?;
        let x = self.encoder.forward(&x, None)?;
        let x = self.post_layernorm.forward(&x)?;
        self.head.forward(&x)
    }

    /// Side of the square input image in pixels.
    pub fn image_size(&self) -> usize {
        self.image_size
    }

    pub fn memory_bytes(&self) -> usize {
        self.patch_embedding.memory_bytes()
            + self.position_embedding.elem_count() * 4
            + self.encoder.memory_bytes()
            + self.head.memory_bytes()
    }
}

/// One axis of `F.interpolate(mode="bilinear", align_corners=False, antialias=True)` from
/// `grid` to `out` samples, as `Siglip2VisionEmbeddings.resize_positional_embeddings` computes
/// it in f32: per output index, the normalized triangle weights over the grid (widened by the
/// scale when shrinking).
fn axis_weights(grid: usize, out: usize) -> Vec<Vec<f32>> {
    let scale = grid as f32 / out as f32;
    let support = scale.max(1.0);
    (0..out)
        .map(|i| {
            let center = (i as f32 + 0.5) * scale - 0.5;
            let w: Vec<f32> = (0..grid).map(|j| (1.0 - (j as f32 - center).abs() / support).max(0.0)).collect();
            let sum: f32 = w.iter().sum();
            w.into_iter().map(|v| v / sum).collect()
        })
        .collect()
}

/// The `grid x grid` position table (`[grid * grid, dim]`, row-major) resized to
/// `rows x cols` positions (`[rows * cols, dim]`), each the grid weighted by the outer product
/// of its row's and its column's weights.
pub fn resize_positions(table: &[f32], grid: usize, dim: usize, rows: usize, cols: usize) -> Vec<f32> {
    let (wr, wc) = (axis_weights(grid, rows), axis_weights(grid, cols));
    let mut out = vec![0f32; rows * cols * dim];
    for (r, row_w) in wr.iter().enumerate() {
        for (c, col_w) in wc.iter().enumerate() {
            let dst = &mut out[(r * cols + c) * dim..(r * cols + c + 1) * dim];
            for (j, &a) in row_w.iter().enumerate().filter(|(_, a)| **a != 0.0) {
                for (k, &b) in col_w.iter().enumerate().filter(|(_, b)| **b != 0.0) {
                    let w = a * b;
                    let src = &table[(j * grid + k) * dim..(j * grid + k + 1) * dim];
                    dst.iter_mut().zip(src).for_each(|(d, s)| *d += w * s);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_at_the_trained_grid_are_the_table() {
        let (g, d) = (4, 3);
        let table: Vec<f32> = (0..g * g * d).map(|i| i as f32 * 0.25 - 3.0).collect();
        assert_eq!(resize_positions(&table, g, d, g, g), table);
    }

    #[test]
    fn resized_positions_match_hand_computed_weights() {
        // 2 -> 1 along rows: both grid rows weigh 1/2 (support 2 widens the triangle); 2 -> 4
        // along columns: centers -0.25, 0.25, 0.75, 1.25, clamped to the grid, weights
        // (1, 0), (0.75, 0.25), (0.25, 0.75), (0, 1).
        let table = [1.0, 2.0, 3.0, 4.0]; // dim 1: [[1, 2], [3, 4]]
        let got = resize_positions(&table, 2, 1, 1, 4);
        let rows = [2.0, 3.0]; // the column averages of the two rows: (1+3)/2, (2+4)/2
        let want = [rows[0], 0.75 * rows[0] + 0.25 * rows[1], 0.25 * rows[0] + 0.75 * rows[1], rows[1]];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    }
}
