//! The single-file model format (version 1, see `docs/format.md`): a standard safetensors
//! file whose `__metadata__` carries the config, the image processor config and the
//! tokenizer, and whose tensors keep Hugging Face names, with big matrices block-quantized.

use std::borrow::Cow;
use std::collections::HashMap;

use safetensors::{Dtype, View};

use crate::base64;
use crate::error::{Error, Result};
use crate::quant::{QuantKind, QuantMatrix};
use crate::spm::SpmModel;
use crate::tokenizer::TokenizerFiles;

/// `__metadata__["format"]` of every file this crate writes.
pub const FORMAT_NAME: &str = "siglip-web";
/// `__metadata__["format_version"]`; readers refuse versions they do not know.
pub const FORMAT_VERSION: &str = "1";

/// Metadata keys.
pub mod keys {
    pub const FORMAT: &str = "format";
    pub const VERSION: &str = "format_version";
    pub const DTYPE: &str = "dtype";
    pub const CONFIG: &str = "config";
    pub const PREPROCESSOR: &str = "preprocessor_config";
    pub const TOKENIZER: &str = "tokenizer";
    pub const SPIECE_MODEL: &str = "spiece_model";
    pub const TOKENIZER_CONFIG: &str = "tokenizer_config";
}

/// How weight matrices are stored in a packed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageDtype {
    F32,
    F16,
    Q8,
    Q4,
}

impl StorageDtype {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "f32" => Ok(StorageDtype::F32),
            "f16" => Ok(StorageDtype::F16),
            "q8" => Ok(StorageDtype::Q8),
            "q4" => Ok(StorageDtype::Q4),
            other => Err(Error::Input(format!("unknown dtype `{other}`; use q8, q4, f16 or f32"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StorageDtype::F32 => "f32",
            StorageDtype::F16 => "f16",
            StorageDtype::Q8 => "q8",
            StorageDtype::Q4 => "q4",
        }
    }
}

/// Name of the encoded values of a block-quantized matrix `NAME` in a packed file.
pub fn quant_data_name(name: &str, kind: QuantKind) -> String {
    match kind {
        QuantKind::Q8 => format!("{name}.q8"),
        QuantKind::Q4 => format!("{name}.q4"),
        QuantKind::F16 => name.to_string(),
    }
}

/// Name of the per-block scales of a block-quantized matrix `NAME` in a packed file.
pub fn quant_scales_name(name: &str, kind: QuantKind) -> String {
    match kind {
        QuantKind::Q8 => format!("{name}.q8_scales"),
        QuantKind::Q4 => format!("{name}.q4_scales"),
        QuantKind::F16 => format!("{name}.scales"),
    }
}

/// Whether a tensor is one of the large matrices that q8 / q4 quantize: the encoder layers'
/// projections and MLPs of both towers, the token embedding and the text head. The vision
/// pooling head, the patch embedding, position embeddings, norms and biases stay f32: they
/// are small, and the pooling head in particular is sensitive to quantization error.
pub fn is_quantizable(name: &str) -> bool {
    let encoder = name.contains(".encoder.layers.")
        && name.ends_with(".weight")
        && ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"].iter().any(|p| name.contains(&format!(".{p}.")));
    encoder || name == "text_model.embeddings.token_embedding.weight" || name == "text_model.head.weight"
}

/// Whether the f16 file stores this tensor as f16 (every matrix outside the vision pooling head).
fn is_f16(name: &str, shape: &[usize]) -> bool {
    shape.len() >= 2 && !name.starts_with("vision_model.head.")
}

struct Stored {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Stored {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn f16_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect()
}

/// Everything a packed file holds besides the tensors.
#[derive(Debug, Clone)]
pub struct PackedMeta {
    pub dtype: String,
    pub config: String,
    pub preprocessor: Option<String>,
    pub tokenizer: String,
    /// The checkpoint's `spiece.model` (stored base64), when it had one.
    pub spiece_model: Option<Vec<u8>>,
    pub tokenizer_config: Option<String>,
}

impl PackedMeta {
    /// The tokenizer files, as [`crate::tokenizer::SiglipTokenizer::for_model`] reads them.
    pub fn tokenizer_files(&self) -> TokenizerFiles<'_> {
        TokenizerFiles {
            spiece_model: self.spiece_model.as_deref(),
            tokenizer_json: Some(self.tokenizer.as_bytes()),
            tokenizer_config: self.tokenizer_config.as_deref().map(str::as_bytes),
        }
    }
}

/// How one checkpoint tensor is stored in a packed file of a given dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Quant(QuantKind),
    F16,
    F32,
}

impl Encoding {
    /// The encoding `pack` uses for a float tensor.
    pub(crate) fn of(name: &str, shape: &[usize], dtype: StorageDtype) -> Self {
        match dtype {
            StorageDtype::Q8 if is_quantizable(name) && shape.len() == 2 => Encoding::Quant(QuantKind::Q8),
            StorageDtype::Q4 if is_quantizable(name) && shape.len() == 2 => Encoding::Quant(QuantKind::Q4),
            _ if dtype != StorageDtype::F32 && is_f16(name, shape) => Encoding::F16,
            _ => Encoding::F32,
        }
    }

    /// The stored tensors (name, dtype, shape) this encoding writes for one checkpoint tensor:
    /// a quantized matrix is two (data and scales).
    pub(crate) fn outputs(self, name: &str, shape: &[usize]) -> Vec<(String, Dtype, Vec<usize>)> {
        match self {
            Encoding::Quant(kind) => {
                let (rows, cols) = (shape[0], shape[1]);
                let data_dtype = if kind == QuantKind::Q8 { Dtype::I8 } else { Dtype::U8 };
                vec![
                    (quant_data_name(name, kind), data_dtype, vec![rows, kind.row_bytes(cols)]),
                    (quant_scales_name(name, kind), Dtype::F16, vec![rows, kind.row_scales(cols)]),
                ]
            }
            Encoding::F16 => vec![(name.to_string(), Dtype::F16, shape.to_vec())],
            Encoding::F32 => vec![(name.to_string(), Dtype::F32, shape.to_vec())],
        }
    }

    /// The bytes of each of [`Encoding::outputs`], in the same order.
    pub(crate) fn encode(self, shape: &[usize], values: &[f32]) -> Vec<Vec<u8>> {
        match self {
            Encoding::Quant(kind) => {
                let q = QuantMatrix::quantize(kind, values, shape[0], shape[1]);
                vec![q.data.to_vec(), q.scales.as_bytes().to_vec()]
            }
            Encoding::F16 => vec![f16_bytes(values)],
            Encoding::F32 => vec![f32_bytes(values)],
        }
    }
}

/// The `__metadata__` of a packed file: format, version, dtype, the configs and the tokenizer.
pub(crate) fn packed_metadata(
    dtype: StorageDtype,
    config_json: &str,
    preprocessor_json: Option<&str>,
    tokenizer: TokenizerFiles<'_>,
) -> Result<HashMap<String, String>> {
    let mut meta = HashMap::new();
    meta.insert(keys::FORMAT.to_string(), FORMAT_NAME.to_string());
    meta.insert(keys::VERSION.to_string(), FORMAT_VERSION.to_string());
    meta.insert(keys::DTYPE.to_string(), dtype.name().to_string());
    meta.insert(keys::CONFIG.to_string(), config_json.to_string());
    // `tokenizer` is always a tokenizer.json (readers of the first files need it); the
    // SentencePiece model and the tokenizer config travel verbatim beside it.
    let tokenizer_json = match (tokenizer.tokenizer_json, tokenizer.spiece_model) {
        (Some(json), _) => {
            String::from_utf8(json.to_vec()).map_err(|_| Error::Tokenizer("tokenizer.json is not UTF-8 text".into()))?
        }
        (None, Some(spiece)) => SpmModel::parse(spiece)?.to_tokenizer_json()?,
        (None, None) => {
            return Err(Error::Tokenizer("the checkpoint has neither spiece.model nor tokenizer.json".into()))
        }
    };
    meta.insert(keys::TOKENIZER.to_string(), tokenizer_json);
    if let Some(spiece) = tokenizer.spiece_model {
        meta.insert(keys::SPIECE_MODEL.to_string(), base64::encode(spiece));
    }
    if let Some(config) = tokenizer.tokenizer_config {
        let config = std::str::from_utf8(config)
            .map_err(|_| Error::Tokenizer("tokenizer_config.json is not UTF-8 text".into()))?;
        meta.insert(keys::TOKENIZER_CONFIG.to_string(), config.to_string());
    }
    if let Some(p) = preprocessor_json {
        meta.insert(keys::PREPROCESSOR.to_string(), p.to_string());
    }
    Ok(meta)
}

/// A checkpoint's float tensors, as [`pack`] reads them (implemented by
/// [`crate::weights::Weights`]).
pub trait FloatTensors {
    /// `(name, shape)` of every float tensor, in the order to write them.
    fn float_tensors(&self) -> Result<Vec<(&str, Vec<usize>)>>;
    /// One tensor's values, widened to f32.
    fn values(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>>;
}

/// Writes a packed model file from a Hugging Face checkpoint's parts. `weights` must hold
/// every tensor the model needs (callers validate by loading the model first).
/// [`crate::pack_stream::PackStream`] writes the same tensors from a stream.
pub fn pack(
    weights: &impl FloatTensors,
    dtype: StorageDtype,
    config_json: &str,
    preprocessor_json: Option<&str>,
    tokenizer: TokenizerFiles<'_>,
) -> Result<Vec<u8>> {
    let mut tensors: Vec<(String, Stored)> = Vec::new();
    for (name, shape) in weights.float_tensors()? {
        let values = weights.values(name, &shape)?;
        let encoding = Encoding::of(name, &shape, dtype);
        for ((out_name, dtype, shape), data) in
            encoding.outputs(name, &shape).into_iter().zip(encoding.encode(&shape, &values))
        {
            tensors.push((out_name, Stored { dtype, shape, data }));
        }
    }
    let meta = packed_metadata(dtype, config_json, preprocessor_json, tokenizer)?;
    let views = tensors.iter().map(|(n, s)| (n.clone(), s));
    safetensors::serialize(views, Some(meta)).map_err(|e| Error::Weights(format!("could not write: {e}")))
}

/// Reads the metadata of a packed file, refusing files that are not in this format.
pub fn read_meta(bytes: &[u8]) -> Result<PackedMeta> {
    let (_, metadata) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::Weights(format!("{e} (the file is truncated, corrupt or not a safetensors file)")))?;
    let meta = metadata.metadata().clone().unwrap_or_default();
    let get = |k: &str| meta.get(k).cloned();
    match get(keys::FORMAT).as_deref() {
        Some(FORMAT_NAME) => {}
        _ => {
            return Err(Error::Weights(
                "this safetensors file was not made by `siglip quantize` (no `format: siglip-web` metadata); \
                 convert the Hugging Face checkpoint with `siglip quantize` first"
                    .into(),
            ))
        }
    }
    match get(keys::VERSION).as_deref() {
        Some(FORMAT_VERSION) => {}
        other => {
            return Err(Error::Weights(format!(
                "format version {other:?} is not supported (this build reads version {FORMAT_VERSION})"
            )))
        }
    }
    let need = |k: &str| get(k).ok_or_else(|| Error::Weights(format!("metadata `{k}` is missing")));
    Ok(PackedMeta {
        dtype: need(keys::DTYPE)?,
        config: need(keys::CONFIG)?,
        preprocessor: get(keys::PREPROCESSOR),
        tokenizer: need(keys::TOKENIZER)?,
        spiece_model: match get(keys::SPIECE_MODEL) {
            Some(text) => Some(
                base64::decode(&text)
                    .ok_or_else(|| Error::Weights(format!("metadata `{}` is not base64", keys::SPIECE_MODEL)))?,
            ),
            None => None,
        },
        tokenizer_config: get(keys::TOKENIZER_CONFIG),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantizable_names() {
        assert!(is_quantizable("vision_model.encoder.layers.3.self_attn.q_proj.weight"));
        assert!(is_quantizable("text_model.encoder.layers.0.mlp.fc2.weight"));
        assert!(is_quantizable("text_model.embeddings.token_embedding.weight"));
        assert!(!is_quantizable("vision_model.encoder.layers.3.self_attn.q_proj.bias"));
        assert!(!is_quantizable("vision_model.head.mlp.fc1.weight"));
        assert!(!is_quantizable("vision_model.head.attention.out_proj.weight"));
        assert!(!is_quantizable("vision_model.embeddings.patch_embedding.weight"));
        assert!(!is_quantizable("text_model.encoder.layers.0.layer_norm1.weight"));
    }

    #[test]
    fn foreign_safetensors_are_refused() {
        let t = Stored { dtype: Dtype::F32, shape: vec![1], data: f32_bytes(&[1.0]) };
        let bytes = safetensors::serialize([("x", &t)], None).unwrap();
        let err = read_meta(&bytes).unwrap_err();
        assert!(err.to_string().contains("siglip quantize"), "{err}");
        assert!(matches!(read_meta(&bytes[..5]), Err(Error::Weights(_))));
    }
}
