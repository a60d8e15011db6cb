//! The building blocks shared by both towers: linear layers over any weight storage,
//! layer norm, activations, attention, the MLP and the pre-norm encoder.

use candle_core::{Device, Tensor};
use rayon::prelude::*;

use super::ops;
use crate::config::Activation;
use crate::error::{Error, Result};
use crate::kernels::{self, f32 as f32mm, ActPrecision};
use crate::profile;
use crate::quant::QuantKind;
use crate::weights::{Matrix, Weights};

/// A fully connected layer `y = x W^T + b` with `W` stored dense or quantized.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Matrix,
    bias: Option<Tensor>,
    in_dim: usize,
    out_dim: usize,
    /// How the input is quantized when the weights are q8.
    precision: ActPrecision,
}

impl Linear {
    /// Loads `{prefix}.weight` (`[out, in]`) and `{prefix}.bias` (`[out]`); `precision` says
    /// how inputs are quantized if the weights are q8.
    pub fn load(w: &Weights<'_>, prefix: &str, in_dim: usize, out_dim: usize, precision: ActPrecision) -> Result<Self> {
        let weight = w.matrix(&format!("{prefix}.weight"), out_dim, in_dim)?;
        let bias = Some(w.dense(&format!("{prefix}.bias"), &[out_dim])?);
        Ok(Linear { weight, bias, in_dim, out_dim, precision })
    }

    /// A layer from parts already loaded (the parts of a stacked q/k/v projection; f32 or
    /// expanded, so `precision` does not apply).
    pub fn from_parts(weight: Matrix, bias: Option<Tensor>, in_dim: usize) -> Self {
        let out_dim = weight.rows();
        Linear { weight, bias, in_dim, out_dim, precision: ActPrecision::default() }
    }

    /// Applies the layer to the last dimension of `x`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let k = *dims.last().ok_or_else(|| Error::Input("linear layer on a scalar".into()))?;
        if k != self.in_dim {
            return Err(Error::Input(format!("linear layer expects width {}, got {k}", self.in_dim)));
        }
        let m = x.elem_count() / k.max(1);
        let x2 = x.reshape((m, k))?;
        let y = match &self.weight {
            Matrix::Dense(w) => profile::scope("linear f32", || add_bias(x2.matmul(&w.t()?)?, self.bias.as_ref()))?,
            Matrix::InPlace { values, rows, cols } => profile::scope("linear f32 (in place)", || {
                let bias = self.bias.as_ref().map(Tensor::to_vec1::<f32>).transpose()?;
                let x = x2.flatten_all()?.to_vec1::<f32>()?;
                let y = f32mm::linear(&x, m, values.values(), *rows, *cols, bias.as_deref())
                    .ok_or_else(|| Error::Input(format!("f32 layer [{rows}, {cols}] on {m} x {k} values")))?;
                Ok::<_, Error>(Tensor::from_vec(y, (m, *rows), &Device::Cpu)?)
            })?,
            // q8: int8 products straight from the stored blocks (see `crate::kernels`).
            Matrix::Quant(q) if q.kind == QuantKind::Q8 => {
                let bias = self.bias.as_ref().map(Tensor::to_vec1::<f32>).transpose()?;
                let x = x2.flatten_all()?.to_vec1::<f32>()?;
                let name = match self.precision {
                    ActPrecision::Int7 => "linear q8 (int7 activations)",
                    ActPrecision::Int16 => "linear q8 (int16 activations)",
                };
                let y = profile::scope(name, || kernels::q8_matmul(&x, m, q, bias.as_deref(), self.precision))?;
                Tensor::from_vec(y, (m, self.out_dim), &Device::Cpu)?
            }
            // q4 and f16: expanded to f32 for this one product; one layer at a time.
            Matrix::Quant(q) => profile::scope("linear q4/f16 (expanded)", || {
                let w = Tensor::from_vec(q.dequantize(), (q.rows, q.cols), &Device::Cpu)?;
                add_bias(x2.matmul(&w.t()?)?, self.bias.as_ref())
            })?,
        };
        let mut out_dims = dims;
        if let Some(last) = out_dims.last_mut() {
            *last = self.out_dim;
        }
        Ok(y.reshape(out_dims)?)
    }

    pub fn memory_bytes(&self) -> usize {
        self.weight.memory_bytes() + self.bias.as_ref().map_or(0, |b| b.elem_count() * 4)
    }
}

fn add_bias(y: Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    Ok(match bias {
        Some(b) => y.broadcast_add(b)?,
        None => y,
    })
}

/// Layer normalization over the last dimension.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl LayerNorm {
    pub fn load(w: &Weights<'_>, prefix: &str, dim: usize, eps: f64) -> Result<Self> {
        Ok(LayerNorm {
            weight: w.dense(&format!("{prefix}.weight"), &[dim])?,
            bias: w.dense(&format!("{prefix}.bias"), &[dim])?,
            eps: eps as f32,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        profile::scope("layer norm", || {
            Ok(candle_nn::ops::layer_norm(&x.contiguous()?, &self.weight, &self.bias, self.eps)?)
        })
    }
}

/// The activation's computation (the kind is the config's, [`Activation`]).
impl Activation {
    pub fn forward(self, x: &Tensor) -> Result<Tensor> {
        profile::scope("activation", || self.apply(x))
    }

    fn apply(self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Activation::GeluTanh => map_values(x, |v| v.par_chunks_mut(1 << 14).for_each(ops::gelu_tanh))?,
            Activation::GeluErf => x.gelu_erf()?,
            Activation::QuickGelu => (x * candle_nn::ops::sigmoid(&(x * 1.702)?)?)?,
            Activation::Relu => x.relu()?,
        })
    }
}

/// Applies `f` to the values of `x` (copied out, changed in place, put back with its shape).
fn map_values(x: &Tensor, f: impl FnOnce(&mut [f32])) -> Result<Tensor> {
    let mut v = x.flatten_all()?.to_vec1::<f32>()?;
    f(&mut v);
    Ok(Tensor::from_vec(v, x.dims(), &Device::Cpu)?)
}

/// Multi-head scaled dot-product attention over already-projected q, k, v.
/// `q`: `[b, tq, d]`, `k`, `v`: `[b, tk, d]`; returns `[b, tq, d]`. `key_mask`, if given, is
/// added to the scores: `[b, 1, 1, tk]` with 0 for keys to attend to and -inf for the others.
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, heads: usize, key_mask: Option<&Tensor>) -> Result<Tensor> {
    profile::scope("attention (scores, softmax, context)", || attention_inner(q, k, v, heads, key_mask))
}

fn attention_inner(q: &Tensor, k: &Tensor, v: &Tensor, heads: usize, key_mask: Option<&Tensor>) -> Result<Tensor> {
    let (b, tq, d) = q.dims3()?;
    let tk = k.dims()[1];
    if heads == 0 || d % heads != 0 || k.dims() != [b, tk, d] || v.dims() != [b, tk, d] {
        return Err(Error::Input(format!(
            "attention: q {:?}, k {:?}, v {:?} with {heads} heads",
            q.dims(),
            k.dims(),
            v.dims()
        )));
    }
    let hd = d / heads;
    let flat = |t: &Tensor| -> Result<Vec<f32>> { Ok(t.flatten_all()?.to_vec1::<f32>()?) };
    let (qv, kv, vv) = (flat(q)?, flat(k)?, flat(v)?);
    let mask = key_mask.map(flat).transpose()?;
    if mask.as_ref().is_some_and(|m| m.len() != b * tk) {
        return Err(Error::Input(format!("attention: key mask {:?} for {b} x {tk} keys", key_mask.map(Tensor::dims))));
    }
    let scale = (hd as f64).powf(-0.5) as f32;
    // Each (sequence, head) on its own, in parallel where there are threads; heads are read in
    // place from the [tokens, d] projections and their contexts written back side by side.
    let contexts: Vec<Result<Vec<f32>>> = (0..b * heads)
        .into_par_iter()
        .map(|job| {
            let (s, h) = (job / heads, job % heads);
            // Sequence `s` of `t` tokens from head `h`'s first value on (rows stay `d` apart).
            let rows = |t: usize| s * t * d + h * hd..(s + 1) * t * d;
            let parts = (qv.get(rows(tq)), kv.get(rows(tk)), vv.get(rows(tk)));
            let (Some(q), Some(k), Some(v)) = parts else {
                return Ok(vec![0.0; tq * hd]); // a sequence without tokens (t = 0)
            };
            let mask = mask.as_ref().and_then(|m| m.get(s * tk..(s + 1) * tk));
            head_attention(q, k, v, (tq, tk, hd, d), scale, mask)
        })
        .collect();
    let mut out = vec![0f32; b * tq * d];
    for (job, ctx) in contexts.into_iter().enumerate() {
        let (s, h) = (job / heads, job % heads);
        for (i, row) in ctx?.chunks_exact(hd).enumerate() {
            let at = (s * tq + i) * d + h * hd;
            out[at..at + hd].copy_from_slice(row);
        }
    }
    Ok(Tensor::from_vec(out, (b, tq, d), &Device::Cpu)?)
}

/// One head: `softmax(q kᵀ * scale + mask) v` as `[tq, hd]`, where `q`, `k`, `v` are the head's
/// rows (`hd` values each, rows `d` apart) and `mask` is added to every row of scores.
fn head_attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    (tq, tk, hd, d): (usize, usize, usize, usize),
    scale: f32,
    mask: Option<&[f32]>,
) -> Result<Vec<f32>> {
    let shape_error = || Error::Input(format!("attention head: {tq} x {tk} tokens of {hd} in rows of {d}"));
    // kᵀ as [hd, tk], so that both products run down contiguous rows of their right operand.
    let mut kt = vec![0f32; hd * tk];
    for j in 0..tk {
        let row = k.get(j * d..j * d + hd).ok_or_else(shape_error)?;
        for (c, x) in row.iter().enumerate() {
            kt[c * tk + j] = *x;
        }
    }
    let mut scores = vec![0f32; tq * tk];
    let qv = f32mm::View { data: q, rows: tq, cols: hd, stride: d };
    f32mm::matmul(qv, f32mm::View { data: &kt, rows: hd, cols: tk, stride: tk }, &mut scores, tk)
        .ok_or_else(shape_error)?;
    for row in scores.chunks_exact_mut(tk) {
        row.iter_mut().for_each(|s| *s *= scale);
        if let Some(mask) = mask {
            row.iter_mut().zip(mask).for_each(|(s, m)| *s += m);
        }
    }
    ops::softmax_rows(&mut scores, tk);
    let mut ctx = vec![0f32; tq * hd];
    let pv = f32mm::View { data: &scores, rows: tq, cols: tk, stride: tk };
    f32mm::matmul(pv, f32mm::View { data: v, rows: tk, cols: hd, stride: d }, &mut ctx, hd).ok_or_else(shape_error)?;
    Ok(ctx)
}

/// Self-attention with separate q, k, v and output projections (`SiglipAttention`).
#[derive(Debug, Clone)]
pub struct SelfAttention {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    heads: usize,
}

impl SelfAttention {
    pub fn load(w: &Weights<'_>, prefix: &str, dim: usize, heads: usize, p: ActPrecision) -> Result<Self> {
        Ok(SelfAttention {
            q: Linear::load(w, &format!("{prefix}.q_proj"), dim, dim, p)?,
            k: Linear::load(w, &format!("{prefix}.k_proj"), dim, dim, p)?,
            v: Linear::load(w, &format!("{prefix}.v_proj"), dim, dim, p)?,
            out: Linear::load(w, &format!("{prefix}.out_proj"), dim, dim, p)?,
            heads,
        })
    }

    pub fn forward(&self, x: &Tensor, key_mask: Option<&Tensor>) -> Result<Tensor> {
        let ctx = attention(&self.q.forward(x)?, &self.k.forward(x)?, &self.v.forward(x)?, self.heads, key_mask)?;
        self.out.forward(&ctx)
    }

    fn memory_bytes(&self) -> usize {
        self.q.memory_bytes() + self.k.memory_bytes() + self.v.memory_bytes() + self.out.memory_bytes()
    }
}

/// `fc2(act(fc1(x)))` (`SiglipMLP`).
#[derive(Debug, Clone)]
pub struct Mlp {
    fc1: Linear,
    fc2: Linear,
    act: Activation,
}

impl Mlp {
    pub fn load(
        w: &Weights<'_>,
        prefix: &str,
        dim: usize,
        hidden: usize,
        act: Activation,
        p: ActPrecision,
    ) -> Result<Self> {
        Ok(Mlp {
            fc1: Linear::load(w, &format!("{prefix}.fc1"), dim, hidden, p)?,
            fc2: Linear::load(w, &format!("{prefix}.fc2"), hidden, dim, p)?,
            act,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.fc2.forward(&self.act.forward(&self.fc1.forward(x)?)?)
    }

    pub fn memory_bytes(&self) -> usize {
        self.fc1.memory_bytes() + self.fc2.memory_bytes()
    }
}

/// The shape of one transformer encoder, shared by both towers' configs.
#[derive(Debug, Clone, Copy)]
pub struct EncoderShape {
    pub dim: usize,
    pub mlp_dim: usize,
    pub layers: usize,
    pub heads: usize,
    pub eps: f64,
    pub act: Activation,
    /// How q8 layers quantize their inputs.
    pub precision: ActPrecision,
}

impl EncoderShape {
    pub fn new(dim: usize, mlp_dim: usize, layers: usize, heads: usize, eps: f64, act: Activation) -> Self {
        EncoderShape { dim, mlp_dim, layers, heads, eps, act, precision: ActPrecision::default() }
    }

    pub fn with_precision(self, precision: ActPrecision) -> Self {
        EncoderShape { precision, ..self }
    }
}

/// Pre-norm transformer layers (`SiglipEncoder`).
#[derive(Debug, Clone)]
pub struct Encoder {
    layers: Vec<(LayerNorm, SelfAttention, LayerNorm, Mlp)>,
}

impl Encoder {
    /// Loads `{prefix}.layers.{i}.*` for every layer.
    pub fn load(w: &Weights<'_>, prefix: &str, s: EncoderShape) -> Result<Self> {
        let layers = (0..s.layers)
            .map(|i| {
                let p = format!("{prefix}.layers.{i}");
                Ok((
                    LayerNorm::load(w, &format!("{p}.layer_norm1"), s.dim, s.eps)?,
                    SelfAttention::load(w, &format!("{p}.self_attn"), s.dim, s.heads, s.precision)?,
                    LayerNorm::load(w, &format!("{p}.layer_norm2"), s.dim, s.eps)?,
                    Mlp::load(w, &format!("{p}.mlp"), s.dim, s.mlp_dim, s.act, s.precision)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Encoder { layers })
    }

    /// Runs every layer; `key_mask` as in [`attention`].
    pub fn forward(&self, x: &Tensor, key_mask: Option<&Tensor>) -> Result<Tensor> {
        let mut x = x.clone();
        for (ln1, attn, ln2, mlp) in &self.layers {
            x = (&x + attn.forward(&ln1.forward(&x)?, key_mask)?)?;
            x = (&x + mlp.forward(&ln2.forward(&x)?)?)?;
        }
        Ok(x)
    }

    pub fn memory_bytes(&self) -> usize {
        self.layers.iter().map(|(_, a, _, m)| a.memory_bytes() + m.memory_bytes()).sum()
    }
}

/// A dense f32 tensor from plain values, on the CPU.
pub fn tensor_from(values: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
    Ok(Tensor::from_vec(values, shape, &Device::Cpu)?)
}

/// Picks row `i` of dimension 1 of a `[b, t, d]` tensor: `[b, d]`.
pub fn select_position(x: &Tensor, i: usize) -> Result<Tensor> {
    Ok(x.narrow(1, i, 1)?.squeeze(1)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values in [-2, 2).
    fn values(n: usize, seed: u32) -> Vec<f32> {
        crate::kernels::bench::pseudo_random(n, seed).into_iter().map(|v| v * 4.0).collect()
    }

    /// `softmax(q kᵀ / sqrt(hd) + mask) v` per sequence and head, in f64, straight from the
    /// definition.
    fn naive(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        (b, tq, tk, d, heads): (usize, usize, usize, usize, usize),
        keys: &[usize],
    ) -> Vec<f64> {
        let hd = d / heads;
        let mut out = vec![0f64; b * tq * d];
        for s in 0..b {
            for h in 0..heads {
                for i in 0..tq {
                    let scores: Vec<f64> = (0..tk)
                        .map(|j| {
                            let dot: f64 = (0..hd)
                                .map(|c| {
                                    q[(s * tq + i) * d + h * hd + c] as f64 * k[(s * tk + j) * d + h * hd + c] as f64
                                })
                                .sum();
                            if j < keys[s] {
                                dot / (hd as f64).sqrt()
                            } else {
                                f64::NEG_INFINITY
                            }
                        })
                        .collect();
                    let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = scores.iter().map(|x| (x - max).exp()).collect();
                    let sum: f64 = e.iter().sum();
                    for c in 0..hd {
                        out[(s * tq + i) * d + h * hd + c] =
                            (0..tk).map(|j| e[j] / sum * v[(s * tk + j) * d + h * hd + c] as f64).sum();
                    }
                }
            }
        }
        out
    }

    #[test]
    fn attention_matches_the_definition_with_and_without_a_key_mask() {
        // Two sequences, 5 heads of 12, uneven token counts (edge tiles in both products).
        let (b, tq, tk, d, heads) = (2, 7, 13, 60, 5);
        let (q, k, v) = (values(b * tq * d, 1), values(b * tk * d, 2), values(b * tk * d, 3));
        let t = |x: &[f32], n: usize| Tensor::from_vec(x.to_vec(), (b, n, d), &Device::Cpu).expect("tensor");
        for keys in [[tk, tk], [13, 4]] {
            let mask: Vec<f32> =
                keys.iter().flat_map(|&n| (0..tk).map(move |j| if j < n { 0.0 } else { f32::NEG_INFINITY })).collect();
            let mask = Tensor::from_vec(mask, (b, 1, 1, tk), &Device::Cpu).expect("mask");
            let got = attention(&t(&q, tq), &t(&k, tk), &t(&v, tk), heads, Some(&mask)).expect("attention");
            let got = got.flatten_all().and_then(|x| x.to_vec1::<f32>()).expect("values");
            let want = naive(&q, &k, &v, (b, tq, tk, d, heads), &keys);
            // Written so that a NaN fails (a max over errors would skip it).
            let off: Vec<_> = got
                .iter()
                .zip(&want)
                .filter(|(g, w)| {
                    let err = (**g as f64 - **w).abs();
                    err.is_nan() || err >= 1e-5
                })
                .collect();
            assert!(off.is_empty(), "keys {keys:?}: {} values off, e.g. {:?}", off.len(), off.first());
        }
        let unmasked = attention(&t(&q, tq), &t(&k, tk), &t(&v, tk), heads, None).expect("attention");
        let unmasked = unmasked.flatten_all().and_then(|x| x.to_vec1::<f32>()).expect("values");
        let want = naive(&q, &k, &v, (b, tq, tk, d, heads), &[tk, tk]);
        assert!(unmasked.iter().zip(&want).all(|(g, w)| (*g as f64 - w).abs() < 1e-5));
        assert!(attention(&t(&q, tq), &t(&k, tk), &t(&v, tk), 7, None).is_err(), "60 is not 7 heads");
    }
}
