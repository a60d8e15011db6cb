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

const DTYPES: [StorageDtype; 4] = [StorageDtype::F32, StorageDtype::F16, StorageDtype::Q8, StorageDtype::Q4];

fn stream(f: &HfFiles, dtype: StorageDtype, chunk: usize) -> siglip::Result<Vec<u8>> {
    let mut s = PackStream::new(dtype, &f.config, f.preprocessor.as_deref(), f.tokenizer())?;
    for piece in f.weights.chunks(chunk) {
        s.push(piece)?;
    }
    s.finish()
}

/// The same tensors (name, dtype, shape, bytes) and the same metadata.
fn assert_same_file(a: &[u8], b: &[u8], what: &str) {
    let (wa, wb) = (Weights::parse(a).unwrap(), Weights::parse(b).unwrap());
    let (mut na, mut nb) = (wa.names(), wb.names());
    na.sort();
    nb.sort();
    assert_eq!(na, nb, "{what}: tensor names");
    let (sa, sb) = (safetensors::SafeTensors::deserialize(a).unwrap(), safetensors::SafeTensors::deserialize(b).unwrap());
    for name in na {
        let (ta, tb) = (sa.tensor(name).unwrap(), sb.tensor(name).unwrap());
        assert_eq!((ta.dtype(), ta.shape()), (tb.dtype(), tb.shape()), "{what}: {name}");
        assert!(ta.data() == tb.data(), "{what}: bytes of {name}");
    }
    let (ma, mb) = (safetensors::SafeTensors::read_metadata(a).unwrap().1, safetensors::SafeTensors::read_metadata(b).unwrap().1);
    assert_eq!(ma.metadata(), mb.metadata(), "{what}: metadata");
}

#[test]
fn streamed_conversion_equals_pack_in_any_chunking() {
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
        let meta = f.tokenizer_json.len() + f.spiece_model.len() * 4 / 3 + f.config.len() + header;
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
    // A config that is not SigLIP fails before any weight.
    let err = PackStream::new(StorageDtype::Q8, r#"{"model_type": "bert"}"#, None, f.tokenizer()).err().unwrap();
    assert!(matches!(err, Error::Config(_)), "{err}");
}
