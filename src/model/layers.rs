//! The building blocks shared by both towers: linear layers over any weight storage,
//! layer norm, activations, attention, the MLP and the pre-norm encoder.

use candle_core::{Device, Tensor};

use super::ops;
use crate::error::{Error, Result};
use crate::kernels::{self, ActPrecision};
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

    /// A dense layer from parts already in memory (used for fused projections).
    pub fn from_parts(weight: Tensor, bias: Option<Tensor>, in_dim: usize) -> Self {
        let out_dim = weight.dims()[0];
        Linear { weight: Matrix::Dense(weight), bias, in_dim, out_dim, precision: ActPrecision::default() }
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

/// The activations a SigLIP config may name in `hidden_act`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `gelu_pytorch_tanh` / `gelu_new`: the tanh approximation of GELU.
    GeluTanh,
    /// `gelu`: the exact (erf) GELU.
    GeluErf,
    /// `quick_gelu`: `x * sigmoid(1.702 x)`.
    QuickGelu,
    Relu,
}

impl Activation {
    /// Parses a Hugging Face `hidden_act` name.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "gelu_pytorch_tanh" | "gelu_new" | "gelu_fast" => Ok(Activation::GeluTanh),
            "gelu" => Ok(Activation::GeluErf),
            "quick_gelu" => Ok(Activation::QuickGelu),
            "relu" => Ok(Activation::Relu),
            other => Err(Error::Config(format!("unsupported hidden_act `{other}`"))),
        }
    }

    pub fn forward(self, x: &Tensor) -> Result<Tensor> {
        profile::scope("activation", || self.apply(x))
    }

    fn apply(self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Activation::GeluTanh => map_values(x, ops::gelu_tanh)?,
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
    let hd = d / heads;
    let split =
        |t: &Tensor, n: usize| -> Result<Tensor> { Ok(t.reshape((b, n, heads, hd))?.transpose(1, 2)?.contiguous()?) };
    let (q, k, v) = (split(q, tq)?, split(k, tk)?, split(v, tk)?);
    let scale = (hd as f64).powf(-0.5);
    let mut scores = (q.matmul(&k.t()?)? * scale)?;
    if let Some(mask) = key_mask {
        scores = scores.broadcast_add(mask)?;
    }
    let probs = map_values(&scores, |v| ops::softmax_rows(v, tk))?;
    let out = probs.matmul(&v)?; // [b, heads, tq, hd]
    Ok(out.transpose(1, 2)?.reshape((b, tq, d))?)
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
