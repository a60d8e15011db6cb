//! The tokenizer corpus (tests/fixtures/tokenizer/corpus.json, written by
//! tests/fixtures/make_tokenizer_corpus.py with transformers' `SiglipTokenizer`), shared by the
//! native tests (tests/tokenizer.rs) and the browser tests (tests/wasm.rs).

use serde_json::Value;
use siglip::spm::SpmModel;
use siglip::tokenizer::{SiglipTokenizer, TokenizerFiles};

const CORPUS: &str = include_str!("../fixtures/tokenizer/corpus.json");

/// One SentencePiece model of the corpus: its files, as a checkpoint ships them.
pub struct CorpusModel {
    pub name: &'static str,
    pub spiece_model: &'static [u8],
    pub tokenizer_config: &'static [u8],
    /// The `tokenizer.json` transformers' `SpmConverter` writes for it.
    pub hf_tokenizer_json: &'static [u8],
}

pub const MODELS: &[CorpusModel] = &[
    CorpusModel {
        name: "tiny-224",
        spiece_model: include_bytes!("../fixtures/tiny-224/spiece.model"),
        tokenizer_config: include_bytes!("../fixtures/tiny-224/tokenizer_config.json"),
        hf_tokenizer_json: include_bytes!("../fixtures/tokenizer/tiny-224-tokenizer-hf.json"),
    },
    CorpusModel {
        name: "bytefallback",
        spiece_model: include_bytes!("../fixtures/tokenizer/bytefallback/spiece.model"),
        tokenizer_config: include_bytes!("../fixtures/tokenizer/bytefallback/tokenizer_config.json"),
        hf_tokenizer_json: include_bytes!("../fixtures/tokenizer/bytefallback-tokenizer-hf.json"),
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

pub fn corpus() -> Value {
    serde_json::from_str(CORPUS).unwrap()
}

pub fn load(model: &CorpusModel, source: Source) -> SiglipTokenizer {
    let our_json;
    let mut files = TokenizerFiles { tokenizer_config: Some(model.tokenizer_config), ..Default::default() };
    match source {
        Source::Spiece => files.spiece_model = Some(model.spiece_model),
        Source::HfJson => files.tokenizer_json = Some(model.hf_tokenizer_json),
        Source::OurJson => {
            our_json = SpmModel::parse(model.spiece_model).unwrap().to_tokenizer_json().unwrap();
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
    assert_eq!(texts.len(), want_all.len());
    let mut bad = Vec::new();
    for (text, want) in texts.iter().zip(want_all) {
        let text = text.as_str().unwrap();
        let want = ids(want);
        let got = tokenizer.encode(text).unwrap();
        let padding_ok = got.ids[got.len..].iter().all(|&id| id == pad) && got.ids.len() == 64;
        if got.ids[..got.len] != want[..] || !padding_ok {
            bad.push(format!("{} {source:?} {text:?}:\n  want {want:?}\n  got  {:?}", model.name, &got.ids[..got.len]));
        }
    }
    (texts.len(), bad)
}

/// Every corpus string gives transformers' ids, for every model and every way of loading it.
pub fn corpus_matches_transformers() {
    let mut all = Vec::new();
    for model in MODELS {
        for &source in SOURCES {
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
    for model in MODELS {
        let tokenizer = load(model, Source::Spiece);
        for pair in pairs {
            let (a, b) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            assert_eq!(tokenizer.encode(a).unwrap(), tokenizer.encode(b).unwrap(), "{}: {a:?} vs {b:?}", model.name);
        }
    }
}
