//! A Hugging Face `model.safetensors` converted to a packed file while its bytes arrive, as
//! the browser downloads it: memory holds the packed result (allocated once, when the header
//! has arrived) plus the one tensor in flight, never the whole checkpoint (813 MB in f32 for
//! SigLIP base, against 239 MB packed as q8).
//!
//! The tensors written are exactly those of [`crate::format::pack`] (same names, dtypes,
//! shapes and bytes; the test `tests/pack_stream.rs` compares them), laid out as safetensors
//! lays them out: by alignment, then name.
//!
//! A sharded checkpoint (`model.safetensors.index.json`) is converted the same way once every
//! shard's header is known ([`PackStream::add_shard_header`]): then each shard file is streamed
//! after [`PackStream::begin_shard`].

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

/// One tensor of the input, in file order (shard by shard).
struct Input {
    shard: usize,
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    start: usize,
    end: usize,
    /// Where each of its encoded outputs goes in the packed buffer (empty: skipped).
    encoding: Option<Encoding>,
    slots: Vec<(usize, usize)>,
    done: bool,
}

/// One input file: the length of its header (with the 8-byte size) and its tensors' range in
/// `inputs`.
struct Shard {
    header_len: usize,
    first: usize,
    end: usize,
}

enum State {
    /// One file: collecting its 8-byte length and JSON header.
    Header(Vec<u8>),
    /// Shards: headers being added, or between two shards.
    Between,
    /// A shard's header, already read: skipped.
    Skip { shard: usize, remaining: usize },
    /// Streaming a file's tensor data: `next` indexes `inputs`, `pos` is the offset in the
    /// file's data section.
    Data { shard: usize, next: usize, pos: usize, pending: Vec<u8> },
}

/// The streaming converter: `push` the file's bytes in order, then `finish`.
pub struct PackStream {
    dtype: StorageDtype,
    meta: HashMap<String, String>,
    state: State,
    inputs: Vec<Input>,
    shards: Vec<Shard>,
    out: Vec<u8>,
    /// The first error: every later call fails with it (the stream cannot be resumed).
    failed: Option<String>,
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
        // Refuse a wrong model or tokenizer before a byte of the weights is downloaded, exactly
        // as loading the packed file would.
        crate::siglip::checkpoint_parts(config_json, preprocessor_json, tokenizer)?;
        let meta = packed_metadata(dtype, config_json, preprocessor_json, tokenizer)?;
        Ok(PackStream {
            dtype,
            meta,
            state: State::Header(Vec::new()),
            inputs: Vec::new(),
            shards: Vec::new(),
            out: Vec::new(),
            failed: None,
        })
    }

    /// For a sharded checkpoint: the start of one more shard file (its 8-byte header size and
    /// header; later bytes are ignored), in the order `begin_shard` will number them. The
    /// packed buffer is planned and allocated when the first shard begins.
    pub fn add_shard_header(&mut self, bytes: &[u8]) -> Result<()> {
        self.check()?;
        let result = self.add_shard_header_inner(bytes);
        self.fail_on(result)
    }

    fn add_shard_header_inner(&mut self, bytes: &[u8]) -> Result<()> {
        let fresh = match &self.state {
            State::Header(buf) => buf.is_empty(),
            State::Between => true,
            _ => false,
        };
        if !fresh || !self.out.is_empty() {
            return Err(Error::Input("shard headers must all be added before any data".into()));
        }
        let n = bytes.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()));
        let n = n.and_then(|n| usize::try_from(n).ok()).filter(|&n| (2..=MAX_HEADER).contains(&n));
        let header = n
            .and_then(|n| bytes.get(8..8 + n))
            .ok_or_else(|| bad("a shard's header is truncated or not safetensors"))?;
        let shard = self.shards.len();
        let mut inputs = self.parse(header, shard)?;
        self.shards.push(Shard { header_len: 8 + header.len(), first: 0, end: 0 });
        self.inputs.append(&mut inputs);
        self.state = State::Between;
        Ok(())
    }

    /// For a sharded checkpoint: the bytes pushed next are shard `index`'s file, from its first
    /// byte (again from the start if it was begun before, e.g. after a restarted download).
    pub fn begin_shard(&mut self, index: usize) -> Result<()> {
        self.check()?;
        let result = self.begin_shard_inner(index);
        self.fail_on(result)
    }

    fn begin_shard_inner(&mut self, index: usize) -> Result<()> {
        if self.shards.is_empty() || matches!(self.state, State::Header(_)) {
            return Err(Error::Input("begin_shard needs the shards' headers first".into()));
        }
        if self.out.is_empty() {
            self.plan()?;
        }
        let shard = self.shards.get(index).ok_or_else(|| Error::Input(format!("no shard {index}")))?;
        self.state = State::Skip { shard: index, remaining: shard.header_len };
        Ok(())
    }

    /// Size of the packed result, once the header has arrived (else 0).
    pub fn packed_len(&self) -> usize {
        self.out.len()
    }

    /// Takes the next bytes of the file. After an error the converter is spent: every later
    /// call fails with that error.
    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        self.check()?;
        let result = self.push_inner(chunk);
        self.fail_on(result)
    }

    fn check(&self) -> Result<()> {
        match &self.failed {
            Some(why) => Err(Error::Weights(format!("the conversion already failed: {why}"))),
            None => Ok(()),
        }
    }

    fn fail_on(&mut self, result: Result<()>) -> Result<()> {
        if let Err(e) = &result {
            self.failed = Some(e.to_string());
        }
        result
    }

    fn push_inner(&mut self, mut chunk: &[u8]) -> Result<()> {
        while !chunk.is_empty() {
            match &mut self.state {
                State::Header(buf) => {
                    let need = if buf.len() < 8 {
                        8 - buf.len()
                    } else {
                        let mut n = [0u8; 8];
                        n.copy_from_slice(&buf[..8]);
                        let n = usize::try_from(u64::from_le_bytes(n)).unwrap_or(usize::MAX);
                        if !(2..=MAX_HEADER).contains(&n) {
                            return Err(bad(format!("a {n}-byte header (not a safetensors file?)")));
                        }
                        8 + n - buf.len()
                    };
                    let take = need.min(chunk.len());
                    buf.extend_from_slice(&chunk[..take]);
                    chunk = &chunk[take..];
                    if buf.len() > 8 && take == need {
                        let header = std::mem::take(buf);
                        self.inputs = self.parse(&header[8..], 0)?;
                        self.shards.push(Shard { header_len: header.len(), first: 0, end: 0 });
                        self.plan()?;
                        self.state = State::Data { shard: 0, next: 0, pos: 0, pending: Vec::new() };
                        self.reserve_next()?;
                    }
                }
                State::Between => return Err(Error::Input("call begin_shard before pushing a shard's bytes".into())),
                State::Skip { shard, remaining } => {
                    let skip = (*remaining).min(chunk.len());
                    *remaining -= skip;
                    chunk = &chunk[skip..];
                    if *remaining == 0 {
                        let (shard, next) = (*shard, self.shards[*shard].first);
                        self.state = State::Data { shard, next, pos: 0, pending: Vec::new() };
                        self.reserve_next()?;
                    }
                }
                State::Data { shard, next, pos, pending } => {
                    let Some(input) = self.inputs.get(*next).filter(|_| *next < self.shards[*shard].end) else {
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

    /// The packed file, once every byte the header(s) describe has arrived.
    pub fn finish(self) -> Result<Vec<u8>> {
        self.check()?;
        if let State::Header(_) = self.state {
            return Err(bad("truncated before the end of its header"));
        }
        if let Some(missing) = self.inputs.iter().find(|i| !i.done) {
            let data: usize = self.inputs.iter().filter(|i| i.shard == missing.shard).map(|i| i.end).max().unwrap_or(0);
            let arrived = match self.state {
                State::Data { shard, pos, .. } if shard == missing.shard => pos,
                _ => 0,
            };
            let which = if self.shards.len() > 1 { format!(" (shard {})", missing.shard) } else { String::new() };
            return Err(bad(format!(
                "truncated{which}: {arrived} of {data} data bytes arrived; `{}` is missing",
                missing.name
            )));
        }
        Ok(self.out)
    }

    /// The tensors one header describes.
    fn parse(&self, header: &[u8], shard: usize) -> Result<Vec<Input>> {
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
            inputs.push(Input {
                shard,
                name,
                dtype,
                shape: e.shape,
                start,
                end,
                encoding,
                slots: Vec::new(),
                done: false,
            });
        }
        inputs.sort_by_key(|i| (i.start, i.end));
        for pair in inputs.windows(2) {
            if pair[1].start < pair[0].end {
                return Err(bad(format!("tensors `{}` and `{}` overlap", pair[0].name, pair[1].name)));
            }
        }
        Ok(inputs)
    }

    /// Plans the packed layout of every input and allocates it.
    fn plan(&mut self) -> Result<()> {
        let mut inputs = std::mem::take(&mut self.inputs);
        let mut names = std::collections::HashSet::new();
        for input in &inputs {
            if !names.insert(input.name.as_str()) {
                return Err(bad(format!("tensor `{}` appears in two shards", input.name)));
            }
        }
        for (index, shard) in self.shards.iter_mut().enumerate() {
            shard.first = inputs.iter().position(|i| i.shard == index).unwrap_or(inputs.len());
            shard.end = shard.first + inputs.iter().filter(|i| i.shard == index).count();
        }

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
            let too_big = || bad("the tensors add up to more than this machine can address");
            let len = shape.iter().try_fold(size_of(*dtype), |acc, &d| acc.checked_mul(d)).ok_or_else(too_big)?;
            let end = offset.checked_add(len).ok_or_else(too_big)?;
            json.insert(
                name.clone(),
                serde_json::json!({ "dtype": dtype_name(*dtype), "shape": shape, "data_offsets": [offset, end] }),
            );
            slots.push((*i, *k, offset, len));
            offset = end;
        }
        let mut header = serde_json::to_vec(&serde_json::Value::Object(json)).map_err(|e| bad(e.to_string()))?;
        while (8 + header.len()) % 8 != 0 {
            header.push(b' ');
        }
        let data_start = 8 + header.len();
        let total = data_start
            .checked_add(offset)
            .ok_or_else(|| bad("the tensors add up to more than this machine can address"))?;
        let mut out = Vec::new();
        out.try_reserve_exact(total)
            .map_err(|_| Error::Memory(format!("no memory for the {:.0} MB packed model", total as f64 / 1e6)))?;
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
        Ok(())
    }

    /// Completes the empty tensors at the current position (no byte will ever arrive for
    /// them), then reserves the buffer for the next float tensor's bytes (a clear error if it
    /// cannot be).
    fn reserve_next(&mut self) -> Result<()> {
        while let State::Data { shard, next, pos, .. } = &mut self.state {
            let empty = self
                .inputs
                .get(*next)
                .filter(|i| *next < self.shards[*shard].end && i.start == i.end && i.start == *pos)
                .is_some();
            if !empty {
                break;
            }
            let index = *next;
            *next += 1;
            self.convert(index, Vec::new())?;
        }
        if let State::Data { shard, next, pending, .. } = &mut self.state {
            if let Some(input) =
                self.inputs.get(*next).filter(|i| i.encoding.is_some() && *next < self.shards[*shard].end)
            {
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
        let Some(encoding) = input.encoding else {
            self.inputs[index].done = true;
            return Ok(());
        };
        let values = floats(&input.name, input.dtype, &bytes)?;
        drop(bytes); // peak: the packed buffer, this tensor's values and its encoding
        for (data, &(offset, len)) in encoding.encode(&input.shape, &values).iter().zip(&input.slots) {
            if data.len() != len {
                return Err(bad(format!("tensor `{}`: encoded {} bytes, planned {len}", input.name, data.len())));
            }
            self.out[offset..offset + len].copy_from_slice(data);
        }
        self.inputs[index].done = true;
        Ok(())
    }
}
