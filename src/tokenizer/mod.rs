//! Text to token ids exactly as transformers' `SiglipTokenizer` gives them to the zero-shot
//! pipeline (`padding="max_length", max_length=64, truncation=True`):
//!
//! 1. `▁` in the text becomes a space and one `▁` is prepended (`SiglipTokenizer.tokenize`);
//! 2. the text is split around added and special tokens (`</s>`, `<unk>`, any the checkpoint's
//!    `tokenizer_config.json` adds), honouring their `lstrip`/`rstrip`;
//! 3. each other part is canonicalized (`canonicalize_text`: lowercase, ASCII punctuation
//!    dropped, whitespace squeezed and trimmed), prefixed with `<unk>` and run through
//!    SentencePiece (its normalizer and Unigram, see [`crate::spm`]), and the pieces of that
//!    `<unk>` prefix are dropped again (`_tokenize`);
//! 4. a leading lone `▁` before a special token is dropped; pieces become ids;
//! 5. truncation to `max_len - 1`, `</s>` appended unless the ids already end with it, padding
//!    with the pad id (`</s>`) to `max_len`.
//!
//! The model comes from `spiece.model`, or from a `tokenizer.json` holding the same Unigram
//! model (as transformers' converter writes it). A `tokenizer.json` of any other kind is
//! canonicalized and then run through the `tokenizers` crate.
//!
//! SigLIP 2 checkpoints name `GemmaTokenizer` or `Siglip2Tokenizer` in `tokenizer_config.json`
//! and ship a Gemma `tokenizer.json` (BPE with byte fallback). Those run as transformers 5 runs
//! them (see [`gemma::backend`]): no canonicalization, the file's vocabulary, merges and
//! post-processor (`$A <eos>`), the class's own normalizer (`Siglip2Tokenizer` lowercases,
//! `GemmaTokenizer` does not), truncation that leaves room for the post-processor's tokens, and
//! padding with `<pad>` on the configured side (the classes default to the left).

//!
//! The files: [`config`] reads `tokenizer_config.json` (the class, added and special tokens,
//! sides, `model_input_names`); [`gemma`] rebuilds a Gemma `tokenizer.json`; [`canonical`] is
//! SigLIP's `canonicalize_text`. Labels and templates are the classifier's
//! ([`crate::classifier`]).

mod canonical;
mod config;
mod gemma;

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use tokenizers::Tokenizer;

pub use canonical::canonicalize;
use canonical::is_py_space;
use config::{AddedToken, Class, TokenizerConfig};

use crate::error::{Error, Result};
use crate::spm::{precompiled_normalizers, SpmEncoder, SpmModel, SPACE_SYMBOL};

/// Token ids for one text, `max_len` long, plus where the real (not padding) ones are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub ids: Vec<u32>,
    /// Index of the first real id: 0, unless the tokenizer pads on the left.
    pub start: usize,
    /// Number of real ids (text and special tokens), from `start` on; the rest are padding.
    pub len: usize,
}

impl Encoded {
    /// The real ids, without padding.
    pub fn real(&self) -> &[u32] {
        &self.ids[self.start..self.start + self.len]
    }
}

/// The tokenizer files of a checkpoint; at least one of `spiece_model` and `tokenizer_json`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenizerFiles<'a> {
    /// `spiece.model`, the SentencePiece model `SiglipTokenizer` reads.
    pub spiece_model: Option<&'a [u8]>,
    /// `tokenizer.json`, used when there is no `spiece.model`.
    pub tokenizer_json: Option<&'a [u8]>,
    /// `tokenizer_config.json`: added tokens, `legacy`, `do_lower_case`.
    pub tokenizer_config: Option<&'a [u8]>,
}

enum Backend {
    /// SentencePiece, exactly as `SiglipTokenizer` runs it.
    Spm {
        encoder: Box<SpmEncoder>,
        /// Pieces of the `<unk>` prefix that `_tokenize` drops.
        unk_prefix_len: usize,
    },
    /// Any other `tokenizer.json`: canonicalized text through the `tokenizers` crate.
    Other(Box<Tokenizer>),
    /// A Gemma `tokenizer.json` as `GemmaTokenizer` / `Siglip2Tokenizer` rebuild it
    /// ([`gemma::backend`]): raw text in, ids with the post-processor's tokens out.
    Gemma(Box<Tokenizer>),
}

/// SigLIP's tokenizer: the checkpoint's tokenizer files plus the reference's text rules.
pub struct SiglipTokenizer {
    backend: Backend,
    /// Tokens the text is split around, longest first.
    added: Vec<AddedToken>,
    added_ids: HashMap<String, u32>,
    special: HashSet<String>,
    unk_token: String,
    lower: bool,
    eos_id: u32,
    pad_id: u32,
    /// Padding goes before the text (Gemma classes without a `padding_side`).
    pad_left: bool,
    /// Whether the checkpoint's tokenizer returns an attention mask (see [`Self::attention_mask`]).
    attention_mask: bool,
    vocab_size: usize,
    max_len: usize,
}

impl SiglipTokenizer {
    /// Loads a `tokenizer.json` alone; `max_len` is the text tower's `max_position_embeddings`.
    pub fn from_json(json: &[u8], max_len: usize) -> Result<Self> {
        Self::from_files(TokenizerFiles { tokenizer_json: Some(json), ..Default::default() }, max_len)
    }

    /// Loads a checkpoint's tokenizer files; `max_len` is the text tower's
    /// `max_position_embeddings`.
    pub fn from_files(files: TokenizerFiles<'_>, max_len: usize) -> Result<Self> {
        Self::for_model(files, max_len, "siglip")
    }

    /// [`Self::from_files`] for a checkpoint of `model_type` (its `config.json`): for `siglip2`
    /// (NaFlex) transformers always loads `Siglip2Tokenizer`, whatever class the tokenizer
    /// config names (`MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS`).
    pub fn for_model(files: TokenizerFiles<'_>, max_len: usize, model_type: &str) -> Result<Self> {
        if max_len < 2 {
            return Err(Error::Config(format!("max_position_embeddings = {max_len} leaves no room for text")));
        }
        let forced = (model_type == "siglip2").then_some(Class::Gemma { lowercase: true });
        let config = TokenizerConfig::parse(files.tokenizer_config, forced)?;
        if let Class::Gemma { lowercase } = config.class {
            return Self::gemma(files, config, lowercase, max_len);
        }
        let spm = match (files.spiece_model, files.tokenizer_json) {
            (Some(bytes), _) => Some(SpmModel::parse(bytes)?),
            (None, Some(json)) => {
                let v: Value = serde_json::from_slice(json)
                    .map_err(|e| Error::Tokenizer(format!("tokenizer.json could not be read: {e}")))?;
                let model = SpmModel::from_tokenizer_json(&v)?;
                // The `tokenizers` crate panics on a malformed `Precompiled` map (found by
                // fuzzing); one only comes with a SentencePiece model, which is read above.
                // Looked for anywhere in the normalizer, tagged or not: the crate also reads
                // normalizers whose "type" is missing, and panics while reading a bad map.
                if model.is_none() && mentions_precompiled(&v["normalizer"]) {
                    return Err(precompiled_without_unigram());
                }
                model
            }
            (None, None) => {
                return Err(Error::Tokenizer("the checkpoint has neither spiece.model nor tokenizer.json".into()))
            }
        };
        let (backend, pieces) = match spm {
            Some(mut model) => {
                // `SentencePieceBackend` turns the dummy prefix off for `legacy=False`.
                if !config.legacy {
                    model.rules.add_dummy_prefix = false;
                }
                let encoder = SpmEncoder::new(&model)?;
                let unk_prefix_len = encoder.encode(&config.unk)?.len();
                (Backend::Spm { encoder: Box::new(encoder), unk_prefix_len }, model.pieces.len())
            }
            None => {
                let json = files.tokenizer_json.unwrap_or_default();
                let inner = Tokenizer::from_bytes(json)
                    .map_err(|e| Error::Tokenizer(format!("tokenizer.json could not be read: {e}")))?;
                // The same check on the normalizer as the crate read it: it also takes
                // normalizers (and models) without their "type" tag, which the check above
                // cannot see (found by fuzzing). Serialized, every normalizer has its tag.
                let normalizer = serde_json::to_value(inner.get_normalizer())
                    .map_err(|e| Error::Tokenizer(format!("tokenizer.json's normalizer could not be checked: {e}")))?;
                if !precompiled_normalizers(&normalizer).is_empty() {
                    return Err(precompiled_without_unigram());
                }
                let n = inner.get_vocab_size(false);
                (Backend::Other(Box::new(inner)), n)
            }
        };
        let mut tokenizer = SiglipTokenizer {
            backend,
            added: config.added,
            added_ids: HashMap::new(),
            special: config.special.iter().cloned().collect(),
            unk_token: config.unk.clone(),
            lower: config.lower,
            eos_id: 0,
            pad_id: 0,
            pad_left: false,
            attention_mask: config.attention_mask,
            vocab_size: pieces,
            max_len,
        };
        // Special tokens the config does not list are added as `SiglipTokenizer.__init__` adds
        // them: with the vocabulary's id, or a new one after it.
        for content in &config.special {
            if tokenizer.added.iter().any(|t| &t.content == content) {
                continue;
            }
            let id = match tokenizer.vocab_id(content) {
                Some(id) => id,
                None => tokenizer.added.iter().map(|t| t.id + 1).max().unwrap_or(0).max(pieces as u32),
            };
            tokenizer.added.push(AddedToken {
                content: content.clone(),
                id,
                lstrip: false,
                rstrip: false,
                single_word: false,
                normalized: None,
                special: true,
            });
        }
        tokenizer.added_ids = tokenizer.added.iter().map(|t| (t.content.clone(), t.id)).collect();
        tokenizer.added.retain(|t| !t.content.is_empty());
        tokenizer.added.sort_by_key(|t| std::cmp::Reverse(t.content.len()));
        tokenizer.vocab_size = tokenizer.added_ids.values().map(|&id| id as usize + 1).fold(pieces, usize::max);
        tokenizer.eos_id = tokenizer.token_id(&config.eos).ok_or_else(|| {
            Error::Tokenizer(format!("the tokenizer has no end-of-text token {:?}; is it SigLIP's?", config.eos))
        })?;
        tokenizer.pad_id = tokenizer.token_id(&config.pad).unwrap_or(tokenizer.eos_id);
        Ok(tokenizer)
    }

    /// `GemmaTokenizer` / `Siglip2Tokenizer`: the `tokenizer.json` as they rebuild it.
    fn gemma(files: TokenizerFiles<'_>, config: TokenizerConfig, lowercase: bool, max_len: usize) -> Result<Self> {
        let json = files.tokenizer_json.ok_or_else(|| {
            Error::Tokenizer(
                "tokenizer_config.json names a Gemma tokenizer (SigLIP 2), which needs the checkpoint's tokenizer.json"
                    .into(),
            )
        })?;
        let (inner, pad_left) = gemma::backend(json, &config, lowercase, max_len)?;
        let id = |token: &str, what: &str| {
            inner.token_to_id(token).ok_or_else(|| {
                Error::Tokenizer(format!("the tokenizer has no {what} token {token:?}; is it SigLIP 2's?"))
            })
        };
        Ok(SiglipTokenizer {
            eos_id: id(&config.eos, "end-of-text")?,
            pad_id: id(&config.pad, "padding")?,
            pad_left,
            attention_mask: config.attention_mask,
            vocab_size: inner.get_vocab_size(true),
            backend: Backend::Gemma(Box::new(inner)),
            added: Vec::new(),
            added_ids: HashMap::new(),
            special: HashSet::new(),
            unk_token: config.unk,
            lower: lowercase,
            max_len,
        })
    }

    /// Whether the reference pipeline masks the padding: the checkpoint's tokenizer returns
    /// an `attention_mask` (its `model_input_names`; SigLIP 2's conversion leaves it out).
    pub fn attention_mask(&self) -> bool {
        self.attention_mask
    }

    /// The id of a piece in the model's own vocabulary.
    fn vocab_id(&self, piece: &str) -> Option<u32> {
        match &self.backend {
            Backend::Spm { encoder, .. } => {
                let id = encoder.piece_to_id(piece);
                (id != encoder.piece_to_id(&self.unk_token) || piece == self.unk_token).then_some(id)
            }
            Backend::Other(inner) | Backend::Gemma(inner) => inner.token_to_id(piece),
        }
    }

    /// `convert_tokens_to_ids` for one token.
    fn token_id(&self, token: &str) -> Option<u32> {
        self.added_ids.get(token).copied().or_else(|| self.vocab_id(token))
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Number of ids the tokenizer can produce (vocabulary plus added tokens).
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// Encodes one text (already templated) to `max_len` ids.
    pub fn encode(&self, text: &str) -> Result<Encoded> {
        if let Backend::Gemma(inner) = &self.backend {
            // Truncated by the crate, with room for the post-processor's tokens.
            let mut ids = inner
                .encode(text, true)
                .map_err(|e| Error::Tokenizer(format!("could not encode {text:?}: {e}")))?
                .get_ids()
                .to_vec();
            let len = ids.len();
            if len > self.max_len {
                return Err(Error::Tokenizer(format!(
                    "{text:?} became {len} tokens, more than the model's {}: the tokenizer does not truncate",
                    self.max_len
                )));
            }
            let pad = self.max_len - len;
            if self.pad_left {
                ids.splice(0..0, std::iter::repeat_n(self.pad_id, pad));
            } else {
                ids.resize(self.max_len, self.pad_id);
            }
            return Ok(Encoded { ids, start: if self.pad_left { pad } else { 0 }, len });
        }
        let mut ids = match &self.backend {
            Backend::Spm { encoder, unk_prefix_len } => self.spm_ids(encoder, *unk_prefix_len, text)?,
            Backend::Other(inner) | Backend::Gemma(inner) => inner
                .encode(canonicalize(text, self.lower).as_str(), false)
                .map_err(|e| Error::Tokenizer(format!("could not encode {text:?}: {e}")))?
                .get_ids()
                .to_vec(),
        };
        // `truncation=True` keeps room for the one special token, which is then added unless
        // the text already ends with it.
        ids.truncate(self.max_len - 1);
        if ids.last() != Some(&self.eos_id) {
            ids.push(self.eos_id);
        }
        let len = ids.len();
        ids.resize(self.max_len, self.pad_id);
        Ok(Encoded { ids, start: 0, len })
    }

    /// `SiglipTokenizer.tokenize` followed by `convert_tokens_to_ids`.
    fn spm_ids(&self, encoder: &SpmEncoder, unk_prefix_len: usize, text: &str) -> Result<Vec<u32>> {
        let text = format!("{SPACE_SYMBOL}{}", text.replace(SPACE_SYMBOL, " "));
        let mut parts = self.split_added(&text);
        // lstrip / rstrip / single_word, in order, as `PreTrainedTokenizer.tokenize` applies them.
        for i in 0..parts.len() {
            let Some(token) = parts[i].1 else { continue };
            let token = &self.added[token];
            if token.rstrip && i + 1 < parts.len() && !parts[i + 1].0.is_empty() {
                parts[i + 1].0 = parts[i + 1].0.trim_start_matches(is_py_space).to_string();
            }
            if token.lstrip && i > 0 && !parts[i - 1].0.is_empty() {
                parts[i - 1].0 = parts[i - 1].0.trim_end_matches(is_py_space).to_string();
            }
            if token.single_word {
                if i > 0 && !parts[i - 1].0.is_empty() && !parts[i - 1].0.ends_with(' ') {
                    let content = std::mem::take(&mut parts[i].0);
                    parts[i - 1].0.push_str(&content);
                } else if i + 1 < parts.len() && !parts[i + 1].0.is_empty() && !parts[i + 1].0.starts_with(' ') {
                    let content = std::mem::take(&mut parts[i].0);
                    parts[i + 1].0.insert_str(0, &content);
                }
            }
        }
        let mut tokens: Vec<String> = Vec::new();
        for (part, _) in parts {
            if part.is_empty() {
                continue;
            }
            if self.added_ids.contains_key(&part) || self.special.contains(&part) {
                tokens.push(part);
                continue;
            }
            // `_tokenize`: canonicalize, encode behind the unknown token, drop its pieces.
            let canonical = canonicalize(&part, self.lower);
            let pieces = encoder.encode(&format!("{}{canonical}", self.unk_token))?;
            let skip = if pieces.len() >= unk_prefix_len { unk_prefix_len } else { 0 };
            tokens.extend(pieces.into_iter().skip(skip).map(|t| t.piece));
        }
        if tokens.len() > 1 && tokens[0] == SPACE_SYMBOL && self.special.contains(&tokens[1]) {
            tokens.remove(0);
        }
        Ok(tokens.iter().map(|t| self.added_ids.get(t).copied().unwrap_or_else(|| encoder.piece_to_id(t))).collect())
    }

    /// Splits `text` around added tokens (leftmost, then longest match): each part with the
    /// index of the added token it is, if it is one.
    fn split_added(&self, text: &str) -> Vec<(String, Option<usize>)> {
        let mut parts = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < text.len() {
            let found = self.added.iter().position(|t| text[i..].starts_with(t.content.as_str()));
            match found {
                Some(k) => {
                    if start < i {
                        parts.push((text[start..i].to_string(), None));
                    }
                    let end = i + self.added[k].content.len();
                    parts.push((text[i..end].to_string(), Some(k)));
                    start = end;
                    i = end;
                }
                None => i += text[i..].chars().next().map_or(1, char::len_utf8),
            }
        }
        if start < text.len() {
            parts.push((text[start..].to_string(), None));
        }
        parts
    }
}

/// The `tokenizers` crate panics on a malformed `Precompiled` map, so one is only accepted with
/// the SentencePiece model this crate reads itself.
fn precompiled_without_unigram() -> Error {
    Error::Tokenizer(
        "tokenizer.json has a Precompiled normalizer without a SentencePiece Unigram model; \
         this combination is not supported"
            .into(),
    )
}

/// Whether a `tokenizer.json` normalizer has a `Precompiled` part anywhere: an object tagged
/// so, or one with a `precompiled_charsmap` (what the `tokenizers` crate reads an untagged one
/// by), at any depth.
fn mentions_precompiled(v: &Value) -> bool {
    match v {
        Value::Object(o) => {
            o.get("type").is_some_and(|t| t == "Precompiled")
                || o.contains_key("precompiled_charsmap")
                || o.values().any(mentions_precompiled)
        }
        Value::Array(a) => a.iter().any(mentions_precompiled),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_precompiled_map_is_an_error_not_a_panic() {
        // Reduced from a fuzzer crash: the tokenizers crate panics on this normalizer.
        let json = r##"{"version":"1.0","added_tokens":[],"normalizer":{"type":"Sequence","normalizers":[
            {"type":"Precompiled","precompiled_charsmap":"#not base64"}]},"pre_tokenizer":null,
            "post_processor":null,"decoder":null,"model":{"type":"WordLevel","vocab":{"</s>":0,"a":1},
            "unk_token":"</s>"}}"##;
        let err = SiglipTokenizer::from_json(json.as_bytes(), 64).err().unwrap();
        assert!(err.to_string().contains("Precompiled"), "{err}");
        // Without the map the same tokenizer.json loads, through the tokenizers crate.
        let plain =
            json.replace(r##"{"type":"Precompiled","precompiled_charsmap":"#not base64"}"##, r#"{"type":"Lowercase"}"#);
        assert!(SiglipTokenizer::from_json(plain.as_bytes(), 64).is_ok());
    }

    #[test]
    fn precompiled_map_without_type_tags_is_an_error_not_a_panic() {
        // Reduced from a fuzzer crash (tokenizer_json): the `tokenizers` crate also reads a
        // normalizer and a model that lack their "type" tag, so a Precompiled map hidden in an
        // untagged Sequence reached it, and its map reader indexes out of bounds on encode.
        // The map: a one-unit trie whose root points past its end (valid base64).
        let map = r#"{"type":"Precompiled","precompiled_charsmap":"BAAAAAAEAAA="}"#;
        let model = r#"{"type":"WordLevel","vocab":{"</s>":0,"a":1},"unk_token":"</s>"}"#;
        let untagged_model = r#"{"vocab":{"</s>":0,"a":1},"unk_token":"</s>"}"#;
        for (normalizer, model) in [
            (format!(r#"{{"normalizers":[{map}]}}"#), model),
            (format!(r#"{{"repltype":"Sequence","normalizers":[{map}]}}"#), untagged_model),
            (map.to_string(), untagged_model),
        ] {
            let json = format!(
                r#"{{"version":"1.0","added_tokens":[],"normalizer":{normalizer},"pre_tokenizer":null,
                   "post_processor":null,"decoder":null,"model":{model}}}"#
            );
            match SiglipTokenizer::from_json(json.as_bytes(), 64) {
                Err(err) => assert!(err.to_string().contains("Precompiled"), "{err}"),
                Ok(tokenizer) => panic!("loaded, and encoding gives {:?}", tokenizer.encode("a cat")),
            }
        }
    }

    #[test]
    fn malformed_precompiled_map_in_an_untagged_sequence_is_an_error_not_a_panic() {
        // Reduced from a second fuzzer crash (tokenizer_json): the Sequence's "type" key was
        // garbled, its Precompiled map is not base64, and the `tokenizers` crate panics while
        // reading it (`expect("Precompiled")`), before anything can look at what it read.
        for normalizer in [
            r##"{"ty(pe":"Sequence","normalizers":[{"type":"Precompiled","precompiled_charsmap":"#not base64"}]}"##,
            r##"{"normalizers":[{"normalizers":[{"type":"Precompiled","precompiled_charsmap":"\u200b"}]}]}"##,
        ] {
            let json = format!(
                r#"{{"version":"1.0","added_tokens":[],"normalizer":{normalizer},"pre_tokenizer":null,
                   "post_processor":null,"decoder":null,
                   "model":{{"type":"WordLevel","vocab":{{"</s>":0,"a":1}},"unk_token":"</s>"}}}}"#
            );
            let err = SiglipTokenizer::from_json(json.as_bytes(), 64).err().unwrap();
            assert!(err.to_string().contains("Precompiled"), "{err}");
        }
    }
}
