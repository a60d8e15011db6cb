//! A Hugging Face `model.safetensors` converted to a packed file while its bytes arrive, as
//! the browser downloads it: memory holds the packed result (allocated once, when the header
//! has arrived) plus the one tensor in flight, never the whole checkpoint (813 MB in f32 for
//! SigLIP base, against 239 MB packed as q8).
//!
//! The tensors written are exactly those of [`crate::format::pack`] (same names, dtypes,
//! shapes and bytes; the test `tests/pack_stream.rs` compares them), laid out as safetensors
//! lays them out: by alignment, then name.

use std::cmp::Reverse;
use std::collections::HashMap;

use safetensors::Dtype;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::format::{packed_metadata, Encoding, StorageDtype};
use crate::tokenizer::TokenizerFiles;
use crate::weights::floats;

/// Largest safetensors header accepted (safetensors' own limit).
const MAX_HEADER: usize = 100_000_000;

#[derive(Deserialize)]
struct HeaderEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: (usize, usize),
}

/// One tensor of the input, in file order.
struct Input {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    start: usize,
    end: usize,
    /// Where each of its encoded outputs goes in the packed buffer (empty: skipped).
    encoding: Option<Encoding>,
    slots: Vec<(usize, usize)>,
}

enum State {
    /// Collecting the 8-byte length and the JSON header.
    Header(Vec<u8>),
    /// Streaming tensor data: `next` indexes `inputs`, `pos` is the offset in the data section.
    Data { next: usize, pos: usize, pending: Vec<u8> },
}

/// The streaming converter: `push` the file's bytes in order, then `finish`.
pub struct PackStream {
    dtype: StorageDtype,
    meta: HashMap<String, String>,
    state: State,
    inputs: Vec<Input>,
    data_len: usize,
    out: Vec<u8>,
}

fn dtype_of(s: &str) -> Option<Dtype> {
    Some(match s {
        "F64" => Dtype::F64,
        "F32" => Dtype::F32,
        "F16" => Dtype::F16,
        "BF16" => Dtype::BF16,
        "I64" => Dtype::I64,
        "I32" => Dtype::I32,
        "I16" => Dtype::I16,
        "I8" => Dtype::I8,
        "U8" => Dtype::U8,
        "BOOL" => Dtype::BOOL,
        _ => return None,
    })
}

fn dtype_name(d: Dtype) -> &'static str {
    match d {
        Dtype::F32 => "F32",
        Dtype::F16 => "F16",
        Dtype::I8 => "I8",
        _ => "U8",
    }
}

fn size_of(d: Dtype) -> usize {
    match d {
        Dtype::F64 | Dtype::I64 => 8,
        Dtype::F32 | Dtype::I32 => 4,
        Dtype::F16 | Dtype::BF16 | Dtype::I16 => 2,
        _ => 1,
    }
}

fn bad(msg: impl Into<String>) -> Error {
    Error::Weights(format!("model.safetensors: {}", msg.into()))
}

impl PackStream {
    /// A converter to `dtype` for a checkpoint with these configs and tokenizer files (read
    /// and checked here, before any weight arrives).
    pub fn new(
        dtype: StorageDtype,
        config_json: &str,
        preprocessor_json: Option<&str>,
        tokenizer: TokenizerFiles<'_>,
    ) -> Result<Self> {
        // Refuse a wrong model or tokenizer before a byte of the weights is downloaded.
        let config = crate::config::SiglipConfig::from_json(config_json, preprocessor_json)?;
        crate::tokenizer::SiglipTokenizer::from_files(tokenizer, config.text.max_position_embeddings)?;
        let meta = packed_metadata(dtype, config_json, preprocessor_json, tokenizer)?;
        Ok(PackStream { dtype, meta, state: State::Header(Vec::new()), inputs: Vec::new(), data_len: 0, out: Vec::new() })
    }

    /// Size of the packed result, once the header has arrived (else 0).
    pub fn packed_len(&self) -> usize {
        self.out.len()
    }

    /// Takes the next bytes of the file.
    pub fn push(&mut self, mut chunk: &[u8]) -> Result<()> {
        while !chunk.is_empty() {
            match &mut self.state {
                State::Header(buf) => {
                    let need = if buf.len() < 8 {
                        8 - buf.len()
                    } else {
                        let mut n = [0u8; 8];
                        n.copy_from_slice(&buf[..8]);
                        let n = usize::try_from(u64::from_le_bytes(n)).unwrap_or(usize::MAX);
                        if n > MAX_HEADER {
                            return Err(bad(format!("a {n}-byte header (not a safetensors file?)")));
                        }
                        8 + n - buf.len()
                    };
                    let take = need.min(chunk.len());
                    buf.extend_from_slice(&chunk[..take]);
                    chunk = &chunk[take..];
                    if buf.len() > 8 && take == need {
                        let header = std::mem::take(buf);
                        self.start(&header[8..])?;
                    }
                }
                State::Data { next, pos, pending } => {
                    let Some(input) = self.inputs.get(*next) else {
                        return Err(bad("more bytes than its header describes"));
                    };
                    if *pos < input.start {
                        // A gap between tensors: skip it.
                        let skip = (input.start - *pos).min(chunk.len());
                        *pos += skip;
                        chunk = &chunk[skip..];
                        continue;
                    }
                    let take = (input.end - *pos).min(chunk.len());
                    if input.encoding.is_some() {
                        pending.extend_from_slice(&chunk[..take]);
                    }
                    *pos += take;
                    chunk = &chunk[take..];
                    if *pos == input.end {
                        let bytes = std::mem::take(pending);
                        let index = *next;
                        *next += 1;
                        self.convert(index, bytes)?;
                        self.reserve_next()?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The packed file, once every byte the header describes has arrived.
    pub fn finish(self) -> Result<Vec<u8>> {
        match self.state {
            State::Data { next, .. } if next == self.inputs.len() => Ok(self.out),
            State::Data { pos, .. } => Err(bad(format!("truncated: {pos} of {} data bytes arrived", self.data_len))),
            State::Header(_) => Err(bad("truncated before the end of its header")),
        }
    }

    /// Reads the header, plans the output and allocates it.
    fn start(&mut self, header: &[u8]) -> Result<()> {
        let entries: HashMap<String, serde_json::Value> =
            serde_json::from_slice(header).map_err(|e| bad(format!("unreadable header: {e}")))?;
        let mut inputs = Vec::new();
        for (name, value) in entries {
            if name == "__metadata__" {
                continue;
            }
            let e: HeaderEntry = serde_json::from_value(value).map_err(|e| bad(format!("tensor `{name}`: {e}")))?;
            let dtype = dtype_of(&e.dtype).ok_or_else(|| bad(format!("tensor `{name}`: unknown dtype {}", e.dtype)))?;
            let (start, end) = e.data_offsets;
            let len = e.shape.iter().try_fold(size_of(dtype), |acc, &d| acc.checked_mul(d));
            if end < start || len != Some(end - start) {
                return Err(bad(format!("tensor `{name}`: offsets {start}..{end} do not fit shape {:?}", e.shape)));
            }
            let float = matches!(dtype, Dtype::F32 | Dtype::F16 | Dtype::BF16);
            let encoding = float.then(|| Encoding::of(&name, &e.shape, self.dtype));
            inputs.push(Input { name, dtype, shape: e.shape, start, end, encoding, slots: Vec::new() });
        }
        inputs.sort_by_key(|i| (i.start, i.end));
        for pair in inputs.windows(2) {
            if pair[1].start < pair[0].end {
                return Err(bad(format!("tensors `{}` and `{}` overlap", pair[0].name, pair[1].name)));
            }
        }
        self.data_len = inputs.last().map_or(0, |i| i.end);

        // The packed layout: every output tensor, by alignment then name, as safetensors writes.
        let mut outputs: Vec<(String, Dtype, Vec<usize>, usize, usize)> = Vec::new(); // + input, slot
        for (i, input) in inputs.iter().enumerate() {
            if let Some(enc) = input.encoding {
                for (k, (name, dtype, shape)) in enc.outputs(&input.name, &input.shape).into_iter().enumerate() {
                    outputs.push((name, dtype, shape, i, k));
                }
            }
        }
        outputs.sort_by(|a, b| (Reverse(size_of(a.1)), &a.0).cmp(&(Reverse(size_of(b.1)), &b.0)));
        let mut json = serde_json::Map::new();
        json.insert("__metadata__".into(), serde_json::to_value(&self.meta).map_err(|e| bad(e.to_string()))?);
        let mut offset = 0usize;
        let mut slots = Vec::with_capacity(outputs.len());
        for (name, dtype, shape, i, k) in &outputs {
            let len = shape.iter().product::<usize>() * size_of(*dtype);
            json.insert(
                name.clone(),
                serde_json::json!({ "dtype": dtype_name(*dtype), "shape": shape, "data_offsets": [offset, offset + len] }),
            );
            slots.push((*i, *k, offset, len));
            offset += len;
        }
        let mut header = serde_json::to_vec(&serde_json::Value::Object(json)).map_err(|e| bad(e.to_string()))?;
        while (8 + header.len()) % 8 != 0 {
            header.push(b' ');
        }
        let data_start = 8 + header.len();
        let total = data_start + offset;
        let mut out = Vec::new();
        out.try_reserve_exact(total).map_err(|_| {
            Error::Memory(format!("no memory for the {:.0} MB packed model", total as f64 / 1e6))
        })?;
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        out.extend_from_slice(&header);
        out.resize(total, 0);
        for (i, k, offset, len) in slots {
            let input: &mut Input = &mut inputs[i];
            if input.slots.len() <= k {
                input.slots.resize(k + 1, (0, 0));
            }
            input.slots[k] = (data_start + offset, len);
        }
        self.inputs = inputs;
        self.out = out;
        self.state = State::Data { next: 0, pos: 0, pending: Vec::new() };
        self.reserve_next()
    }

    /// Reserves the buffer for the next float tensor's bytes (a clear error if it cannot be).
    fn reserve_next(&mut self) -> Result<()> {
        if let State::Data { next, pending, .. } = &mut self.state {
            if let Some(input) = self.inputs.get(*next).filter(|i| i.encoding.is_some()) {
                pending.try_reserve_exact(input.end - input.start).map_err(|_| {
                    Error::Memory(format!("no memory for tensor `{}` ({} bytes)", input.name, input.end - input.start))
                })?;
            }
        }
        Ok(())
    }

    /// Encodes one complete tensor into its slots.
    fn convert(&mut self, index: usize, bytes: Vec<u8>) -> Result<()> {
        let input = &self.inputs[index];
        let Some(encoding) = input.encoding else { return Ok(()) };
        let values = floats(&input.name, input.dtype, &bytes)?;
        drop(bytes); // peak: the packed buffer, this tensor's values and its encoding
        for (data, &(offset, len)) in encoding.encode(&input.shape, &values).iter().zip(&input.slots) {
            if data.len() != len {
                return Err(bad(format!("tensor `{}`: encoded {} bytes, planned {len}", input.name, data.len())));
            }
            self.out[offset..offset + len].copy_from_slice(data);
        }
        Ok(())
    }
}
