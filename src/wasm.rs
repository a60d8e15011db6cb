//! The browser facade: the only code that knows about JavaScript. Bytes and plain arrays
//! cross the boundary; results come back as JSON strings or `Float32Array`s; every error is
//! a real JS `Error` whose `name` says what kind it is (see [`crate::Error::kind`]).

use std::sync::Arc;

use js_sys::{Float32Array, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::index::{combine_query, Index, Record, RowDtype};
use crate::pack_stream::PackStream;
use crate::preprocess;
use crate::tokenizer::TokenizerFiles;
use crate::{Classifier, Error, Siglip, StorageDtype, TextMasking};

fn js_error(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name(e.kind());
    err.into()
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, JsValue> {
    serde_json::to_string(value).map_err(|e| js_error(Error::Input(format!("could not serialize: {e}"))))
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Whether this build uses 128-bit SIMD (it must: candle falls back to scalar code without).
#[wasm_bindgen(js_name = simdEnabled)]
pub fn simd_enabled() -> bool {
    cfg!(target_feature = "simd128")
}

/// The rayon pool of the `threads` build: `await initThreadPool(n)` once, right after `init()`,
/// from a Web Worker (the pool's workers share this instance's memory). Other builds run rayon
/// work inline on the calling thread.
/// (Re-exported for the record: wasm-bindgen exports it from its own crate either way.)
#[cfg(feature = "threads")]
#[allow(unused_imports)]
pub use wasm_bindgen_rayon::init_thread_pool;

/// Which variant of the wasm this is, as JSON `{variant, simd, threads}`: `variant` is
/// `"simd128"`, `"relaxed"` (simd128 + relaxed SIMD), `"threads"` (relaxed SIMD, atomics, a
/// rayon pool of Web Workers) or `"threads-simd128"` (the same pool on simd128, for engines
/// without relaxed SIMD); `simd` is the instruction set the matrix kernels were built for;
/// `threads` is the size of the rayon pool (1 in the single-threaded builds). In the threaded
/// builds call it only after `initThreadPool`: asking rayon first would make its default pool.
#[wasm_bindgen(js_name = buildInfo)]
pub fn build_info() -> String {
    let relaxed = cfg!(target_feature = "relaxed-simd");
    let simd = if relaxed { "relaxed" } else { "simd128" };
    let variant = match (cfg!(feature = "threads"), relaxed) {
        (true, true) => "threads",
        (true, false) => "threads-simd128",
        (false, _) => simd,
    };
    serde_json::json!({ "variant": variant, "simd": simd, "threads": rayon::current_num_threads() }).to_string()
}

/// The instance's memory (a `WebAssembly.Memory`; shared in the `threads` build, where it is
/// imported rather than exported).
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// Memory inside the wasm instance that a model file is downloaded into, so that the file
/// exists once: JS writes the chunks straight into it and [`Model::from_buffer`] uses the
/// quantized weights in place.
#[wasm_bindgen]
pub struct ModelBuffer {
    bytes: Vec<u8>,
}

#[wasm_bindgen]
impl ModelBuffer {
    /// Allocates `len` zeroed bytes, or fails with a clear error when memory is short.
    #[wasm_bindgen(constructor)]
    pub fn new(len: usize) -> Result<ModelBuffer, JsValue> {
        let mut bytes = Vec::new();
        bytes.try_reserve_exact(len).map_err(|_| {
            js_error(Error::Memory(format!("not enough memory for a {:.0} MB model file", len as f64 / 1e6)))
        })?;
        bytes.resize(len, 0);
        Ok(ModelBuffer { bytes })
    }

    /// Address of the first byte in the instance's memory.
    pub fn ptr(&self) -> usize {
        self.bytes.as_ptr() as usize
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    #[wasm_bindgen(js_name = isEmpty)]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// A Hugging Face `model.safetensors` converted to a packed file while it downloads (see
/// [`crate::pack_stream`]): `push` each chunk in order, then `finish` gives the packed file in
/// a [`ModelBuffer`], ready for [`Model::from_buffer`] (and for the cache).
#[wasm_bindgen]
pub struct Converter {
    inner: Option<PackStream>,
}

#[wasm_bindgen]
impl Converter {
    /// A converter to `dtype` (`q8`, `q4`, `f16`, `f32`) for a checkpoint with these files; a
    /// wrong config or tokenizer fails here, before any weight is downloaded.
    #[wasm_bindgen(constructor)]
    pub fn new(
        dtype: &str,
        config_json: &str,
        preprocessor_json: Option<String>,
        spiece_model: Option<Vec<u8>>,
        tokenizer_json: Option<Vec<u8>>,
        tokenizer_config: Option<Vec<u8>>,
    ) -> Result<Converter, JsValue> {
        let dtype = StorageDtype::parse(dtype).map_err(js_error)?;
        let tokenizer = TokenizerFiles {
            spiece_model: spiece_model.as_deref(),
            tokenizer_json: tokenizer_json.as_deref(),
            tokenizer_config: tokenizer_config.as_deref(),
        };
        let inner = PackStream::new(dtype, config_json, preprocessor_json.as_deref(), tokenizer).map_err(js_error)?;
        Ok(Converter { inner: Some(inner) })
    }

    /// A sharded checkpoint: the first bytes of one more shard file (its header), in order.
    #[wasm_bindgen(js_name = addShardHeader)]
    pub fn add_shard_header(&mut self, bytes: &[u8]) -> Result<(), JsValue> {
        self.stream()?.add_shard_header(bytes).map_err(js_error)
    }

    /// A sharded checkpoint: the bytes pushed next are shard `index`'s file, from its start.
    #[wasm_bindgen(js_name = beginShard)]
    pub fn begin_shard(&mut self, index: usize) -> Result<(), JsValue> {
        self.stream()?.begin_shard(index).map_err(js_error)
    }

    /// Takes the next bytes of `model.safetensors` (or of the shard begun).
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), JsValue> {
        self.stream()?.push(chunk).map_err(js_error)
    }

    /// Size of the packed file (0 until the checkpoint's header has arrived).
    #[wasm_bindgen(js_name = packedLength)]
    pub fn packed_length(&self) -> usize {
        self.inner.as_ref().map_or(0, PackStream::packed_len)
    }

    /// The packed file, once the whole checkpoint has arrived (the converter is then spent).
    pub fn finish(&mut self) -> Result<ModelBuffer, JsValue> {
        let inner =
            self.inner.take().ok_or_else(|| js_error(Error::Input("the converter was already finished".into())))?;
        Ok(ModelBuffer { bytes: inner.finish().map_err(js_error)? })
    }

    fn stream(&mut self) -> Result<&mut PackStream, JsValue> {
        self.inner.as_mut().ok_or_else(|| js_error(Error::Input("the converter was already finished".into())))
    }
}

/// A loaded model with its label-embedding cache.
#[wasm_bindgen]
pub struct Model {
    classifier: Classifier,
    /// The packed file, kept whole until `releaseFile` (for the cache write after the load).
    file: Option<Arc<Vec<u8>>>,
    /// The grid of patches of the last image embedded (`imageGrid`).
    grid: std::cell::Cell<(usize, usize)>,
}

#[wasm_bindgen]
impl Model {
    /// Loads a packed model file already written into a [`ModelBuffer`] (consumed). With
    /// `keep_file`, the file's bytes stay in place and readable (`filePtr`, `fileLen`) until
    /// `releaseFile`, so the page can cache them after the model is up; matrices a load copies
    /// (f32 files) would otherwise let them go at once.
    #[wasm_bindgen(js_name = fromBuffer)]
    pub fn from_buffer(buffer: ModelBuffer, keep_file: bool) -> Result<Model, JsValue> {
        let bytes = Arc::new(buffer.bytes);
        let siglip = Siglip::from_packed_shared(&bytes).map_err(js_error)?;
        Ok(Model { classifier: Classifier::new(siglip), file: keep_file.then_some(bytes), grid: Default::default() })
    }

    /// Address of the kept file in the instance's memory (0 once released or never kept).
    #[wasm_bindgen(js_name = filePtr)]
    pub fn file_ptr(&self) -> usize {
        self.file.as_ref().map_or(0, |f| f.as_ptr() as usize)
    }

    /// Length of the kept file (0 once released or never kept).
    #[wasm_bindgen(js_name = fileLen)]
    pub fn file_len(&self) -> usize {
        self.file.as_ref().map_or(0, |f| f.len())
    }

    /// Lets the kept file go: bytes no matrix uses are freed.
    #[wasm_bindgen(js_name = releaseFile)]
    pub fn release_file(&mut self) {
        self.file = None;
    }

    /// `{dtype, model_type, image_size, max_num_patches, patch_size, embedding_dim, text_max_len,
    /// vocab_size, weight_bytes}` as JSON.
    pub fn info(&self) -> Result<String, JsValue> {
        to_json(&self.classifier.siglip().info())
    }

    /// Sets the label template (`{}` marks the label).
    #[wasm_bindgen(js_name = setTemplate)]
    pub fn set_template(&mut self, template: &str) -> Result<(), JsValue> {
        self.classifier.set_template(template).map_err(js_error)
    }

    /// `true`: mask text padding; `false`: attend to it; `undefined`: as the transformers
    /// pipeline does for this checkpoint (the default: masked only when its tokenizer returns an
    /// attention mask).
    #[wasm_bindgen(js_name = setTextMasking)]
    pub fn set_text_masking(&mut self, masked: Option<bool>) {
        let masking = match masked {
            Some(true) => TextMasking::Padding,
            Some(false) => TextMasking::None,
            None => self.classifier.siglip().pipeline_text_masking(),
        };
        self.classifier.set_text_masking(masking);
    }

    /// L2-normalized embeddings of texts used verbatim (cached), concatenated.
    #[wasm_bindgen(js_name = embedTexts)]
    pub fn embed_texts(&mut self, texts: Vec<String>) -> Result<Float32Array, JsValue> {
        for t in &texts {
            crate::classifier::check_label(t).map_err(js_error)?;
        }
        let rows = self.classifier.text_embeddings(&texts).map_err(js_error)?;
        Ok(Float32Array::from(rows.concat().as_slice()))
    }

    /// L2-normalized embedding of encoded image bytes (JPEG, PNG, WebP, GIF).
    #[wasm_bindgen(js_name = embedImageBytes)]
    pub fn embed_image_bytes(&self, bytes: &[u8]) -> Result<Float32Array, JsValue> {
        self.embed(&preprocess::decode(bytes).map_err(js_error)?)
    }

    /// L2-normalized embedding of RGBA pixels (an `ImageData`'s `data`).
    #[wasm_bindgen(js_name = embedImageRgba)]
    pub fn embed_image_rgba(&self, width: usize, height: usize, rgba: &[u8]) -> Result<Float32Array, JsValue> {
        self.embed(&preprocess::from_rgba(width, height, rgba).map_err(js_error)?)
    }

    fn embed(&self, img: &preprocess::Rgb8) -> Result<Float32Array, JsValue> {
        let siglip = self.classifier.siglip();
        let (e, grid) = siglip.embed_image_grid(img).map_err(js_error)?;
        self.grid.set(grid);
        Ok(Float32Array::from(e.as_slice()))
    }

    /// `[rows, columns]`: the grid of patches of the last image embedded (NaFlex: the image's
    /// own, within the patch budget; otherwise the model's fixed grid).
    #[wasm_bindgen(js_name = imageGrid)]
    pub fn image_grid(&self) -> Vec<usize> {
        let (rows, cols) = self.grid.get();
        vec![rows, cols]
    }

    /// NaFlex: the patch budget per image (`undefined`: the checkpoint's `max_num_patches`).
    /// Fixed-resolution models ignore it.
    #[wasm_bindgen(js_name = setMaxNumPatches)]
    pub fn set_max_num_patches(&mut self, patches: Option<usize>) -> Result<(), JsValue> {
        let siglip = self.classifier.siglip_mut();
        let default = siglip.preprocess_config().max_num_patches;
        match patches.or(default) {
            Some(n) => siglip.set_max_num_patches(n).map_err(js_error),
            None => Ok(()),
        }
    }

    /// Scores labels (templated, cached) for an image embedding: JSON `[{label, score, logit}]`,
    /// highest score first.
    pub fn classify(&mut self, image_embedding: &[f32], labels: Vec<String>) -> Result<String, JsValue> {
        let r = self.classifier.classify_embedding(image_embedding, &labels).map_err(js_error)?;
        to_json(&r)
    }

    /// Ranks images (embeddings concatenated) for a text query: JSON `[{index, score, logit}]`.
    pub fn rank(&mut self, query: &str, image_embeddings: &[f32]) -> Result<String, JsValue> {
        let dim = self.classifier.siglip().embedding_dim();
        if !image_embeddings.len().is_multiple_of(dim) {
            return Err(js_error(Error::Input(format!("image embeddings must be a multiple of {dim} values"))));
        }
        let images: Vec<Vec<f32>> = image_embeddings.chunks(dim).map(<[f32]>::to_vec).collect();
        let r = self.classifier.rank(query, &images).map_err(js_error)?;
        to_json(&r)
    }

    /// Number of cached text embeddings (bounded by `TEXT_CACHE_CAPACITY`; the worker's `stats`).
    #[wasm_bindgen(js_name = cachedTexts)]
    pub fn cached_texts(&self) -> usize {
        self.classifier.cached_texts()
    }
}

/// A retrieval library in the worker: image embeddings (f16 rows, searched in place), their
/// records and the model's identity, as an index file holds them (see [`crate::index`]).
#[wasm_bindgen]
pub struct Library {
    index: Index,
}

#[wasm_bindgen]
impl Library {
    /// An empty library for `model`'s image embeddings; `source` says where the model came
    /// from (`hf:owner/name@commit` or a URL), for people and for the exported file. Rows are
    /// kept as `rows` (`f16`, the default: half the memory, or `f32`).
    #[wasm_bindgen(constructor)]
    pub fn new(model: &Model, source: Option<String>, rows: Option<String>) -> Result<Library, JsValue> {
        let dtype = RowDtype::parse(rows.as_deref().unwrap_or("f16")).map_err(js_error)?;
        Ok(Library { index: Index::new(model.classifier.siglip().identity(source), dtype) })
    }

    /// An index file's contents, refused (`ModelMismatchError`) unless `model` made it: a
    /// library of its records, embeddings and thumbnails.
    #[wasm_bindgen(js_name = fromFile)]
    pub fn from_file(model: &Model, bytes: &[u8]) -> Result<Library, JsValue> {
        let index = Index::from_bytes(bytes).map_err(js_error)?;
        model.classifier.siglip().identity(None).check_same_model(&index.identity).map_err(js_error)?;
        Ok(Library { index })
    }

    /// The model's identity (the index file's `model` metadata) as JSON.
    pub fn identity(&self) -> Result<String, JsValue> {
        to_json(&self.index.identity)
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    #[wasm_bindgen(js_name = isEmpty)]
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Adds (or replaces) an image: its record as JSON (`docs/index-format.md`), its
    /// normalized embedding, and optionally its thumbnail's bytes.
    pub fn insert(&mut self, record: &str, embedding: &[f32], thumbnail: Option<Vec<u8>>) -> Result<(), JsValue> {
        let record: Record = serde_json::from_str(record)
            .map_err(|e| js_error(Error::Index(format!("a record could not be read: {e}"))))?;
        self.index.insert(record, embedding, thumbnail.as_deref()).map_err(js_error)
    }

    /// Removes the images with these ids; returns how many there were.
    pub fn remove(&mut self, ids: Vec<String>) -> usize {
        self.index.remove(&ids)
    }

    /// Every record, in row order, as a JSON array.
    pub fn records(&self) -> Result<String, JsValue> {
        to_json(&self.index.records())
    }

    /// The embedding of the image with this id.
    pub fn embedding(&self, id: &str) -> Option<Float32Array> {
        self.index.embedding(id).map(|e| Float32Array::from(e.as_slice()))
    }

    /// The thumbnail bytes of the image with this id (from an imported file).
    pub fn thumbnail(&self, id: &str) -> Option<Uint8Array> {
        self.index.thumbnail(id).map(Uint8Array::from)
    }

    /// The `k` best matches for a normalized query: JSON `[{row, id, cosine, logit, score}]`.
    pub fn search(&self, query: &[f32], k: usize) -> Result<String, JsValue> {
        to_json(&self.index.search(query, k).map_err(js_error)?)
    }

    /// The library as an index file, embeddings stored as `dtype` (`f16` or `f32`).
    #[wasm_bindgen(js_name = toFile)]
    pub fn to_file(&self, dtype: &str) -> Result<Vec<u8>, JsValue> {
        self.index.to_bytes(RowDtype::parse(dtype).map_err(js_error)?).map_err(js_error)
    }
}

/// A search query from a text embedding, an image embedding or both (their normalized sum).
#[wasm_bindgen(js_name = combineQuery)]
pub fn combine_query_js(text: Option<Vec<f32>>, image: Option<Vec<f32>>) -> Result<Float32Array, JsValue> {
    let q = combine_query(text.as_deref(), image.as_deref()).map_err(js_error)?;
    Ok(Float32Array::from(q.as_slice()))
}

/// The q8 kernel micro-benchmark at SigLIP-base shapes (see `kernels::bench`): JSON
/// `[{kernel, precision, m, k, n, ms_per_call, gmacs}]`, each shape timed for `min_ms`.
#[wasm_bindgen(js_name = kernelBench)]
pub fn kernel_bench(min_ms: f64) -> Result<String, JsValue> {
    let rows = crate::kernels::bench::run(&now_ms, min_ms).map_err(js_error)?;
    to_json(&rows)
}

/// Exact top-100 search over `rows` random rows of `dim` (f32 and f16), each timed for `min_ms`:
/// JSON `[{rows, dim, dtype, ms_per_query, mrows_per_second, mb}]` (see `index::bench`).
#[wasm_bindgen(js_name = searchBench)]
pub fn search_bench(rows: Vec<usize>, dim: usize, min_ms: f64) -> Result<String, JsValue> {
    to_json(&crate::index::bench(&now_ms, &rows, dim, min_ms))
}

/// Starts (clearing earlier figures) or stops the per-operation profile (see `profile`).
#[wasm_bindgen(js_name = setProfiling)]
pub fn set_profiling(on: bool) {
    match on {
        true => crate::profile::start(now_ms),
        false => crate::profile::stop(),
    }
}

/// `performance.now()` of the global (window or worker), else `Date.now()`: the clock of the
/// profile and the kernel benchmark.
fn now_ms() -> f64 {
    let global = js_sys::global();
    let perf = js_sys::Reflect::get(&global, &"performance".into()).ok();
    let now = perf.as_ref().and_then(|p| js_sys::Reflect::get(p, &"now".into()).ok());
    match (perf, now.and_then(|f| f.dyn_into::<js_sys::Function>().ok())) {
        (Some(p), Some(f)) => f.call0(&p).ok().and_then(|v| v.as_f64()).unwrap_or_else(js_sys::Date::now),
        _ => js_sys::Date::now(),
    }
}

/// The profile so far as JSON `[[op, ms, calls]]`, largest first; clears it.
#[wasm_bindgen(js_name = takeProfile)]
pub fn take_profile() -> Result<String, JsValue> {
    to_json(&crate::profile::take())
}
