//! The one loader: named tensors out of safetensors bytes, in any stored form the format
//! allows (f32, f16, bf16 dense; q8 / q4 / f16 block matrices, see `docs/format.md`).
//!
//! Everything is validated before use: the header (by the `safetensors` crate), each tensor's
//! dtype and shape against what the model config expects, and every float for finiteness, so
//! a corrupt file fails here with the tensor's name rather than producing NaN scores later.

use std::sync::Arc;

use candle_core::{Device, Tensor};
use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};
use crate::format::{quant_data_name, quant_scales_name, FloatTensors};
use crate::quant::{QuantKind, QuantMatrix, Scales, SharedBytes, SharedF32};

/// Whether f32 matrices of a shared buffer are used in place ([`Matrix::InPlace`]) rather than
/// copied. In wasm our f32 product runs at candle's speed (~7-9 GMAC/s) and the copy would cost
/// a browser tab 29 MB for a q8 base model (the f32 pooling head), the whole model again for
/// an f32 file; natively candle's AVX2/FMA product is ~4x faster than ours and memory is not
/// short, so matrices are copied into candle tensors there.
const IN_PLACE_F32: bool = cfg!(target_arch = "wasm32");

/// A weight matrix as the model holds it in memory.
#[derive(Debug, Clone)]
pub enum Matrix {
    /// Dense f32, `[rows, cols]`.
    Dense(Tensor),
    /// Dense f32 read in place from the model file: `rows x cols` values, row-major.
    InPlace { values: SharedF32, rows: usize, cols: usize },
    /// Block-quantized or f16, kept so: q8 runs int8 products on the stored blocks
    /// ([`crate::kernels`]); q4 and f16 are widened to f32 for one product at a time (see
    /// [`crate::model::Linear`]).
    Quant(QuantMatrix),
}

impl Matrix {
    pub fn rows(&self) -> usize {
        match self {
            Matrix::Dense(t) => t.dims()[0],
            Matrix::InPlace { rows, .. } => *rows,
            Matrix::Quant(q) => q.rows,
        }
    }

    /// Bytes this matrix occupies in memory.
    pub fn memory_bytes(&self) -> usize {
        match self {
            Matrix::Dense(t) => t.elem_count() * 4,
            Matrix::InPlace { values, .. } => values.values().len() * 4,
            Matrix::Quant(q) => q.memory_bytes(),
        }
    }

    /// The matrix as a dense f32 tensor (a copy for quantized matrices).
    pub fn to_dense(&self) -> Result<Tensor> {
        match self {
            Matrix::Dense(t) => Ok(t.clone()),
            Matrix::InPlace { values, rows, cols } => {
                Ok(Tensor::from_slice(values.values(), (*rows, *cols), &Device::Cpu)?)
            }
            Matrix::Quant(q) => Ok(Tensor::from_vec(q.dequantize(), (q.rows, q.cols), &Device::Cpu)?),
        }
    }

    /// Rows `start..start + rows` (a stacked q/k/v projection's parts): in place when the
    /// matrix is, else a dense copy.
    pub fn row_range(&self, start: usize, rows: usize) -> Result<Matrix> {
        if let Matrix::InPlace { values, cols, .. } = self {
            let part = start.checked_mul(*cols).zip(rows.checked_mul(*cols)).and_then(|(s, n)| values.sub(s, n));
            return match part {
                Some(values) => Ok(Matrix::InPlace { values, rows, cols: *cols }),
                None => Err(Error::Input(format!("rows {start}..{} of a {}-row matrix", start + rows, self.rows()))),
            };
        }
        Ok(Matrix::Dense(self.to_dense()?.narrow(0, start, rows)?.contiguous()?))
    }
}

/// Read access to the tensors of one safetensors buffer.
pub struct Weights<'a> {
    st: SafeTensors<'a>,
    /// When the buffer is shared, compressed matrices point into it instead of copying.
    shared: Option<Arc<Vec<u8>>>,
}

impl<'a> Weights<'a> {
    /// Parses a buffer that quantized matrices may keep referring to (no copy of them).
    pub fn parse_shared(bytes: &'a Arc<Vec<u8>>) -> Result<Self> {
        let mut w = Self::parse(bytes.as_slice())?;
        w.shared = Some(bytes.clone());
        Ok(w)
    }

    /// Parses and validates the safetensors header (offsets, sizes, dtypes).
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| {
            Error::Weights(format!(
                "{e} (the file is truncated, corrupt or not a safetensors file; {} bytes read)",
                bytes.len()
            ))
        })?;
        Ok(Weights { st, shared: None })
    }

    /// The bytes of a tensor, shared with the buffer when possible.
    fn bytes_of(&self, data: &[u8]) -> SharedBytes {
        if let Some(buf) = &self.shared {
            let offset = (data.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
            if let Some(b) = SharedBytes::slice(buf.clone(), offset, data.len()) {
                return b;
            }
        }
        data.to_vec().into()
    }

    /// Whether a tensor of this exact name is stored.
    pub fn contains(&self, name: &str) -> bool {
        self.st.tensor(name).is_ok()
    }

    /// All stored tensor names.
    pub fn names(&self) -> Vec<&str> {
        self.st.names()
    }

    /// Whether a tensor holds floats (F32, F16 or BF16); checkpoints may also carry integer
    /// buffers such as `position_ids`, which the model does not read.
    pub fn is_float(&self, name: &str) -> bool {
        self.st.tensor(name).is_ok_and(|v| matches!(v.dtype(), Dtype::F32 | Dtype::F16 | Dtype::BF16))
    }

    /// The stored shape of a tensor.
    pub fn shape(&self, name: &str) -> Result<Vec<usize>> {
        Ok(self.view(name)?.shape().to_vec())
    }

    /// A tensor of exactly `shape`, widened to f32.
    pub fn dense(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let values = self.dense_values(name, shape)?;
        Ok(Tensor::from_vec(values, shape, &Device::Cpu)?)
    }

    /// A scalar stored as a 1-element tensor (any shape with one element).
    pub fn scalar(&self, name: &str) -> Result<f32> {
        let view = self.view(name)?;
        if checked_product(view.shape()) != Some(1) {
            return Err(Error::tensor(name, format!("expected one value, found shape {:?}", view.shape())));
        }
        Ok(floats(name, view.dtype(), view.data())?[0])
    }

    /// The raw f32 values of a dense tensor of exactly `shape`.
    pub fn dense_values(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let view = self.shaped_view(name, shape)?;
        floats(name, view.dtype(), view.data())
    }

    /// A tensor that must have exactly `shape`.
    fn shaped_view(&self, name: &str, shape: &[usize]) -> Result<safetensors::tensor::TensorView<'a>> {
        let view = self.view(name)?;
        if view.shape() != shape {
            return Err(Error::tensor(
                name,
                format!("expected shape {shape:?}, found {:?} (is this the right model?)", view.shape()),
            ));
        }
        Ok(view)
    }

    /// A `[rows, cols]` matrix, dense or block-quantized, whichever the file holds.
    /// A dense tensor of more dimensions is accepted when its trailing dims multiply to `cols`
    /// (a conv kernel `[out, c, kh, kw]` is the matrix `[out, c*kh*kw]`).
    pub fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<Matrix> {
        if let Ok(view) = self.st.tensor(name) {
            let shape = view.shape();
            // Header dimensions are untrusted: `[0, 2^40, 2^40]` is a valid empty tensor whose
            // trailing dims overflow a plain product.
            let flat = checked_product(shape.get(1..).unwrap_or_default());
            if shape.len() < 2 || shape[0] != rows || flat != Some(cols) {
                return Err(Error::tensor(
                    name,
                    format!("expected a [{rows}, {cols}] matrix, found shape {shape:?} (is this the right model?)"),
                ));
            }
            if view.dtype() == Dtype::F16 && shape.len() == 2 {
                let q = QuantMatrix::from_parts(
                    QuantKind::F16,
                    rows,
                    cols,
                    self.bytes_of(view.data()),
                    Scales::from_f32(&[]),
                )?;
                check_finite(name, &q.dequantize())?;
                return Ok(Matrix::Quant(q));
            }
            if let Some(values) = self.in_place_f32(view.dtype(), view.data()) {
                check_finite(name, values.values())?;
                return Ok(Matrix::InPlace { values, rows, cols });
            }
            let values = floats(name, view.dtype(), view.data())?;
            return Ok(Matrix::Dense(Tensor::from_vec(values, (rows, cols), &Device::Cpu)?));
        }
        for kind in [QuantKind::Q8, QuantKind::Q4] {
            let data_name = quant_data_name(name, kind);
            if let Ok(view) = self.st.tensor(&data_name) {
                let (want_dtype, width) = match kind {
                    QuantKind::Q8 => (Dtype::I8, cols),
                    _ => (Dtype::U8, kind.row_bytes(cols)),
                };
                if view.dtype() != want_dtype || view.shape() != [rows, width] {
                    return Err(Error::tensor(
                        &data_name,
                        format!(
                            "expected {want_dtype:?} [{rows}, {width}], found {:?} {:?}",
                            view.dtype(),
                            view.shape()
                        ),
                    ));
                }
                let scales = self.scales(&quant_scales_name(name, kind), rows, kind.row_scales(cols))?;
                return Ok(Matrix::Quant(QuantMatrix::from_parts(
                    kind,
                    rows,
                    cols,
                    self.bytes_of(view.data()),
                    scales,
                )?));
            }
        }
        Err(self.missing(name))
    }

    /// f32 data usable in place (see [`IN_PLACE_F32`]): a shared buffer, aligned.
    fn in_place_f32(&self, dtype: Dtype, data: &[u8]) -> Option<SharedF32> {
        if !IN_PLACE_F32 || dtype != Dtype::F32 || self.shared.is_none() {
            return None;
        }
        SharedF32::new(self.bytes_of(data))
    }

    /// The `[rows, per_row]` f16 scales of a quantized matrix, checked finite; shared with the
    /// buffer when possible (other float dtypes are narrowed to f16, what the format defines).
    fn scales(&self, name: &str, rows: usize, per_row: usize) -> Result<Scales> {
        let view = self.shaped_view(name, &[rows, per_row])?;
        if view.dtype() != Dtype::F16 {
            return Ok(Scales::from_f32(&floats(name, view.dtype(), view.data())?));
        }
        let scales = Scales::from_f16_bytes(self.bytes_of(view.data()))
            .ok_or_else(|| Error::tensor(name, "an odd number of bytes for f16 values"))?;
        if let Some(i) = (0..scales.len()).find(|&i| !scales.get(i).is_finite()) {
            return Err(Error::tensor(name, format!("value #{i} is {} (corrupt weights?)", scales.get(i))));
        }
        Ok(scales)
    }

    fn view(&self, name: &str) -> Result<safetensors::tensor::TensorView<'a>> {
        self.st.tensor(name).map_err(|_| self.missing(name))
    }

    fn missing(&self, name: &str) -> Error {
        Error::tensor(
            name,
            format!("missing from the weights file ({} tensors stored; is this a SigLIP checkpoint?)", self.st.len()),
        )
    }
}

/// The product of dimensions, or `None` if it overflows.
fn checked_product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

fn check_finite(name: &str, values: &[f32]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::tensor(name, format!("value #{i} is {} (corrupt weights?)", values[i]))),
    }
}

impl FloatTensors for Weights<'_> {
    /// Every F32, F16 or BF16 tensor, in the file's name order.
    fn float_tensors(&self) -> Result<Vec<(&str, Vec<usize>)>> {
        self.names().into_iter().filter(|n| self.is_float(n)).map(|n| Ok((n, self.shape(n)?))).collect()
    }

    fn values(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        self.dense_values(name, shape)
    }
}

/// Decodes little-endian floats of a safetensors dtype into f32, rejecting non-finite values.
/// The shard files a `model.safetensors.index.json` lists (its `weight_map` values), sorted.
pub fn shard_files(index_json: &str) -> Result<Vec<String>> {
    let index: serde_json::Value =
        serde_json::from_str(index_json).map_err(|e| Error::Weights(format!("model.safetensors.index.json: {e}")))?;
    let mut files: Vec<String> = index
        .get("weight_map")
        .and_then(|m| m.as_object())
        .map(|m| m.values().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    files.sort();
    files.dedup();
    let safe = |f: &String| f.ends_with(".safetensors") && !f.contains('/') && !f.contains('\\') && !f.starts_with('.');
    if files.is_empty() || !files.iter().all(safe) {
        return Err(Error::Weights("model.safetensors.index.json has no usable weight_map".into()));
    }
    Ok(files)
}

/// Shards of a checkpoint joined into one safetensors buffer (a tensor in two shards is an error).
pub fn join_shards(shards: &[Vec<u8>]) -> Result<Vec<u8>> {
    let mut views = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, bytes) in shards.iter().enumerate() {
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| Error::Weights(format!("shard {}: {e} (truncated, corrupt or not safetensors)", i + 1)))?;
        for (name, view) in st.tensors() {
            if !seen.insert(name.clone()) {
                return Err(Error::Weights(format!("tensor `{name}` appears in two shards")));
            }
            views.push((name, view));
        }
    }
    safetensors::serialize(views, None).map_err(|e| Error::Weights(format!("could not join the shards: {e}")))
}

pub(crate) fn floats(name: &str, dtype: Dtype, bytes: &[u8]) -> Result<Vec<f32>> {
    let values: Vec<f32> = match dtype {
        Dtype::F32 => bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        Dtype::F16 => bytes.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        Dtype::BF16 => bytes.chunks_exact(2).map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        other => {
            return Err(Error::tensor(name, format!("unsupported dtype {other:?}; expected F32, F16 or BF16")));
        }
    };
    check_finite(name, &values)?;
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header whose trailing dimensions overflow a product (the tensor itself is empty, so
    /// safetensors accepts it): an error naming the tensor, never an overflow.
    #[test]
    fn overflowing_header_dimensions_are_errors() {
        // 2^36 (2^20 on a 32-bit target, such as wasm32): its square overflows usize.
        let huge = 1usize << (usize::BITS / 2 + 4);
        let header = format!(r#"{{"x":{{"dtype":"F32","shape":[0,{huge},{huge}],"data_offsets":[0,0]}}}}"#);
        let mut file = (header.len() as u64).to_le_bytes().to_vec();
        file.extend_from_slice(header.as_bytes());
        let w = Weights::parse(&file).unwrap(); // safetensors accepts it: it holds no values
        let err = w.matrix("x", 0, 16).err().unwrap();
        assert!(err.to_string().contains("`x`"), "{err}");
        assert!(w.scalar("x").is_err());
        assert_eq!(checked_product(&[huge, huge]), None);
        assert_eq!(checked_product(&[0, huge, huge]), Some(0));
        assert_eq!(checked_product(&[]), Some(1));
    }
}
