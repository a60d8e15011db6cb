//! The retrieval index: L2-normalized image embeddings, one record per image, and the identity
//! of the model they belong to; one file format (`docs/index-format.md`) that the CLI and the
//! browser both read and write; exact top-k search over its rows.
//!
//! The file is a standard safetensors file: tensor `embeddings` (F16 or F32, `[rows, dim]`),
//! tensor `records` (U8: a UTF-8 JSON array, one record per row, in row order), optionally
//! tensor `thumbnails` (U8: small images back to back, each record says where its own is), and
//! `__metadata__` with `format`, `format_version` and `model` (the [`ModelIdentity`] as JSON).
//! Any safetensors reader gets the vectors and the records with no code of ours.

use std::collections::{HashMap, HashSet};

use safetensors::{Dtype, View};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::siglip::sigmoid;

/// `__metadata__["format"]` of an index file.
pub const INDEX_FORMAT: &str = "siglip-index";
/// `__metadata__["format_version"]`; readers refuse versions they do not know.
pub const INDEX_VERSION: &str = "1";

/// Metadata keys and tensor names of an index file.
pub mod keys {
    pub const FORMAT: &str = "format";
    pub const VERSION: &str = "format_version";
    pub const MODEL: &str = "model";
    pub const EMBEDDINGS: &str = "embeddings";
    pub const RECORDS: &str = "records";
    pub const THUMBNAILS: &str = "thumbnails";
}

/// The model a set of embeddings belongs to. Two identities are the same model when their
/// `fingerprint`, `model_type` and `embedding_dim` agree ([`ModelIdentity::check_same_model`]):
/// the fingerprint hashes what every dtype of one checkpoint shares, so a q8 file, an f16 file
/// and the original checkpoint are one model; `dtype` and `source` are kept for people and
/// for finding the model again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelIdentity {
    /// `siglip` or `siglip2` (NaFlex).
    pub model_type: String,
    pub embedding_dim: usize,
    /// `sha256:<hex>` of the model's one-dimensional tensors (see [`crate::Siglip::fingerprint`]).
    pub fingerprint: String,
    /// Where the model was loaded from: `hf:owner/name@commit`, or a file's path or URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `f32`, `f16`, `q8`, `q4`, or `hf` (an unconverted checkpoint).
    pub dtype: String,
    /// Fixed resolution: the image side; NaFlex: the position grid's side in pixels.
    pub image_size: usize,
    pub patch_size: usize,
    /// NaFlex: the patch budget the images were embedded with; `None` for fixed resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_num_patches: Option<usize>,
    /// `logit_scale` as stored: a score is `sigmoid(exp(logit_scale) * cos + logit_bias)`.
    pub logit_scale: f32,
    pub logit_bias: f32,
}

impl ModelIdentity {
    /// `exp(logit_scale) * cos + logit_bias`: the logit of a cosine between normalized embeddings.
    pub fn logit(&self, cosine: f32) -> f32 {
        self.logit_scale.exp() * cosine + self.logit_bias
    }

    /// An error unless `other` is the same model (see the type's docs).
    pub fn check_same_model(&self, other: &ModelIdentity) -> Result<()> {
        if self.fingerprint == other.fingerprint
            && self.model_type == other.model_type
            && self.embedding_dim == other.embedding_dim
        {
            return Ok(());
        }
        Err(Error::ModelMismatch(format!(
            "this index was made with {} and the model in use is {}: embeddings of different models cannot \
             be compared; use the model the index records, or index the images again with this one",
            other.describe(),
            self.describe()
        )))
    }

    /// A short description for messages: source, type, width, dtype and fingerprint.
    pub fn describe(&self) -> String {
        let fp = self.fingerprint.strip_prefix("sha256:").unwrap_or(&self.fingerprint);
        format!(
            "{} ({}, {} dims, {}, fingerprint {})",
            self.source.as_deref().unwrap_or("an unnamed model"),
            self.model_type,
            self.embedding_dim,
            self.dtype,
            &fp[..fp.len().min(12)]
        )
    }
}

/// One image of the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Stable id: the first 16 hex digits of `sha256` (one record per content).
    pub id: String,
    /// The file's name.
    pub name: String,
    /// Where it was found: a path relative to the folder indexed, an absolute path, or a URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Size of the file in bytes.
    pub size: u64,
    /// Modification time, milliseconds since the Unix epoch, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime_ms: Option<f64>,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// `[rows, columns]` of patches the image became (NaFlex: its own aspect ratio).
    pub grid: [usize; 2],
    /// `[offset, length]` of its thumbnail in the `thumbnails` tensor, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<[u64; 2]>,
    /// Any other keys a writer added, kept as they are.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Record {
    /// The id of content with this SHA-256 (lowercase hex).
    pub fn id_of(sha256: &str) -> String {
        sha256.chars().take(16).collect()
    }
}

/// How the embeddings are stored (in a file and in memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowDtype {
    F16,
    F32,
}

impl RowDtype {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "f16" => Ok(RowDtype::F16),
            "f32" => Ok(RowDtype::F32),
            other => Err(Error::Input(format!("unknown embedding dtype `{other}`; use f16 or f32"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RowDtype::F16 => "f16",
            RowDtype::F32 => "f32",
        }
    }
}

/// The embeddings, one row of `dim` values per record, as f16 bits or f32.
#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    F16 { dim: usize, bits: Vec<u16> },
    F32 { dim: usize, values: Vec<f32> },
}

impl Rows {
    pub fn new(dtype: RowDtype, dim: usize) -> Self {
        match dtype {
            RowDtype::F16 => Rows::F16 { dim, bits: Vec::new() },
            RowDtype::F32 => Rows::F32 { dim, values: Vec::new() },
        }
    }

    pub fn dtype(&self) -> RowDtype {
        match self {
            Rows::F16 { .. } => RowDtype::F16,
            Rows::F32 { .. } => RowDtype::F32,
        }
    }

    pub fn dim(&self) -> usize {
        match self {
            Rows::F16 { dim, .. } | Rows::F32 { dim, .. } => *dim,
        }
    }

    pub fn len(&self) -> usize {
        let dim = self.dim().max(1);
        match self {
            Rows::F16 { bits, .. } => bits.len() / dim,
            Rows::F32 { values, .. } => values.len() / dim,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Room for `rows` more rows, or `None` when the memory cannot be had.
    fn try_reserve(&mut self, rows: usize) -> Option<()> {
        let n = rows.checked_mul(self.dim())?;
        match self {
            Rows::F16 { bits, .. } => bits.try_reserve_exact(n).ok(),
            Rows::F32 { values, .. } => values.try_reserve_exact(n).ok(),
        }
    }

    /// Appends one row (`dim` values).
    fn push(&mut self, row: &[f32]) {
        match self {
            Rows::F16 { bits, .. } => bits.extend(row.iter().map(|v| half::f16::from_f32(*v).to_bits())),
            Rows::F32 { values, .. } => values.extend_from_slice(row),
        }
    }

    /// Row `i` as f32.
    pub fn row(&self, i: usize) -> Option<Vec<f32>> {
        let dim = self.dim();
        match self {
            Rows::F16 { bits, .. } => {
                bits.get(i * dim..(i + 1) * dim).map(|r| r.iter().map(|b| f16_to_f32(*b)).collect())
            }
            Rows::F32 { values, .. } => values.get(i * dim..(i + 1) * dim).map(<[f32]>::to_vec),
        }
    }

    /// Keeps the rows for which `keep(row)` is true, in order.
    fn retain(&mut self, keep: &[bool]) {
        let dim = self.dim();
        fn filter<T: Copy>(v: &mut Vec<T>, dim: usize, keep: &[bool]) {
            let mut row = 0;
            let mut out = 0;
            while row * dim < v.len() {
                if keep.get(row).copied().unwrap_or(true) {
                    v.copy_within(row * dim..(row + 1) * dim, out * dim);
                    out += 1;
                }
                row += 1;
            }
            v.truncate(out * dim);
        }
        match self {
            Rows::F16 { bits, .. } => filter(bits, dim, keep),
            Rows::F32 { values, .. } => filter(values, dim, keep),
        }
    }

    /// `(row, cosine)` of the `k` rows most similar to `query`, best first (ties by row): every
    /// cosine, then a partial selection of the `k` best and a sort of those alone.
    pub fn top_k(&self, query: &[f32], k: usize) -> Vec<(usize, f32)> {
        let cosines = self.cosines(query);
        let mut order: Vec<usize> = (0..cosines.len()).collect();
        let better = |a: &usize, b: &usize| cosines[*b].total_cmp(&cosines[*a]).then(a.cmp(b));
        let k = k.min(order.len());
        if k == 0 {
            return Vec::new();
        }
        if k < order.len() {
            order.select_nth_unstable_by(k - 1, better);
            order.truncate(k);
        }
        order.sort_unstable_by(better);
        order.into_iter().map(|row| (row, cosines[row])).collect()
    }

    /// The cosine of every row with `query` (both L2-normalized), in row order.
    pub fn cosines(&self, query: &[f32]) -> Vec<f32> {
        use rayon::prelude::*;
        let dim = self.dim();
        if dim == 0 || query.len() != dim {
            return vec![0.0; self.len()];
        }
        // Rows per rayon task: enough work to be worth a thread.
        const CHUNK: usize = 4096;
        match self {
            Rows::F32 { values, .. } => values
                .par_chunks(dim * CHUNK)
                .flat_map_iter(|rows| rows.chunks_exact(dim).map(|r| dot(r, query)).collect::<Vec<_>>())
                .collect(),
            Rows::F16 { bits, .. } => bits
                .par_chunks(dim * CHUNK)
                .flat_map_iter(|rows| {
                    let mut row = vec![0f32; dim];
                    rows.chunks_exact(dim)
                        .map(|r| {
                            row.iter_mut().zip(r).for_each(|(d, b)| *d = f16_to_f32(*b));
                            dot(&row, query)
                        })
                        .collect::<Vec<_>>()
                })
                .collect(),
        }
    }
}

/// One measured search (see [`bench`]).
#[derive(Debug, Clone, Serialize)]
pub struct SearchTiming {
    pub rows: usize,
    pub dim: usize,
    pub dtype: &'static str,
    /// Time of one top-100 search, in milliseconds (median of the queries timed).
    pub ms_per_query: f64,
    /// Rows searched per second, in millions.
    pub mrows_per_second: f64,
    /// Memory the rows take, in MB.
    pub mb: f64,
}

/// Times exact top-100 search over `rows` random normalized rows of `dim`, stored as f32 and as
/// f16 (for `siglip bench-search` and the browser's `searchBench`), each for at least `min_ms`.
/// `now_ms` is the clock.
pub fn bench(now_ms: &dyn Fn() -> f64, rows: &[usize], dim: usize, min_ms: f64) -> Vec<SearchTiming> {
    let mut out = Vec::new();
    for &n in rows {
        for dtype in [RowDtype::F32, RowDtype::F16] {
            // Built a row at a time, so that only the rows timed are in memory; a size this
            // machine (or a 4 GB wasm memory) cannot hold is left out.
            let Some((stored, query)) = random_rows(n, dim, dtype) else { continue };
            let mut times = Vec::new();
            let started = now_ms();
            while times.is_empty() || (now_ms() - started < min_ms && times.len() < 1000) {
                let t0 = now_ms();
                std::hint::black_box(stored.top_k(&query, 100));
                times.push(now_ms() - t0);
            }
            times.sort_by(f64::total_cmp);
            let ms = times[times.len() / 2];
            let bytes = n * dim * if dtype == RowDtype::F16 { 2 } else { 4 };
            out.push(SearchTiming {
                rows: n,
                dim,
                dtype: dtype.name(),
                ms_per_query: ms,
                mrows_per_second: n as f64 / ms / 1e3,
                mb: bytes as f64 / 1e6,
            });
        }
    }
    out
}

/// `n` random normalized rows of `dim` stored as `dtype`, and the first as a query; `None` when
/// the memory cannot be had.
fn random_rows(n: usize, dim: usize, dtype: RowDtype) -> Option<(Rows, Vec<f32>)> {
    let mut rows = Rows::new(dtype, dim);
    rows.try_reserve(n)?;
    let mut query = Vec::new();
    for i in 0..n {
        let mut row = crate::kernels::bench::pseudo_random(dim, i as u32 + 1);
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        row.iter_mut().for_each(|x| *x /= norm);
        rows.push(&row);
        if i == 0 {
            query = row;
        }
    }
    Some((rows, query))
}

/// An f16's value: exact for every finite f16 (normal or subnormal) by one shift and one
/// multiplication by `2^112`, a loop the compiler vectorizes (`half`'s conversion does not, in
/// wasm). Infinities and NaN, which normalized embeddings never hold, come out finite.
#[inline(always)]
fn f16_to_f32(h: u16) -> f32 {
    let magnitude = f32::from_bits(((h & 0x7fff) as u32) << 13) * f32::from_bits(0x7780_0000);
    f32::from_bits(magnitude.to_bits() | (((h & 0x8000) as u32) << 16))
}

/// `Σ a·b` in eight interleaved lanes (vectorizes; a fixed order on every build).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for ((s, x), y) in acc.iter_mut().zip(x).zip(y) {
            *s += x * y;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// L2-normalizes `v` in place; an error for a zero or non-finite vector.
fn normalize(v: &mut [f32]) -> Result<()> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if !norm.is_finite() || norm == 0.0 {
        return Err(Error::Input("the query has no direction (a zero or non-finite embedding)".into()));
    }
    v.iter_mut().for_each(|x| *x /= norm);
    Ok(())
}

/// A search query from a text embedding, an image embedding or both: their sum, normalized
/// again (both are normalized, so each counts equally).
pub fn combine_query(text: Option<&[f32]>, image: Option<&[f32]>) -> Result<Vec<f32>> {
    let mut q = match (text, image) {
        (Some(t), Some(i)) if t.len() == i.len() => t.iter().zip(i).map(|(a, b)| a + b).collect(),
        (Some(_), Some(_)) => return Err(Error::Input("text and image embeddings differ in width".into())),
        (Some(v), None) | (None, Some(v)) => v.to_vec(),
        (None, None) => return Err(Error::Input("a search needs a text, an image or both".into())),
    };
    normalize(&mut q)?;
    Ok(q)
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// Row of the index (and index into its records).
    pub row: usize,
    pub id: String,
    /// Cosine between the query and the image embedding.
    pub cosine: f32,
    /// `exp(logit_scale) * cosine + logit_bias`.
    pub logit: f32,
    /// `sigmoid(logit)`, SigLIP's probability that the image matches a text query.
    pub score: f32,
}

/// An index: its model's identity, records and embeddings (and thumbnails' bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    pub identity: ModelIdentity,
    records: Vec<Record>,
    rows: Rows,
    /// Thumbnails back to back; records point into it.
    thumbnails: Vec<u8>,
    /// Row of each id.
    by_id: HashMap<String, usize>,
}

impl Index {
    /// An empty index for embeddings of this model, stored as `dtype`.
    pub fn new(identity: ModelIdentity, dtype: RowDtype) -> Self {
        let rows = Rows::new(dtype, identity.embedding_dim);
        Index { identity, records: Vec::new(), rows, thumbnails: Vec::new(), by_id: HashMap::new() }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn records(&self) -> &[Record] {
        &self.records
    }

    pub fn rows(&self) -> &Rows {
        &self.rows
    }

    /// The record with this id, and its row.
    pub fn get(&self, id: &str) -> Option<(usize, &Record)> {
        self.by_id.get(id).map(|&row| (row, &self.records[row]))
    }

    /// The embedding of the record with this id.
    pub fn embedding(&self, id: &str) -> Option<Vec<f32>> {
        self.by_id.get(id).and_then(|&row| self.rows.row(row))
    }

    /// The thumbnail of the record with this id, if it has one.
    pub fn thumbnail(&self, id: &str) -> Option<&[u8]> {
        let [at, len] = self.get(id)?.1.thumbnail?;
        self.thumbnails.get(usize::try_from(at).ok()?..usize::try_from(at + len).ok()?)
    }

    /// Adds an image (its record, embedding and optional thumbnail), or replaces the record of
    /// the same id. The embedding must be the model's width and normalized.
    pub fn insert(&mut self, mut record: Record, embedding: &[f32], thumbnail: Option<&[u8]>) -> Result<()> {
        if embedding.len() != self.identity.embedding_dim {
            return Err(Error::Input(format!(
                "an embedding of {} values for an index of {}-dimensional embeddings",
                embedding.len(),
                self.identity.embedding_dim
            )));
        }
        check_normalized(embedding, &record.id)?;
        check_record(&record)?;
        if let Some(bytes) = thumbnail {
            record.thumbnail = Some([self.thumbnails.len() as u64, bytes.len() as u64]);
            self.thumbnails.extend_from_slice(bytes);
        } else {
            record.thumbnail = None;
        }
        if self.by_id.contains_key(&record.id) {
            self.remove(std::slice::from_ref(&record.id));
        }
        self.by_id.insert(record.id.clone(), self.records.len());
        self.records.push(record);
        self.rows.push(embedding);
        Ok(())
    }

    /// Removes the records with these ids (unknown ids are ignored); returns how many went.
    /// Their thumbnails' bytes are dropped when the index is next written.
    pub fn remove(&mut self, ids: &[String]) -> usize {
        let gone: HashSet<&str> = ids.iter().map(String::as_str).filter(|id| self.by_id.contains_key(*id)).collect();
        if gone.is_empty() {
            return 0;
        }
        let keep: Vec<bool> = self.records.iter().map(|r| !gone.contains(r.id.as_str())).collect();
        self.rows.retain(&keep);
        let mut i = 0;
        self.records.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        self.by_id = self.records.iter().enumerate().map(|(row, r)| (r.id.clone(), row)).collect();
        keep.iter().filter(|k| !**k).count()
    }

    /// The `k` rows most similar to a normalized query, best first (ties by row).
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<Hit>> {
        if query.len() != self.identity.embedding_dim {
            return Err(Error::Input(format!(
                "a query of {} values for an index of {}-dimensional embeddings",
                query.len(),
                self.identity.embedding_dim
            )));
        }
        Ok(self
            .rows
            .top_k(query, k)
            .into_iter()
            .map(|(row, cosine)| {
                let logit = self.identity.logit(cosine);
                Hit { row, id: self.records[row].id.clone(), cosine, logit, score: sigmoid(logit) }
            })
            .collect())
    }

    /// The index as a file (see the module docs), embeddings stored as `dtype`.
    pub fn to_bytes(&self, dtype: RowDtype) -> Result<Vec<u8>> {
        let dim = self.identity.embedding_dim;
        let n = self.records.len();
        let embeddings: Vec<u8> = match (dtype, &self.rows) {
            (RowDtype::F16, Rows::F16 { bits, .. }) => bits.iter().flat_map(|b| b.to_le_bytes()).collect(),
            (RowDtype::F32, Rows::F32 { values, .. }) => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            (RowDtype::F16, rows) => (0..n)
                .filter_map(|i| rows.row(i))
                .flatten()
                .flat_map(|v| half::f16::from_f32(v).to_le_bytes())
                .collect(),
            (RowDtype::F32, rows) => (0..n).filter_map(|i| rows.row(i)).flatten().flat_map(f32::to_le_bytes).collect(),
        };
        // Thumbnails rewritten compactly (removed records' bytes dropped).
        let mut thumbs = Vec::new();
        let mut records = self.records.clone();
        for r in &mut records {
            if let Some([at, len]) = r.thumbnail {
                let range = usize::try_from(at).ok().zip(usize::try_from(at + len).ok());
                match range.and_then(|(a, b)| self.thumbnails.get(a..b)) {
                    Some(bytes) => {
                        r.thumbnail = Some([thumbs.len() as u64, len]);
                        thumbs.extend_from_slice(bytes);
                    }
                    None => r.thumbnail = None,
                }
            }
        }
        let records_json = serde_json::to_vec(&records).map_err(|e| Error::Index(format!("records: {e}")))?;
        let model = serde_json::to_string(&self.identity).map_err(|e| Error::Index(format!("model: {e}")))?;
        let tensor = |dtype, shape: Vec<usize>, data: Vec<u8>| Tensor { dtype, shape, data };
        let mut tensors = vec![
            (
                keys::EMBEDDINGS,
                tensor(if dtype == RowDtype::F16 { Dtype::F16 } else { Dtype::F32 }, vec![n, dim], embeddings),
            ),
            (keys::RECORDS, tensor(Dtype::U8, vec![records_json.len()], records_json)),
        ];
        if !thumbs.is_empty() {
            tensors.push((keys::THUMBNAILS, tensor(Dtype::U8, vec![thumbs.len()], thumbs)));
        }
        let meta: HashMap<String, String> = [
            (keys::FORMAT, INDEX_FORMAT.to_string()),
            (keys::VERSION, INDEX_VERSION.to_string()),
            (keys::MODEL, model),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        safetensors::serialize(tensors.iter().map(|(n, t)| (*n, t)), Some(meta))
            .map_err(|e| Error::Index(format!("could not write the index: {e}")))
    }

    /// Reads an index file, checking everything a reader relies on: the format and version,
    /// the model identity, one record per row of the model's width, unique ids, finite
    /// normalized rows, thumbnails inside their tensor.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| {
            Error::Index(format!("not a readable index file ({e}): it is truncated, corrupt or not an index"))
        })?;
        let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| Error::Index(format!("not a readable index file: {e}")))?;
        let meta = meta.metadata().clone().unwrap_or_default();
        match meta.get(keys::FORMAT).map(String::as_str) {
            Some(INDEX_FORMAT) => {}
            Some("siglip-web") => {
                return Err(Error::Index("this is a model file, not an index: give it as the model".into()))
            }
            _ => return Err(Error::Index(format!("not an index file (no `format: {INDEX_FORMAT}` metadata)"))),
        }
        match meta.get(keys::VERSION).map(String::as_str) {
            Some(INDEX_VERSION) => {}
            other => {
                return Err(Error::Index(format!(
                    "index format version {other:?} is not supported (this build reads version {INDEX_VERSION})"
                )))
            }
        }
        let identity: ModelIdentity = serde_json::from_str(
            meta.get(keys::MODEL).ok_or_else(|| Error::Index("the index does not say which model made it".into()))?,
        )
        .map_err(|e| Error::Index(format!("the index's model description could not be read: {e}")))?;
        let tensor = |name: &str| st.tensor(name).ok();
        let records = tensor(keys::RECORDS).ok_or_else(|| Error::Index("the index has no `records` tensor".into()))?;
        let records: Vec<Record> = serde_json::from_slice(records.data())
            .map_err(|e| Error::Index(format!("the index's records could not be read: {e}")))?;
        let emb =
            tensor(keys::EMBEDDINGS).ok_or_else(|| Error::Index("the index has no `embeddings` tensor".into()))?;
        let dim = identity.embedding_dim;
        if emb.shape() != [records.len(), dim] {
            return Err(Error::Index(format!(
                "embeddings of shape {:?} for {} records of {dim}-dimensional embeddings",
                emb.shape(),
                records.len()
            )));
        }
        let rows = match emb.dtype() {
            Dtype::F16 => {
                Rows::F16 { dim, bits: emb.data().chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect() }
            }
            Dtype::F32 => Rows::F32 {
                dim,
                values: emb.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            },
            other => return Err(Error::Index(format!("embeddings stored as {other:?}; expected F16 or F32"))),
        };
        let thumbnails = tensor(keys::THUMBNAILS).map(|t| t.data().to_vec()).unwrap_or_default();
        let mut by_id = HashMap::new();
        for (row, r) in records.iter().enumerate() {
            check_record(r)?;
            if by_id.insert(r.id.clone(), row).is_some() {
                return Err(Error::Index(format!("two records have the id {}", r.id)));
            }
            if let Some([at, len]) = r.thumbnail {
                if at.checked_add(len).is_none_or(|end| end > thumbnails.len() as u64) {
                    return Err(Error::Index(format!("the thumbnail of {} lies outside the thumbnails", r.name)));
                }
            }
            let v = rows.row(row).unwrap_or_default();
            check_normalized(&v, &r.id)?;
        }
        Ok(Index { identity, records, rows, thumbnails, by_id })
    }
}

fn check_record(r: &Record) -> Result<()> {
    let hex = r.sha256.len() == 64 && r.sha256.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
    if !hex || r.id != Record::id_of(&r.sha256) {
        return Err(Error::Index(format!(
            "the record of {:?} has a malformed sha256 or id ({:?}, {:?})",
            r.name, r.sha256, r.id
        )));
    }
    Ok(())
}

fn check_normalized(v: &[f32], id: &str) -> Result<()> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    // f16 rows are normalized to within their rounding.
    if !(norm - 1.0).abs().le(&1e-2) {
        return Err(Error::Index(format!("the embedding of {id} is not normalized (norm {norm})")));
    }
    Ok(())
}

struct Tensor {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Tensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(dim: usize) -> ModelIdentity {
        ModelIdentity {
            model_type: "siglip".into(),
            embedding_dim: dim,
            fingerprint: "sha256:00ff".into(),
            source: Some("test".into()),
            dtype: "q8".into(),
            image_size: 224,
            patch_size: 16,
            max_num_patches: None,
            logit_scale: 2.0,
            logit_bias: -1.0,
        }
    }

    fn record(n: u8) -> Record {
        let sha256 = format!("{:02x}", n).repeat(32);
        Record {
            id: Record::id_of(&sha256),
            name: format!("{n}.png"),
            path: Some(format!("dir/{n}.png")),
            size: 100 + n as u64,
            mtime_ms: Some(1.5e12),
            sha256,
            grid: [14, 14],
            thumbnail: None,
            extra: Default::default(),
        }
    }

    fn unit(dim: usize, seed: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim).map(|i| (((i + 1) * (seed + 3)) % 17) as f32 - 8.0).collect();
        normalize(&mut v).unwrap();
        v
    }

    #[test]
    fn f16_conversion_is_exact_for_every_finite_value() {
        for bits in 0..=u16::MAX {
            let h = half::f16::from_bits(bits);
            if h.is_finite() {
                assert_eq!(f16_to_f32(bits).to_bits(), h.to_f32().to_bits(), "{bits:#06x}");
            }
        }
    }

    #[test]
    fn search_ranks_by_cosine_and_scores_with_the_logit() {
        for dtype in [RowDtype::F32, RowDtype::F16] {
            let mut index = Index::new(identity(20), dtype);
            for n in 0..30u8 {
                index.insert(record(n), &unit(20, n as usize), Some(&[n; 3])).unwrap();
            }
            let q = unit(20, 7);
            let hits = index.search(&q, 5).unwrap();
            assert_eq!(hits[0].id, record(7).id);
            assert!((hits[0].cosine - 1.0).abs() < 1e-3);
            let mut want: Vec<(f32, usize)> = (0..30).map(|n| (dot(&unit(20, n), &q), n)).collect::<Vec<_>>();
            want.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for (h, (c, _)) in hits.iter().zip(&want) {
                assert!((h.cosine - c).abs() < 2e-3, "{dtype:?}");
                assert_eq!(h.logit, 2f32.exp() * h.cosine - 1.0);
                assert_eq!(h.score, sigmoid(h.logit));
            }
            assert_eq!(index.search(&q, 100).unwrap().len(), 30);
        }
    }

    #[test]
    fn files_round_trip_and_removed_thumbnails_are_dropped() {
        let mut index = Index::new(identity(8), RowDtype::F32);
        for n in 0..4u8 {
            index.insert(record(n), &unit(8, n as usize), Some(&[n; 5])).unwrap();
        }
        index.remove(&[record(1).id]);
        for dtype in [RowDtype::F32, RowDtype::F16] {
            let back = Index::from_bytes(&index.to_bytes(dtype).unwrap()).unwrap();
            assert_eq!(back.records().iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["0.png", "2.png", "3.png"]);
            assert_eq!(back.thumbnail(&record(3).id), Some(&[3u8; 5][..]));
            assert_eq!(back.thumbnails.len(), 15);
            assert_eq!(back.identity, index.identity);
            let e = back.embedding(&record(2).id).unwrap();
            assert!(e.iter().zip(unit(8, 2)).all(|(a, b)| (a - b).abs() < 1e-3));
        }
    }

    #[test]
    fn damaged_files_are_clear_errors() {
        let mut index = Index::new(identity(8), RowDtype::F16);
        index.insert(record(1), &unit(8, 1), None).unwrap();
        let bytes = index.to_bytes(RowDtype::F16).unwrap();
        for cut in [0, 7, 8, 40, bytes.len() - 1] {
            let err = Index::from_bytes(&bytes[..cut]).unwrap_err();
            assert!(matches!(err, Error::Index(_)), "{cut}: {err}");
        }
        assert!(index.insert(record(2), &[1.0; 7], None).is_err(), "wrong width");
        assert!(index.insert(record(2), &[0.0; 8], None).is_err(), "not normalized");
        let mut bad = record(3);
        bad.id = "nothex".into();
        assert!(index.insert(bad, &unit(8, 3), None).is_err());
    }

    #[test]
    fn another_model_is_refused() {
        let a = identity(8);
        let mut b = a.clone();
        b.dtype = "f32".into();
        assert!(a.check_same_model(&b).is_ok(), "another dtype of the same checkpoint");
        b.fingerprint = "sha256:1234".into();
        let err = a.check_same_model(&b).unwrap_err();
        assert!(matches!(err, Error::ModelMismatch(_)) && err.to_string().contains("1234"), "{err}");
    }

    #[test]
    fn queries_combine_text_and_image() {
        let (t, i) = (unit(8, 1), unit(8, 2));
        let q = combine_query(Some(&t), Some(&i)).unwrap();
        assert!((dot(&q, &q) - 1.0).abs() < 1e-6);
        assert!((dot(&q, &t) - dot(&q, &i)).abs() < 1e-6, "both count equally");
        assert_eq!(combine_query(Some(&t), None).unwrap(), t);
        assert!(combine_query(None, None).is_err());
    }
}
