//! A Gemma `tokenizer.json` (SigLIP 2) rebuilt as transformers 5's `GemmaTokenizer` and
//! `Siglip2Tokenizer` rebuild it.

use std::collections::HashSet;

use serde_json::Value;
use tokenizers::Tokenizer;

use super::config::{AddedToken, TokenizerConfig};
use crate::error::{Error, Result};
use crate::spm::SPACE_SYMBOL;

/// The parts of a Gemma `tokenizer.json` that transformers keeps, read straight into typed
/// values: a 256,000-entry vocabulary and its merges would take seconds through a
/// `serde_json::Value` and the `tokenizers` crate's own reader (which buffers every merge to
/// guess their format).
#[derive(serde::Deserialize)]
struct GemmaJson {
    model: GemmaModel,
    #[serde(default)]
    added_tokens: Vec<AddedToken>,
    #[serde(default)]
    post_processor: Option<tokenizers::processors::PostProcessorWrapper>,
    #[serde(default)]
    padding: Option<Sided>,
    #[serde(default)]
    truncation: Option<Sided>,
}

#[derive(serde::Deserialize)]
struct GemmaModel {
    #[serde(rename = "type")]
    kind: String,
    vocab: tokenizers::models::bpe::Vocab,
    #[serde(default)]
    merges: Vec<Merge>,
}

/// A merge as `["a", "b"]`, or in the older `"a b"` form.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Merge {
    Pair(String, String),
    Joined(String),
}

#[derive(serde::Deserialize)]
struct Sided {
    #[serde(default)]
    direction: Option<String>,
}

/// A Gemma `tokenizer.json` rebuilt as transformers 5's `GemmaTokenizer.__init__` (and
/// `Siglip2Tokenizer`'s) rebuilds it (`TokenizersBackend.convert_to_native_format`): only the
/// vocabulary, merges, post-processor, padding and truncation come from the file; the BPE
/// flags (`fuse_unk`, `byte_fallback`, the unknown token), the normalizer (`" "` → `▁`, after
/// `Lowercase` for `Siglip2Tokenizer`) and the pre-tokenizer are the class's. Added tokens
/// come from `tokenizer_config.json` when it lists them, as transformers re-adds them from
/// there (else from the file), then the named special tokens. Truncation keeps `max_len` ids
/// including the post-processor's. Also returns whether it pads on the left.
pub(super) fn backend(
    json: &[u8],
    config: &TokenizerConfig,
    lowercase: bool,
    max_len: usize,
) -> Result<(Tokenizer, bool)> {
    use tokenizers::models::bpe::BPE;
    use tokenizers::normalizers::{Lowercase, Replace, Sequence};
    use tokenizers::pre_tokenizers::split::Split;
    use tokenizers::{
        AddedToken as CrateToken, PostProcessor, SplitDelimiterBehavior, TruncationDirection, TruncationParams,
    };

    let crate_error = |e: tokenizers::Error| Error::Tokenizer(format!("tokenizer.json: {e}"));
    let file: GemmaJson = match serde_json::from_slice::<GemmaJson>(json) {
        Ok(file) if file.model.kind == "BPE" => file,
        other => {
            // Say what the file holds instead, when it is JSON at all.
            let v: Value = serde_json::from_slice(json)
                .map_err(|e| Error::Tokenizer(format!("tokenizer.json could not be read: {e}")))?;
            let kind = v["model"]["type"].as_str().unwrap_or("untyped");
            let why = other.err().map(|e| format!(" ({e})")).unwrap_or_default();
            return Err(Error::Tokenizer(format!(
                "tokenizer_config.json names a Gemma tokenizer (SigLIP 2), but tokenizer.json holds a {kind} model, \
                 not a BPE vocabulary{why}; are these files from one checkpoint?"
            )));
        }
    };
    let side =
        |s: &Option<Sided>| s.as_ref().and_then(|s| s.direction.as_deref()).map(|d| d.eq_ignore_ascii_case("left"));
    let pad_left = config.padding_left.or(side(&file.padding)).unwrap_or(true);
    let truncate_left = config.truncation_left.or(side(&file.truncation)).unwrap_or(false);
    let merges = file
        .model
        .merges
        .into_iter()
        .map(|m| match m {
            Merge::Pair(a, b) => Ok((a, b)),
            Merge::Joined(s) => match s.split_once(' ') {
                Some((a, b)) => Ok((a.to_string(), b.to_string())),
                None => Err(Error::Tokenizer(format!("tokenizer.json: merge {s:?} is not two tokens"))),
            },
        })
        .collect::<Result<Vec<_>>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(file.model.vocab, merges)
        .unk_token(config.unk.clone())
        .fuse_unk(true)
        .byte_fallback(true)
        .build()
        .map_err(crate_error)?;
    let mut inner = Tokenizer::new(bpe);
    let replace = Replace::new(" ", SPACE_SYMBOL).map_err(crate_error)?;
    if lowercase {
        inner.with_normalizer(Some(Sequence::new(vec![Lowercase.into(), replace.into()]))).map_err(crate_error)?;
    } else {
        inner.with_normalizer(Some(replace)).map_err(crate_error)?;
    }
    let split = Split::new(" ", SplitDelimiterBehavior::MergedWithPrevious, false).map_err(crate_error)?;
    inner.with_pre_tokenizer(Some(split));
    inner.with_post_processor(file.post_processor);
    // Added tokens in id order; one that is not in the vocabulary gets the next free id, as in
    // transformers.
    let mut added = if config.added_listed { config.added.clone() } else { file.added_tokens };
    added.sort_by_key(|t| t.id);
    inner.add_tokens(added.iter().map(AddedToken::to_crate)).map_err(crate_error)?;
    // The named special tokens not added yet (transformers adds only those, as special).
    let present: HashSet<String> = inner.get_added_tokens_decoder().into_values().map(|t| t.content).collect();
    let named: Vec<CrateToken> = config
        .special
        .iter()
        .filter(|t| !t.is_empty() && !present.contains(*t))
        .map(|t| CrateToken::from(t.clone(), true))
        .collect();
    inner.add_special_tokens(named).map_err(crate_error)?;
    // The crate subtracts the post-processor's tokens from the length: a crafted file adding
    // `max_len` or more would underflow it.
    let specials = inner.get_post_processor().map_or(0, |p| p.added_tokens(false));
    if specials >= max_len {
        return Err(Error::Tokenizer(format!(
            "tokenizer.json: the post-processor adds {specials} tokens, which leaves no room for text in {max_len}"
        )));
    }
    let direction = if truncate_left { TruncationDirection::Left } else { TruncationDirection::Right };
    inner
        .with_truncation(Some(TruncationParams { max_length: max_len, direction, ..Default::default() }))
        .map_err(crate_error)?;
    Ok((inner, pad_left))
}
