//! The committed fixtures in a real browser (wasm32 + simd128), against the same reference
//! outputs as the native tests. Run with `./build.sh test-wasm`, or
//! `wasm-pack test --headless --chrome --mode no-install -- --test wasm` (no-install: use the
//! wasm-bindgen CLI that build.sh installed instead of downloading one).
#![cfg(target_arch = "wasm32")]

use serde_json::Value;
use siglip::tokenizer::TokenizerFiles;
use siglip::{format, preprocess, weights::Weights, Classifier, Siglip, StorageDtype};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

struct Fixture {
    config: &'static str,
    preprocessor: &'static str,
    /// SigLIP: `spiece.model`; SigLIP 2: the Gemma `tokenizer.json`.
    spiece_model: Option<&'static [u8]>,
    tokenizer_json: Option<&'static [u8]>,
    tokenizer_config: &'static [u8],
    weights: &'static [u8],
    reference: &'static str,
    pixels: &'static [(&'static str, &'static [u8])],
}

impl Fixture {
    fn tokenizer(&self) -> TokenizerFiles<'static> {
        TokenizerFiles {
            spiece_model: self.spiece_model,
            tokenizer_json: self.tokenizer_json,
            tokenizer_config: Some(self.tokenizer_config),
        }
    }

    /// Bytes of tokenizer data that go into a packed file's metadata.
    fn tokenizer_len(&self) -> usize {
        self.spiece_model.or(self.tokenizer_json).map_or(0, <[u8]>::len)
    }
}

/// The reference keys of what the zero-shot pipeline computes for a checkpoint (text
/// embeddings, logits): masked padding for SigLIP, unmasked for SigLIP 2.
fn pipeline_keys(r: &Value) -> (&'static str, &'static str) {
    match r["pipeline_text_masking"].as_str() {
        Some("none") => ("text_embeds_unmasked", "logits_unmasked"),
        _ => ("text_embeds", "logits"),
    }
}

macro_rules! fixture {
    (spm $dir:literal) => {
        fixture!($dir, Some(include_bytes!(concat!("fixtures/", $dir, "/spiece.model"))), None)
    };
    (gemma $dir:literal) => {
        fixture!($dir, None, Some(include_bytes!(concat!("fixtures/", $dir, "/tokenizer.json"))))
    };
    ($dir:literal, $spiece:expr, $json:expr) => {
        Fixture {
            config: include_str!(concat!("fixtures/", $dir, "/config.json")),
            preprocessor: include_str!(concat!("fixtures/", $dir, "/preprocessor_config.json")),
            spiece_model: $spiece,
            tokenizer_json: $json,
            tokenizer_config: include_bytes!(concat!("fixtures/", $dir, "/tokenizer_config.json")),
            weights: include_bytes!(concat!("fixtures/", $dir, "/model.safetensors")),
            reference: include_str!(concat!("fixtures/", $dir, "/reference.json")),
            pixels: &[
                ("alpha.png", include_bytes!(concat!("fixtures/", $dir, "/pixels/alpha.png"))),
                ("gray.png", include_bytes!(concat!("fixtures/", $dir, "/pixels/gray.png"))),
                ("wide.png", include_bytes!(concat!("fixtures/", $dir, "/pixels/wide.png"))),
                ("photo.jpg", include_bytes!(concat!("fixtures/", $dir, "/pixels/photo.png"))),
            ],
        }
    };
}

const IMAGES: &[(&str, &[u8])] = &[
    ("alpha.png", include_bytes!("fixtures/images/alpha.png")),
    ("gray.png", include_bytes!("fixtures/images/gray.png")),
    ("wide.png", include_bytes!("fixtures/images/wide.png")),
    ("lossless.webp", include_bytes!("fixtures/images/lossless.webp")),
    ("animated.gif", include_bytes!("fixtures/images/animated.gif")),
    ("photo.jpg", include_bytes!("fixtures/images/photo.jpg")),
    ("exif-rotated.jpg", include_bytes!("fixtures/images/exif-rotated.jpg")),
];

/// A file of `tests/fixtures/jpeg/` and the pixels Pillow decodes from it: `jpeg NAME` is
/// NAME.jpg with NAME.png, `png NAME` is png-NAME.png with png-NAME.rgb.png.
macro_rules! decoded {
    (jpeg $name:literal) => {
        decoded!($name, concat!($name, ".jpg"), concat!($name, ".png"))
    };
    (png $name:literal) => {
        decoded!($name, concat!("png-", $name, ".png"), concat!("png-", $name, ".rgb.png"))
    };
    ($name:literal, $file:expr, $pixels:expr) => {
        (
            $name,
            include_bytes!(concat!("fixtures/jpeg/", $file)) as &[u8],
            include_bytes!(concat!("fixtures/jpeg/", $pixels)) as &[u8],
        )
    };
}

/// Every kind of JPEG Pillow writes, and those it cannot (tests/fixtures/make_jpeg_fixtures.py).
const JPEGS: &[(&str, &[u8], &[u8])] = &[
    decoded!(jpeg "baseline-444"),
    decoded!(jpeg "baseline-422"),
    decoded!(jpeg "baseline-420"),
    decoded!(jpeg "baseline-420-q30"),
    decoded!(jpeg "baseline-420-q100"),
    decoded!(jpeg "progressive-444"),
    decoded!(jpeg "progressive-422"),
    decoded!(jpeg "progressive-420"),
    decoded!(jpeg "restart-blocks-420"),
    decoded!(jpeg "restart-rows-progressive-444"),
    decoded!(jpeg "gray"),
    decoded!(jpeg "gray-progressive"),
    decoded!(jpeg "cmyk"),
    decoded!(jpeg "odd-33x17-420"),
    decoded!(jpeg "odd-17x33-422"),
    decoded!(jpeg "odd-7x3-420-progressive"),
    decoded!(jpeg "odd-2x2-420"),
    decoded!(jpeg "odd-1x1-444"),
    decoded!(jpeg "exif-orientation-6-420"),
    decoded!(jpeg "exif-orientation-3-444"),
    decoded!(jpeg "exif-orientation-8-progressive"),
    // Kinds Pillow cannot write: YCCK (Adobe), and from libjpeg-turbo's cjpeg 4:4:0 and 4:1:1
    // chroma and arithmetic coding.
    decoded!(jpeg "ycck"),
    decoded!(jpeg "cjpeg-440"),
    decoded!(jpeg "cjpeg-411"),
    decoded!(jpeg "cjpeg-arithmetic-420"),
    decoded!(jpeg "cjpeg-arithmetic-progressive-444"),
    decoded!(jpeg "cjpeg-odd-13x9-411"),
];

/// PNGs that Pillow converts in its own way: 16-bit (high byte; grey clipped), alpha, low bit
/// depths, palettes and tRNS; and an eXIf orientation.
const PNGS: &[(&str, &[u8], &[u8])] = &[
    decoded!(png "rgb16"),
    decoded!(png "rgba16"),
    decoded!(png "gray16"),
    decoded!(png "gray16-small-values"),
    decoded!(png "gray16-trns"),
    decoded!(png "rgb16-trns"),
    decoded!(png "gray-alpha16"),
    decoded!(png "gray-alpha8"),
    decoded!(png "rgba8"),
    decoded!(png "gray1"),
    decoded!(png "gray2"),
    decoded!(png "gray4"),
    decoded!(png "palette4-trns"),
    decoded!(png "palette8-trns"),
    decoded!(png "rgb8-trns"),
    decoded!(png "gray8-trns"),
    decoded!(png "exif-orientation-6"),
];

#[wasm_bindgen_test]
fn jpegs_and_pngs_decode_to_pillows_pixels_in_the_browser() {
    for (name, jpeg, png) in JPEGS.iter().chain(PNGS) {
        let got = preprocess::decode(jpeg).unwrap();
        let want = preprocess::decode(png).unwrap();
        assert_eq!((got.width(), got.height()), (want.width(), want.height()), "{name}");
        let differ = got.data().iter().zip(want.data()).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "{name}: {differ} of {} values differ from Pillow's", got.data().len());
    }
}

/// SigLIP at 224 and 112 px, and a fixed-resolution SigLIP 2 (Gemma tokenizer, bilinear).
fn fixtures() -> [Fixture; 3] {
    [fixture!(spm "tiny-224"), fixture!(spm "tiny-p14"), fixture!(gemma "tiny-siglip2-256")]
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

fn image_ref<'a>(r: &'a Value, file: &str) -> &'a Value {
    r["images"].as_array().unwrap().iter().find(|i| i["file"] == file).unwrap()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt())
}

#[wasm_bindgen_test]
fn built_with_simd128() {
    const { assert!(cfg!(target_feature = "simd128"), "the wasm build must enable simd128 (.cargo/config.toml)") };
}

/// The variants of build.sh: `threads` (with atomics, shared memory) is the only one with both
/// the feature and atomics, and it has relaxed SIMD too; without a pool rayon runs inline.
#[wasm_bindgen_test]
fn built_as_a_consistent_variant() {
    assert_eq!(cfg!(feature = "threads"), cfg!(target_feature = "atomics"));
    if cfg!(feature = "threads") {
        #[allow(clippy::assertions_on_constants)]
        {
            assert!(cfg!(target_feature = "relaxed-simd"), "the threads build uses relaxed SIMD");
        }
    } else {
        assert_eq!(rayon::current_num_threads(), 1);
    }
}

#[wasm_bindgen_test]
fn f32_logits_match_reference_in_the_browser() {
    for f in fixtures() {
        let r: Value = serde_json::from_str(f.reference).unwrap();
        let model = Siglip::from_hf(f.config, Some(f.preprocessor), f.tokenizer(), f.weights).unwrap();
        // In the pipeline's masking mode, which the model starts in.
        let logits_key = pipeline_keys(&r).1;
        let texts = model.embed_texts(&strings(&r["texts"])).unwrap();
        // Model parity from the reference's own pixels (JPEG included).
        for (file, png) in f.pixels {
            let want = image_ref(&r, file);
            let pixels = preprocess::normalize(&preprocess::decode(png).unwrap(), model.preprocess_config());
            let emb = model.embed_pixels(&pixels).unwrap();
            for (t, w) in texts.iter().zip(floats(&want[logits_key])) {
                let got = model.logit(&emb, t);
                assert!((got - w).abs() <= 1e-4, "{file}: {got} vs {w}");
            }
        }
        // End to end from the encoded files, as the page sends them.
        let labels = strings(&r["labels"]);
        let mut classifier = Classifier::new(model);
        for (file, bytes) in IMAGES {
            let want = image_ref(&r, file);
            let results = classifier.classify_bytes(bytes, &labels).unwrap();
            for res in results {
                let i = labels.iter().position(|l| *l == res.label).unwrap();
                let w = floats(&want["scores"])[i];
                assert!((res.score - w).abs() <= 1e-4, "{file} {}: {} vs {w}", res.label, res.score);
            }
        }
    }
}

/// The streaming converter (what the page runs on a Hub checkpoint as it downloads) gives the
/// tensors `siglip quantize` writes, and the instance's memory grows by no more than the packed
/// file, about two of the largest tensors and the metadata (growth bounds the peak from below:
/// freed memory is reused, so this is a ceiling check, never a false alarm).
#[wasm_bindgen_test]
fn converting_while_streaming_equals_pack_within_bounded_memory() {
    for f in fixtures() {
        let want = format::pack(
            &Weights::parse(f.weights).unwrap(),
            StorageDtype::Q8,
            f.config,
            Some(f.preprocessor),
            f.tokenizer(),
        )
        .unwrap();
        let pages = |m: wasm_bindgen::JsValue| {
            js_sys::Reflect::get(&m, &"buffer".into())
                .ok()
                .and_then(|b| js_sys::Reflect::get(&b, &"byteLength".into()).ok())
                .and_then(|n| n.as_f64())
                .unwrap_or(0.0) as usize
        };
        let before = pages(wasm_bindgen::memory());
        let mut s =
            siglip::pack_stream::PackStream::new(StorageDtype::Q8, f.config, Some(f.preprocessor), f.tokenizer())
                .unwrap();
        for piece in f.weights.chunks(8192) {
            s.push(piece).unwrap();
        }
        let got = s.finish().unwrap();
        let grew = pages(wasm_bindgen::memory()) - before;
        let st = safetensors::SafeTensors::deserialize(f.weights).unwrap();
        let largest = st.tensors().iter().map(|(_, v)| v.data().len()).max().unwrap();
        let bound = got.len() + 2 * largest + 4 * (f.tokenizer_len() + f.config.len()) + (1 << 20);
        assert!(grew <= bound, "memory grew {grew} bytes converting, bound {bound}");
        let (a, b) = (
            safetensors::SafeTensors::deserialize(&want).unwrap(),
            safetensors::SafeTensors::deserialize(&got).unwrap(),
        );
        assert_eq!(a.len(), b.len());
        for (name, t) in a.tensors() {
            let u = b.tensor(&name).unwrap();
            assert!(t.dtype() == u.dtype() && t.shape() == u.shape() && t.data() == u.data(), "{name}");
        }
        assert!(Siglip::from_packed(&got).is_ok());
    }
}

#[wasm_bindgen_test]
fn packed_q8_loads_and_stays_close_in_the_browser() {
    for f in fixtures() {
        let r: Value = serde_json::from_str(f.reference).unwrap();
        let w = Weights::parse(f.weights).unwrap();
        let bytes = format::pack(&w, StorageDtype::Q8, f.config, Some(f.preprocessor), f.tokenizer()).unwrap();
        let model = Siglip::from_packed(&bytes).unwrap();
        let texts = model.embed_texts(&strings(&r["texts"])).unwrap();
        let want: Vec<Vec<f32>> = r[pipeline_keys(&r).0].as_array().unwrap().iter().map(floats).collect();
        for (t, w) in texts.iter().zip(&want) {
            assert!(cosine(t, w) >= 0.9999);
        }
        let (file, png) = f.pixels[0];
        let pixels = preprocess::normalize(&preprocess::decode(png).unwrap(), model.preprocess_config());
        let emb = model.embed_pixels(&pixels).unwrap();
        assert!(cosine(&emb, &floats(&image_ref(&r, file)["image_embeds"])) >= 0.9999);
    }
}

/// A packed file loaded as the page loads it (owned, shared with the model): f32 matrices are
/// read in place and run on our f32 product; the logits still match the reference (f32) and
/// the q8 embeddings stay as close as a copied load's.
#[wasm_bindgen_test]
fn packed_files_used_in_place_match_the_reference_in_the_browser() {
    for f in fixtures() {
        let r: Value = serde_json::from_str(f.reference).unwrap();
        let w = Weights::parse(f.weights).unwrap();
        for dtype in [StorageDtype::F32, StorageDtype::Q8] {
            let bytes = format::pack(&w, dtype, f.config, Some(f.preprocessor), f.tokenizer()).unwrap();
            let model = Siglip::from_packed_owned(bytes).unwrap();
            let (text_key, logits_key) = pipeline_keys(&r);
            let texts = model.embed_texts(&strings(&r["texts"])).unwrap();
            let want: Vec<Vec<f32>> = r[text_key].as_array().unwrap().iter().map(floats).collect();
            for (t, w) in texts.iter().zip(&want) {
                assert!(cosine(t, w) >= 0.9999, "{dtype:?} text");
            }
            for (file, png) in f.pixels {
                let want = image_ref(&r, file);
                let pixels = preprocess::normalize(&preprocess::decode(png).unwrap(), model.preprocess_config());
                let emb = model.embed_pixels(&pixels).unwrap();
                if dtype == StorageDtype::F32 {
                    for (t, w) in texts.iter().zip(floats(&want[logits_key])) {
                        let got = model.logit(&emb, t);
                        assert!((got - w).abs() <= 1e-4, "{file}: {got} vs {w}");
                    }
                } else {
                    assert!(cosine(&emb, &floats(&want["image_embeds"])) >= 0.9999, "{file} q8 image");
                }
            }
        }
    }
}

#[wasm_bindgen_test]
fn bad_input_is_an_error_not_a_panic() {
    let f = fixture!(spm "tiny-224");
    let r: Value = serde_json::from_str(f.reference).unwrap();
    assert!(Siglip::from_packed(&f.weights[..1000]).is_err());
    let model = Siglip::from_hf(f.config, Some(f.preprocessor), f.tokenizer(), f.weights).unwrap();
    let mut classifier = Classifier::new(model);
    assert!(classifier.classify_bytes(b"not an image", &["cat".into()]).is_err());
    assert!(classifier.classify_bytes(IMAGES[0].1, &[]).is_err());
    // After the failures the same classifier gives the reference scores.
    let labels = strings(&r["labels"]);
    let want = floats(&image_ref(&r, IMAGES[0].0)["scores"]);
    let results = classifier.classify_bytes(IMAGES[0].1, &labels).unwrap();
    assert_eq!(results.len(), labels.len());
    for res in results {
        let w = want[labels.iter().position(|l| *l == res.label).unwrap()];
        assert!((res.score - w).abs() <= 1e-4, "{}: {} vs {w}", res.label, res.score);
    }
}

/// A model buffer that cannot be allocated is a `MemoryError` (the loader then keeps the cached
/// file and does not retry the download), and the next allocation still works.
#[wasm_bindgen_test]
fn failed_allocation_is_a_memory_error() {
    use wasm_bindgen::JsCast;
    let err = siglip::wasm::ModelBuffer::new(usize::MAX - 1).err().unwrap();
    let err: js_sys::Error = err.dyn_into().unwrap();
    assert_eq!(String::from(err.name()), "MemoryError");
    assert!(String::from(err.message()).contains("not enough memory"));
    assert_eq!(siglip::wasm::ModelBuffer::new(1024).unwrap().len(), 1024);
}

#[path = "common/tokenizer_cases.rs"]
mod tokenizer_cases;

#[wasm_bindgen_test]
fn tokenizer_corpus_matches_transformers() {
    tokenizer_cases::corpus_matches_transformers();
    tokenizer_cases::equivalences_hold();
}

#[path = "common/kernel_cases.rs"]
mod kernel_cases;

/// The build's q8 kernels (simd128; in the relaxed build both forms of the relaxed kernel's dot
/// product, one instruction on VNNI and Arm engines, `pmaddubsw` + `pmaddwd` on x86 without
/// VNNI, whichever form this engine prefers) and the portable kernel equal the plain reference
/// bit for bit on ragged shapes, as natively.
#[wasm_bindgen_test]
fn kernels_match_reference_in_the_browser() {
    use siglip::kernels::{runnable, selected, ActPrecision, KernelId};
    console_log!("{}", kernel_cases::describe_kernels());
    let mut want = vec![KernelId::WasmSimd128I16, KernelId::Portable];
    #[cfg(target_feature = "relaxed-simd")]
    want.extend([KernelId::WasmRelaxedDot, KernelId::WasmRelaxedMadd]);
    let mut have = runnable().to_vec();
    have.sort_by_key(|k| k.name());
    want.sort_by_key(|k| k.name());
    assert_eq!(have, want);
    let int7 = selected(ActPrecision::Int7).name();
    assert!(
        int7.starts_with(if cfg!(target_feature = "relaxed-simd") { "wasm-relaxed-" } else { "wasm-simd128-" }),
        "{int7}"
    );
    assert_eq!(selected(ActPrecision::Int16), KernelId::WasmSimd128I16);
    kernel_cases::kernels_match_reference();
    kernel_cases::reference_is_within_the_rounding_bound();
    kernel_cases::bad_sizes_are_errors();
}

/// SigLIP 2 NaFlex in the browser: the encoded files resized to their own grids within the
/// patch budget, as transformers' `Siglip2ImageProcessor` cuts them, give the pipeline's
/// scores; at other budgets too (from the reference's resized pixels); q8 stays close.
#[wasm_bindgen_test]
fn naflex_matches_the_reference_in_the_browser() {
    const DIR: &str = "tiny-siglip2-naflex";
    let config = include_str!("fixtures/tiny-siglip2-naflex/config.json");
    let preprocessor = include_str!("fixtures/tiny-siglip2-naflex/preprocessor_config.json");
    let tokenizer = TokenizerFiles {
        spiece_model: None,
        tokenizer_json: Some(include_bytes!("fixtures/tiny-siglip2-naflex/tokenizer.json")),
        tokenizer_config: Some(include_bytes!("fixtures/tiny-siglip2-naflex/tokenizer_config.json")),
    };
    let weights: &[u8] = include_bytes!("fixtures/tiny-siglip2-naflex/model.safetensors");
    let r: Value = serde_json::from_str(include_str!("fixtures/tiny-siglip2-naflex/reference.json")).unwrap();
    let files: &[(&str, &[u8])] = &[
        ("wide.png", include_bytes!("fixtures/images/wide.png")),
        ("photo.jpg", include_bytes!("fixtures/images/photo.jpg")),
        ("exif-rotated.jpg", include_bytes!("fixtures/images/exif-rotated.jpg")),
        ("tiny.png", include_bytes!("fixtures/images/tiny.png")),
        ("tall.png", include_bytes!("fixtures/images-naflex/tall.png")),
        ("large.jpg", include_bytes!("fixtures/images-naflex/large.jpg")),
    ];
    let resized: &[(&str, usize, &[u8])] = &[
        ("tall.png", 16, include_bytes!("fixtures/tiny-siglip2-naflex/pixels/tall-16.png")),
        ("wide.png", 150, include_bytes!("fixtures/tiny-siglip2-naflex/pixels/wide-150.png")),
        ("large.jpg", 150, include_bytes!("fixtures/tiny-siglip2-naflex/pixels/large-150.png")),
    ];
    let at = |file: &str, budget: usize| {
        r["images"].as_array().unwrap().iter().find(|i| i["file"] == file && i["max_num_patches"] == budget).unwrap()
    };
    let labels = strings(&r["labels"]);
    let mut model = Siglip::from_hf(config, Some(preprocessor), tokenizer, weights).unwrap();
    let texts = model.embed_texts(&strings(&r["texts"])).unwrap();
    for (file, budget, png) in resized {
        model.set_max_num_patches(*budget).unwrap();
        let emb = model.embed_image(&preprocess::decode(png).unwrap()).unwrap();
        for (t, w) in texts.iter().zip(floats(&at(file, *budget)["logits_unmasked"])) {
            let got = model.logit(&emb, t);
            assert!((got - w).abs() <= 1e-4, "{DIR} {file} at {budget}: {got} vs {w}");
        }
    }
    model.set_max_num_patches(64).unwrap();
    let mut classifier = Classifier::new(model);
    for (file, bytes) in files {
        let want = floats(&at(file, 64)["scores"]);
        for res in classifier.classify_bytes(bytes, &labels).unwrap() {
            let w = want[labels.iter().position(|l| *l == res.label).unwrap()];
            assert!((res.score - w).abs() <= 1e-4, "{DIR} {file} {}: {} vs {w}", res.label, res.score);
        }
    }
    let bytes =
        format::pack(&Weights::parse(weights).unwrap(), StorageDtype::Q8, config, Some(preprocessor), tokenizer)
            .unwrap();
    let q8 = Siglip::from_packed_owned(bytes).unwrap();
    let (file, png) = ("large.jpg", include_bytes!("fixtures/tiny-siglip2-naflex/pixels/large-64.png"));
    let emb = q8.embed_image(&preprocess::decode(png).unwrap()).unwrap();
    assert!(cosine(&emb, &floats(&at(file, 64)["image_embeds"])) >= 0.9999, "q8 image");
}
