//! The text tower (`SiglipTextTransformer`): token + position embeddings, encoder, final
//! layer norm, the hidden state at the **last** position, then a linear `head`.

use candle_core::Tensor;

use super::layers::{select_position, tensor_from, Encoder, EncoderShape, LayerNorm, Linear};
use crate::config::TextConfig;
use crate::error::{Error, Result};
use crate::kernels::ActPrecision;
use crate::weights::{Matrix, Weights};

/// 16-bit activations for text: few rows per call, so accuracy costs little speed, and 7 bits
/// moved text embeddings measurably (see `crate::kernels`).
const PRECISION: ActPrecision = ActPrecision::Int16;

/// One text as the tower consumes it: token ids, their positions, and how many leading
/// tokens are real (attendable) keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextSequence {
    pub ids: Vec<u32>,
    pub positions: Vec<usize>,
    pub keys: usize,
}

pub struct TextTower {
    token_embedding: Matrix,
    position_embedding: Tensor,
    encoder: Encoder,
    final_layer_norm: LayerNorm,
    head: Linear,
    vocab_size: usize,
    dim: usize,
    max_len: usize,
    out_dim: usize,
}

impl TextTower {
    pub fn load(c: &TextConfig, w: &Weights<'_>, prefix: &str) -> Result<Self> {
        let (h, m, l, n) = (c.hidden_size, c.intermediate_size, c.num_hidden_layers, c.num_attention_heads);
        let shape = EncoderShape::new(h, m, l, n, c.layer_norm_eps, c.hidden_act).with_precision(PRECISION);
        Ok(TextTower {
            token_embedding: w.matrix(
                &format!("{prefix}.embeddings.token_embedding.weight"),
                c.vocab_size,
                c.hidden_size,
            )?,
            position_embedding: w.dense(
                &format!("{prefix}.embeddings.position_embedding.weight"),
                &[c.max_position_embeddings, c.hidden_size],
            )?,
            encoder: Encoder::load(w, &format!("{prefix}.encoder"), shape)?,
            final_layer_norm: LayerNorm::load(
                w,
                &format!("{prefix}.final_layer_norm"),
                c.hidden_size,
                c.layer_norm_eps,
            )?,
            head: Linear::load(w, &format!("{prefix}.head"), c.hidden_size, c.projection_size, PRECISION)?,
            vocab_size: c.vocab_size,
            dim: c.hidden_size,
            max_len: c.max_position_embeddings,
            out_dim: c.projection_size,
        })
    }

    pub fn output_dim(&self) -> usize {
        self.out_dim
    }

    /// Sequence length the tower was trained with (ids must be padded to it).
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Unnormalized text embeddings `[batch, out_dim]`.
    ///
    /// All sequences of a batch have the same length. Each token comes with its position
    /// (`< max_len`), and only the first `keys` tokens of each sequence may be attended to
    /// (the rest are padding, masked as the reference masks them when it is given an
    /// attention mask). The embedding is the final state of the **last** token.
    pub fn forward(&self, batch: &[TextSequence]) -> Result<Tensor> {
        let b = batch.len();
        let t = batch.first().map_or(0, |s| s.ids.len());
        let bad = batch.iter().any(|s| {
            s.ids.len() != t
                || s.positions.len() != t
                || s.keys == 0
                || s.keys > t
                || s.positions.iter().any(|p| *p >= self.max_len)
        });
        if b == 0 || t == 0 || bad {
            return Err(Error::Input(format!(
                "text tower needs sequences of one length in 1..={}, with positions below {} and at least one key",
                self.max_len, self.max_len
            )));
        }
        let mut emb = vec![0f32; b * t * self.dim];
        let pos_table = self.position_embedding.to_vec2::<f32>()?;
        let tokens = batch.iter().flat_map(|s| s.ids.iter().zip(&s.positions));
        for (row, (id, pos)) in emb.chunks_exact_mut(self.dim).zip(tokens) {
            let id = *id as usize;
            if id >= self.vocab_size {
                return Err(Error::Input(format!("token id {id} is outside the vocabulary ({})", self.vocab_size)));
            }
            match &self.token_embedding {
                Matrix::Quant(q) => q.dequantize_row(id, row),
                Matrix::Dense(w) => row.copy_from_slice(&w.get(id)?.to_vec1::<f32>()?),
                Matrix::InPlace { values, cols, .. } => {
                    let src = values.values().get(id * cols..(id + 1) * cols);
                    row.copy_from_slice(src.ok_or_else(|| Error::Input(format!("token id {id} past the table")))?)
                }
            }
            for (r, p) in row.iter_mut().zip(&pos_table[*pos]) {
                *r += p;
            }
        }
        let x = tensor_from(emb, &[b, t, self.dim])?;
        let mask = if batch.iter().all(|s| s.keys == t) {
            None
        } else {
            let m: Vec<f32> = batch
                .iter()
                .flat_map(|s| (0..t).map(move |k| if k < s.keys { 0.0 } else { f32::NEG_INFINITY }))
                .collect();
            Some(tensor_from(m, &[b, 1, 1, t])?)
        };
        let x = self.encoder.forward(&x, mask.as_ref())?;
        let x = self.final_layer_norm.forward(&x)?;
        self.head.forward(&select_position(&x, t - 1)?)
    }

    pub fn memory_bytes(&self) -> usize {
        self.token_embedding.memory_bytes()
            + self.position_embedding.elem_count() * 4
            + self.encoder.memory_bytes()
            + self.head.memory_bytes()
    }
}
