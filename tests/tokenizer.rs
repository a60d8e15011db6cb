//! Tokenization against transformers' `SiglipTokenizer` on the committed corpus.

#[path = "common/tokenizer_cases.rs"]
mod tokenizer_cases;

use tokenizer_cases::{mismatches, MODELS, SOURCES};

#[test]
fn corpus_matches_transformers() {
    for model in MODELS {
        for &source in SOURCES {
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
