//! Tokenization against transformers' `SiglipTokenizer`, `GemmaTokenizer` and
//! `Siglip2Tokenizer` on the committed corpus.

#[path = "common/tokenizer_cases.rs"]
mod tokenizer_cases;

use tokenizer_cases::{mismatches, sources, MODELS};

#[test]
fn corpus_matches_transformers() {
    for model in MODELS {
        for &source in sources(model) {
            let (n, bad) = mismatches(model, source);
            eprintln!("{} via {source:?}: {n} strings, {} mismatches", model.name, bad.len());
        }
    }
    tokenizer_cases::corpus_matches_transformers();
}

#[test]
fn equivalences_hold() {
    tokenizer_cases::equivalences_hold();
}
