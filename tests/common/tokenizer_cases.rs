//! The tokenizer corpus (tests/fixtures/tokenizer/corpus.json, written by
//! tests/fixtures/make_tokenizer_corpus.py with transformers' `SiglipTokenizer`,
//! `GemmaTokenizer` and `Siglip2Tokenizer`), shared by the native tests (tests/tokenizer.rs)
//! and the browser tests (tests/wasm.rs).

use serde_json::Value;
use siglip::spm::SpmModel;
use siglip::tokenizer::{SiglipTokenizer, TokenizerFiles};

const CORPUS: &str = include_str!("../fixtures/tokenizer/corpus.json");

/// One tokenizer of the corpus: its files, as a checkpoint ships them.
pub struct CorpusModel {
    pub name: &'static str,
    /// SigLIP's SentencePiece model; `None` for the Gemma BPE tokenizers of SigLIP 2.
    pub spiece_model: Option<&'static [u8]>,
    pub tokenizer_config: &'static [u8],
    /// The `tokenizer.json` transformers' `SpmConverter` writes for it (SigLIP), or the
    /// checkpoint's own (SigLIP 2).
    pub hf_tokenizer_json: &'static [u8],
}

const GEMMA_JSON: &[u8] = include_bytes!("../fixtures/tiny-siglip2-256/tokenizer.json");

pub const MODELS: &[CorpusModel] = &[
    CorpusModel {
        name: "tiny-224",
        spiece_model: Some(include_bytes!("../fixtures/tiny-224/spiece.model")),
        tokenizer_config: include_bytes!("../fixtures/tiny-224/tokenizer_config.json"),
        hf_tokenizer_json: include_bytes!("../fixtures/tokenizer/tiny-224-tokenizer-hf.json"),
    },
    CorpusModel {
        name: "bytefallback",
        spiece_model: Some(include_bytes!("../fixtures/tokenizer/bytefallback/spiece.model")),
        tokenizer_config: include_bytes!("../fixtures/tokenizer/bytefallback/tokenizer_config.json"),
        hf_tokenizer_json: include_bytes!("../fixtures/tokenizer/bytefallback-tokenizer-hf.json"),
    },
    // `GemmaTokenizer`: case kept, right padding, no attention mask (the SigLIP 2 conversion).
    CorpusModel {
        name: "gemma",
        spiece_model: None,
        tokenizer_config: include_bytes!("../fixtures/tiny-siglip2-256/tokenizer_config.json"),
        hf_tokenizer_json: GEMMA_JSON,
    },
    // `Siglip2Tokenizer`: lowercased, and no `padding_side`, so the class's left padding.
    CorpusModel {
        name: "gemma-lower",
        spiece_model: None,
        tokenizer_config: include_bytes!("../fixtures/tokenizer/gemma-lower/tokenizer_config.json"),
        hf_tokenizer_json: GEMMA_JSON,
    },
];

/// How a checkpoint hands us its tokenizer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    /// `spiece.model` + `tokenizer_config.json` (what `SiglipTokenizer` reads).
    Spiece,
    /// transformers' converted `tokenizer.json` + `tokenizer_config.json`.
    HfJson,
    /// The `tokenizer.json` this crate converts `spiece.model` to + `tokenizer_config.json`.
    OurJson,
}

pub const SOURCES: &[Source] = &[Source::Spiece, Source::HfJson, Source::OurJson];

/// The ways a model can be loaded: all three for SentencePiece, the `tokenizer.json` for Gemma.
pub fn sources(model: &CorpusModel) -> &'static [Source] {
    if model.spiece_model.is_some() {
        SOURCES
    } else {
        &[Source::HfJson]
    }
}

pub fn corpus() -> Value {
    serde_json::from_str(CORPUS).unwrap()
}

pub fn load(model: &CorpusModel, source: Source) -> SiglipTokenizer {
    let our_json;
    let mut files = TokenizerFiles { tokenizer_config: Some(model.tokenizer_config), ..Default::default() };
    match source {
        Source::Spiece => files.spiece_model = model.spiece_model,
        Source::HfJson => files.tokenizer_json = Some(model.hf_tokenizer_json),
        Source::OurJson => {
            our_json = SpmModel::parse(model.spiece_model.unwrap()).unwrap().to_tokenizer_json().unwrap();
            files.tokenizer_json = Some(our_json.as_bytes());
        }
    }
    SiglipTokenizer::from_files(files, 64).unwrap()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

/// Encodes every corpus string; returns (strings checked, descriptions of the mismatches).
pub fn mismatches(model: &CorpusModel, source: Source) -> (usize, Vec<String>) {
    let corpus = corpus();
    let tokenizer = load(model, source);
    let texts = corpus["texts"].as_array().unwrap();
    let want_all = corpus["models"][model.name]["ids"].as_array().unwrap();
    let pad = corpus["models"][model.name]["pad_id"].as_u64().unwrap() as u32;
    let pad_left = corpus["models"][model.name]["padding_side"] == "left";
    assert_eq!(texts.len(), want_all.len());
    let mut bad = Vec::new();
    for (text, want) in texts.iter().zip(want_all) {
        let text = text.as_str().unwrap();
        let want = ids(want);
        let got = tokenizer.encode(text).unwrap();
        let padding = if pad_left { &got.ids[..got.start] } else { &got.ids[got.len..] };
        let padding_ok = padding.iter().all(|&id| id == pad)
            && got.ids.len() == 64
            && padding.len() == 64 - got.len
            && (got.start == 0) != (pad_left && got.len < 64);
        if got.real() != want || !padding_ok {
            bad.push(format!("{} {source:?} {text:?}:\n  want {want:?}\n  got  {:?}", model.name, got.ids));
        }
    }
    (texts.len(), bad)
}

/// Every corpus string gives transformers' ids, for every model and every way of loading it.
pub fn corpus_matches_transformers() {
    let mut all = Vec::new();
    for model in MODELS {
        for &source in sources(model) {
            let (n, bad) = mismatches(model, source);
            assert!(n >= 400, "the corpus should hold at least 400 strings, has {n}");
            all.extend(bad);
        }
    }
    assert!(all.is_empty(), "{} mismatches; the first ones:\n{}", all.len(), all[..all.len().min(8)].join("\n"));
}

/// transformers' vocabulary-independent `SiglipTokenizer` assertions (its
/// test_tokenization_siglip.py: eos treatment, eos in the input, `▁` and whitespace edge
/// cases) as pairs of texts that must tokenize alike.
pub fn equivalences_hold() {
    let corpus = corpus();
    let pairs = corpus["equivalences"].as_array().unwrap();
    assert!(pairs.len() >= 13);
    for model in MODELS.iter().filter(|m| m.spiece_model.is_some()) {
        let tokenizer = load(model, Source::Spiece);
        for pair in pairs {
            let (a, b) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            assert_eq!(tokenizer.encode(a).unwrap(), tokenizer.encode(b).unwrap(), "{}: {a:?} vs {b:?}", model.name);
        }
    }
}
