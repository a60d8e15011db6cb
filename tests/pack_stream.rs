//! `PackStream`: a checkpoint converted while its bytes arrive gives the same packed file as
//! `siglip quantize` (`format::pack`), in any chunking, within a bounded peak of memory; a
//! truncated, overlong or garbled stream is a clear error.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use siglip::pack_stream::PackStream;
use siglip::weights::Weights;
use siglip::{format, Error, Siglip, StorageDtype};

/// Counts live heap bytes and their peak, to bound the converter's memory.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The counters are global: the tests of this file take turns, so that one's peak is its own.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const DTYPES: [StorageDtype; 4] = [StorageDtype::F32, StorageDtype::F16, StorageDtype::Q8, StorageDtype::Q4];

fn stream(f: &HfFiles, dtype: StorageDtype, chunk: usize) -> siglip::Result<Vec<u8>> {
    let mut s = PackStream::new(dtype, &f.config, f.preprocessor.as_deref(), f.tokenizer())?;
    for piece in f.weights.chunks(chunk) {
        s.push(piece)?;
    }
    s.finish()
}

/// What `siglip quantize` writes for the checkpoint at `dtype`.
fn packed(f: &HfFiles, dtype: StorageDtype) -> Vec<u8> {
    format::pack(&Weights::parse(&f.weights).unwrap(), dtype, &f.config, f.preprocessor.as_deref(), f.tokenizer())
        .unwrap()
}

/// The same tensors (name, dtype, shape, bytes) and the same metadata.
fn assert_same_file(a: &[u8], b: &[u8], what: &str) {
    let (wa, wb) = (Weights::parse(a).unwrap(), Weights::parse(b).unwrap());
    let (mut na, mut nb) = (wa.names(), wb.names());
    na.sort();
    nb.sort();
    assert_eq!(na, nb, "{what}: tensor names");
    let (sa, sb) =
        (safetensors::SafeTensors::deserialize(a).unwrap(), safetensors::SafeTensors::deserialize(b).unwrap());
    for name in na {
        let (ta, tb) = (sa.tensor(name).unwrap(), sb.tensor(name).unwrap());
        assert_eq!((ta.dtype(), ta.shape()), (tb.dtype(), tb.shape()), "{what}: {name}");
        assert!(ta.data() == tb.data(), "{what}: bytes of {name}");
    }
    let (ma, mb) =
        (safetensors::SafeTensors::read_metadata(a).unwrap().1, safetensors::SafeTensors::read_metadata(b).unwrap().1);
    assert_eq!(ma.metadata(), mb.metadata(), "{what}: metadata");
}

#[test]
fn streamed_conversion_equals_pack_in_any_chunking() {
    let _turn = serial();
    for name in MODELS {
        let f = hf_files(name);
        let w = Weights::parse(&f.weights).unwrap();
        for dtype in DTYPES {
            let want = format::pack(&w, dtype, &f.config, f.preprocessor.as_deref(), f.tokenizer()).unwrap();
            for chunk in [1, 7, 4096, 65_537, f.weights.len()] {
                let got = stream(&f, dtype, chunk).unwrap();
                assert_same_file(&want, &got, &format!("{name} {} chunk {chunk}", dtype.name()));
            }
            // And it is a model: the same embeddings as the packed file's.
            let got = stream(&f, dtype, 4096).unwrap();
            let (a, b) = (Siglip::from_packed(&want).unwrap(), Siglip::from_packed(&got).unwrap());
            let texts = vec!["a photo of a cat".to_string()];
            assert_eq!(a.embed_texts(&texts).unwrap(), b.embed_texts(&texts).unwrap(), "{name} {dtype:?}");
        }
    }
}

#[test]
fn peak_memory_is_the_packed_file_plus_about_two_tensors() {
    let _turn = serial();
    let f = hf_files("tiny-224");
    let st = safetensors::SafeTensors::deserialize(&f.weights).unwrap();
    let largest = st.tensors().iter().map(|(_, v)| v.data().len()).max().unwrap();
    for dtype in DTYPES {
        let mut s = PackStream::new(dtype, &f.config, f.preprocessor.as_deref(), f.tokenizer()).unwrap();
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        for piece in f.weights.chunks(16 * 1024) {
            s.push(piece).unwrap();
        }
        let peak = PEAK.load(Ordering::Relaxed) - base;
        let packed = s.packed_len();
        // The packed buffer; one tensor's input bytes and its f32 values (or its values and their
        // encoding); the header being written (its metadata, the tokenizer mostly, a few times).
        let header = u64::from_le_bytes(f.weights[..8].try_into().unwrap()) as usize;
        let meta =
            f.tokenizer_json.len() + f.spiece_model.as_ref().map_or(0, Vec::len) * 4 / 3 + f.config.len() + header;
        let bound = packed + 2 * largest + 4 * meta + 64 * 1024;
        eprintln!(
            "{}: peak {peak} bytes while converting = packed {packed} + {} (largest tensor {largest} bytes)",
            dtype.name(),
            peak as i64 - packed as i64
        );
        assert!(peak <= bound, "{}: peak {peak} > {bound}", dtype.name());
        s.finish().unwrap();
    }
}

#[test]
fn bad_streams_are_clear_errors() {
    let _turn = serial();
    let f = hf_files("tiny-224");
    let weights = f.weights.clone();
    let run = |bytes: &[u8]| {
        let mut s = PackStream::new(StorageDtype::Q8, &f.config, f.preprocessor.as_deref(), f.tokenizer()).unwrap();
        s.push(bytes).and_then(|_| s.finish()).map(|_| ())
    };
    // Truncated anywhere: in the length, the header, or the data.
    for cut in [3, 20, weights.len() / 2, weights.len() - 1] {
        let err = run(&weights[..cut]).unwrap_err();
        assert!(matches!(err, Error::Weights(_)) && err.to_string().contains("truncated"), "cut {cut}: {err}");
    }
    let mut longer = weights.clone();
    longer.push(0);
    assert!(run(&longer).unwrap_err().to_string().contains("more bytes than its header"));
    // Not a safetensors file at all: an HTML error page.
    let err = run(b"<!doctype html><html><body>Not found</body></html>").unwrap_err();
    assert!(matches!(err, Error::Weights(_)), "{err}");
    // A header whose offsets do not fit the shapes.
    let header = br#"{"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#;
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header);
    file.extend_from_slice(&[0; 12]);
    assert!(run(&file).unwrap_err().to_string().contains("do not fit shape"));
    // A zero-length header (it used to spin forever) and absurd sizes.
    assert!(run(&[0u8; 16]).unwrap_err().to_string().contains("0-byte header"));
    let huge = br#"{"a":{"dtype":"F16","shape":[4611686018427387904],"data_offsets":[0,9223372036854775808]}}"#;
    let mut file = (huge.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(huge);
    assert!(matches!(run(&file), Err(Error::Weights(_))));
    // After an error every call fails with it: nothing is half-converted and then resumed.
    let mut s = PackStream::new(StorageDtype::Q8, &f.config, f.preprocessor.as_deref(), f.tokenizer()).unwrap();
    assert!(s.push(b"<!doctype html>").is_err());
    let again = s.push(&weights).unwrap_err().to_string();
    assert!(again.contains("already failed"), "{again}");
    // A config that is not SigLIP fails before any weight.
    let err = PackStream::new(StorageDtype::Q8, r#"{"model_type": "bert"}"#, None, f.tokenizer()).err().unwrap();
    assert!(matches!(err, Error::Config(_)), "{err}");
    // A new stream of the whole file then gives what `siglip quantize` writes.
    assert_same_file(
        &packed(&f, StorageDtype::Q8),
        &stream(&f, StorageDtype::Q8, 4096).unwrap(),
        "after the bad streams",
    );
}

/// The fixture's tensors split into two safetensors files, as a sharded checkpoint stores them.
fn shards(weights: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let st = safetensors::SafeTensors::deserialize(weights).unwrap();
    let mut tensors = st.tensors();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let half = tensors.len() / 2;
    let write = |part: &[(String, safetensors::tensor::TensorView<'_>)]| {
        safetensors::serialize(part.iter().map(|(n, v)| (n.clone(), v.clone())), None).unwrap()
    };
    (write(&tensors[..half]), write(&tensors[half..]))
}

#[test]
fn sharded_checkpoints_convert_to_the_same_file() {
    let _turn = serial();
    for name in MODELS {
        let f = hf_files(name);
        let (a, b) = shards(&f.weights);
        for dtype in [StorageDtype::Q8, StorageDtype::F32] {
            let want = format::pack(
                &Weights::parse(&f.weights).unwrap(),
                dtype,
                &f.config,
                f.preprocessor.as_deref(),
                f.tokenizer(),
            )
            .unwrap();
            let mut s = PackStream::new(dtype, &f.config, f.preprocessor.as_deref(), f.tokenizer()).unwrap();
            // Only the start of each file is needed for its header.
            s.add_shard_header(&a[..a.len().min(64 * 1024)]).unwrap();
            s.add_shard_header(&b).unwrap();
            // Shard 1 first, and shard 0 begun twice (a restarted download).
            s.begin_shard(1).unwrap();
            for piece in b.chunks(5000) {
                s.push(piece).unwrap();
            }
            s.begin_shard(0).unwrap();
            s.push(&a[..a.len() / 3]).unwrap();
            s.begin_shard(0).unwrap();
            for piece in a.chunks(3001) {
                s.push(piece).unwrap();
            }
            assert_same_file(&want, &s.finish().unwrap(), &format!("{name} {} sharded", dtype.name()));
        }
    }
}

#[test]
fn bad_shards_are_clear_errors() {
    let _turn = serial();
    let f = hf_files("tiny-224");
    let (a, b) = shards(&f.weights);
    let new = || PackStream::new(StorageDtype::Q8, &f.config, f.preprocessor.as_deref(), f.tokenizer()).unwrap();
    // A shard never streamed: finish names a missing tensor.
    let mut s = new();
    s.add_shard_header(&a).unwrap();
    s.add_shard_header(&b).unwrap();
    s.begin_shard(0).unwrap();
    s.push(&a).unwrap();
    let err = s.finish().unwrap_err().to_string();
    assert!(err.contains("truncated (shard 1)") && err.contains("is missing"), "{err}");
    // One tensor in two shards.
    let mut s = new();
    s.add_shard_header(&a).unwrap();
    s.add_shard_header(&a).unwrap();
    assert!(s.begin_shard(0).unwrap_err().to_string().contains("appears in two shards"));
    // Data before begin_shard, an unknown shard, a truncated header.
    let mut s = new();
    s.add_shard_header(&a).unwrap();
    assert!(matches!(s.push(&a[..10]), Err(Error::Input(_))));
    assert!(s.begin_shard(5).is_err());
    assert!(new().add_shard_header(&a[..12]).is_err());
    // Both shards, each begun before its data: what `siglip quantize` writes.
    let mut s = new();
    s.add_shard_header(&a).unwrap();
    s.add_shard_header(&b).unwrap();
    for (i, shard) in [&a, &b].into_iter().enumerate() {
        s.begin_shard(i).unwrap();
        s.push(shard).unwrap();
    }
    assert_same_file(&packed(&f, StorageDtype::Q8), &s.finish().unwrap(), "after the bad shards");
}

#[test]
fn empty_tensors_at_the_end_complete_without_more_bytes() {
    let _turn = serial();
    let f = hf_files("tiny-224");
    let st = safetensors::SafeTensors::deserialize(&f.weights).unwrap();
    // The checkpoint plus an empty tensor, which sorts last in the data (offsets [end, end]).
    let mut tensors: Vec<(String, safetensors::tensor::TensorView<'_>)> = st.tensors();
    let empty = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![0, 4], &[]).unwrap();
    tensors.push(("zz_empty.weight".into(), empty));
    let bytes = safetensors::serialize(tensors.iter().map(|(n, v)| (n.clone(), v.clone())), None).unwrap();
    let mut s = PackStream::new(StorageDtype::Q8, &f.config, f.preprocessor.as_deref(), f.tokenizer()).unwrap();
    s.push(&bytes).unwrap();
    assert!(Siglip::from_packed(&s.finish().unwrap()).is_ok());
}

/// The converter accepts exactly the checkpoints the loader accepts (one validation,
/// `checkpoint_parts`): a NaFlex checkpoint whose tokenizer config names no class loads with
/// `Siglip2Tokenizer`, as transformers does for `model_type` `siglip2`, and streams the same
/// file; a tokenizer larger than the model's vocabulary is refused by both, before any weight.
#[test]
fn the_converter_validates_a_checkpoint_as_the_loader_does() {
    let _turn = serial();
    let mut f = hf_files("tiny-siglip2-naflex");
    let mut config: serde_json::Value = serde_json::from_str(&f.tokenizer_config).unwrap();
    config.as_object_mut().unwrap().remove("tokenizer_class");
    f.tokenizer_config = config.to_string();
    Siglip::from_hf(&f.config, f.preprocessor.as_deref(), f.tokenizer(), &f.weights).unwrap();
    assert_same_file(&packed(&f, StorageDtype::Q8), &stream(&f, StorageDtype::Q8, 4096).unwrap(), "no class");

    let mut f = hf_files("tiny-224");
    let mut model: serde_json::Value = serde_json::from_str(&f.config).unwrap();
    model["text_config"]["vocab_size"] = 100.into();
    f.config = model.to_string();
    let loaded = Siglip::from_hf(&f.config, f.preprocessor.as_deref(), f.tokenizer(), &f.weights).err().unwrap();
    let streamed =
        PackStream::new(StorageDtype::Q8, &f.config, f.preprocessor.as_deref(), f.tokenizer()).err().unwrap();
    assert!(matches!(streamed, Error::Tokenizer(_)), "{streamed}");
    assert_eq!(loaded.to_string(), streamed.to_string());
}
