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
//! them (see [`gemma_backend`]): no canonicalization, the file's vocabulary, merges and
//! post-processor (`$A <eos>`), the class's own normalizer (`Siglip2Tokenizer` lowercases,
//! `GemmaTokenizer` does not), truncation that leaves room for the post-processor's tokens, and
//! padding with `<pad>` on the configured side (the classes default to the left).

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use tokenizers::Tokenizer;

use crate::error::{Error, Result};
use crate::spm::{precompiled_normalizers, SpmEncoder, SpmModel, SPACE_SYMBOL};

/// The zero-shot pipeline's default template (`transformers` `ZeroShotImageClassificationPipeline`).
pub const DEFAULT_TEMPLATE: &str = "This is a photo of {}.";

/// Longest label accepted, in bytes. Anything longer is truncated to 64 tokens anyway; the
/// limit only stops absurd inputs from costing time.
pub const MAX_LABEL_BYTES: usize = 16 * 1024;

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

/// A token the text is split around (transformers' `AddedToken`), as `tokenizer_config.json`
/// and `tokenizer.json` (`added_tokens`) write it.
#[derive(Debug, Clone, serde::Deserialize)]
struct AddedToken {
    content: String,
    #[serde(default)]
    id: u32,
    #[serde(default)]
    lstrip: bool,
    #[serde(default)]
    rstrip: bool,
    #[serde(default)]
    single_word: bool,
    /// Matched on the normalized text (`normalized`, when the config says).
    #[serde(default)]
    normalized: Option<bool>,
    #[serde(default)]
    special: bool,
}

impl AddedToken {
    /// The `tokenizers` crate's token with the same flags; `normalized` defaults to
    /// `!special`, as in transformers.
    fn to_crate(&self) -> tokenizers::AddedToken {
        tokenizers::AddedToken::from(self.content.clone(), self.special)
            .single_word(self.single_word)
            .lstrip(self.lstrip)
            .rstrip(self.rstrip)
            .normalized(self.normalized.unwrap_or(!self.special))
    }
}

/// Which transformers tokenizer class a checkpoint's files select.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// `SiglipTokenizer` (SentencePiece, canonicalized text): SigLIP, and the default.
    Siglip,
    /// `GemmaTokenizer` (the fixed-resolution SigLIP 2 checkpoints) or `Siglip2Tokenizer`
    /// (which lowercases): a Gemma BPE `tokenizer.json`.
    Gemma { lowercase: bool },
}

impl Class {
    /// From `tokenizer_class` in `tokenizer_config.json` (the `…Fast` names are the same class
    /// in transformers 5).
    fn named(name: Option<&str>) -> Self {
        match name.map(|n| n.strip_suffix("Fast").unwrap_or(n)) {
            Some("GemmaTokenizer") => Class::Gemma { lowercase: false },
            Some("Siglip2Tokenizer") => Class::Gemma { lowercase: true },
            _ => Class::Siglip,
        }
    }
}

/// What `tokenizer_config.json` says, with the class's defaults.
struct TokenizerConfig {
    class: Class,
    added: Vec<AddedToken>,
    /// Whether the config has `added_tokens_decoder` at all (transformers then re-adds those,
    /// even none, rather than the file's).
    added_listed: bool,
    /// `eos_token`, `unk_token`, `pad_token` (and for Gemma `bos_token`, `mask_token`), then
    /// the additional special tokens.
    special: Vec<String>,
    eos: String,
    unk: String,
    pad: String,
    legacy: bool,
    lower: bool,
    /// `padding_side` / `truncation_side`, when the config names them.
    padding_left: Option<bool>,
    truncation_left: Option<bool>,
    /// Whether the tokenizer returns an `attention_mask` (`model_input_names`; every class
    /// defaults to yes), i.e. whether the zero-shot pipeline masks the padding.
    attention_mask: bool,
}

fn token_content(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string).or_else(|| v["content"].as_str().map(str::to_string))
}

/// `"left"` / `"right"` (any case) as "is it the left".
fn side(v: &Value, key: &str) -> Result<Option<bool>> {
    match v[key].as_str().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("left") => Ok(Some(true)),
        Some("right") => Ok(Some(false)),
        Some(other) => Err(Error::Tokenizer(format!("{key} is {other:?}; expected \"left\" or \"right\""))),
    }
}

impl TokenizerConfig {
    /// With the class `tokenizer_class` names, unless `class` says which.
    fn parse(json: Option<&[u8]>, class: Option<Class>) -> Result<Self> {
        let v: Value = match json {
            Some(bytes) => serde_json::from_slice(bytes)
                .map_err(|e| Error::Tokenizer(format!("tokenizer_config.json could not be read: {e}")))?,
            None => Value::Null,
        };
        let class = class.unwrap_or_else(|| Class::named(v["tokenizer_class"].as_str()));
        let mut added = Vec::new();
        if let Some(map) = v["added_tokens_decoder"].as_object() {
            for (id, t) in map {
                let id: u32 = id.parse().map_err(|_| {
                    Error::Tokenizer(format!("tokenizer_config.json: added token id {id:?} is not a number"))
                })?;
                let content = token_content(t).ok_or_else(|| {
                    Error::Tokenizer(format!("tokenizer_config.json: added token {id} has no content"))
                })?;
                let flag = |k: &str| t[k].as_bool().unwrap_or(false);
                added.push(AddedToken {
                    content,
                    id,
                    lstrip: flag("lstrip"),
                    rstrip: flag("rstrip"),
                    single_word: flag("single_word"),
                    normalized: t["normalized"].as_bool(),
                    special: flag("special"),
                });
            }
        }
        added.sort_by_key(|t| t.id);
        let named = |k: &str, default: &str| token_content(&v[k]).unwrap_or_else(|| default.to_string());
        let (eos, unk, pad, mut special) = match class {
            Class::Siglip => {
                let (eos, unk, pad) =
                    (named("eos_token", "</s>"), named("unk_token", "<unk>"), named("pad_token", "</s>"));
                (eos.clone(), unk.clone(), pad.clone(), vec![eos, unk, pad])
            }
            Class::Gemma { .. } => {
                let (eos, unk, pad) =
                    (named("eos_token", "<eos>"), named("unk_token", "<unk>"), named("pad_token", "<pad>"));
                let (bos, mask) = (named("bos_token", "<bos>"), named("mask_token", "<mask>"));
                (eos.clone(), unk.clone(), pad.clone(), vec![eos, unk, pad, bos, mask])
            }
        };
        for key in ["extra_special_tokens", "additional_special_tokens"] {
            special.extend(v[key].as_array().into_iter().flatten().filter_map(token_content));
        }
        let attention_mask = match v["model_input_names"].as_array() {
            Some(names) => names.iter().any(|n| n == "attention_mask"),
            None => true,
        };
        Ok(TokenizerConfig {
            class,
            added_listed: v["added_tokens_decoder"].is_object(),
            added,
            special,
            eos,
            unk,
            pad,
            legacy: v["legacy"].as_bool().unwrap_or(true),
            lower: v["do_lower_case"].as_bool().unwrap_or(true),
            padding_left: side(&v, "padding_side")?,
            truncation_left: side(&v, "truncation_side")?,
            attention_mask,
        })
    }
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
    /// ([`gemma_backend`]): raw text in, ids with the post-processor's tokens out.
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
        let (inner, pad_left) = gemma_backend(json, &config, lowercase, max_len)?;
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
fn gemma_backend(json: &[u8], config: &TokenizerConfig, lowercase: bool, max_len: usize) -> Result<(Tokenizer, bool)> {
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

/// Python's `str.isspace` (what `\s`, `strip()` and `lstrip()` use): Unicode White_Space plus
/// the information separators U+001C..U+001F.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Puts a label into a template: every `{}` becomes the label.
pub fn apply_template(template: &str, label: &str) -> Result<String> {
    if !template.contains("{}") {
        return Err(Error::Input(format!("the template {template:?} has no `{{}}` where the label goes")));
    }
    Ok(template.replace("{}", label))
}

/// Checks a user label: not empty (after trimming) and not absurdly long.
pub fn check_label(label: &str) -> Result<()> {
    if label.trim().is_empty() {
        return Err(Error::Input("a label is empty; give each label some text".into()));
    }
    if label.len() > MAX_LABEL_BYTES {
        return Err(Error::Input(format!(
            "a label is {} bytes long; labels are limited to {MAX_LABEL_BYTES} bytes (only the first 64 tokens count)",
            label.len()
        )));
    }
    Ok(())
}

/// `SiglipTokenizer.canonicalize_text`: lowercase (when `lower`), drop Python's
/// `string.punctuation`, collapse runs of whitespace (Python's `\s`) to one space, trim.
pub fn canonicalize(text: &str, lower: bool) -> String {
    let lowered;
    let text = if lower {
        lowered = text.to_lowercase();
        lowered.as_str()
    } else {
        text
    };
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_ascii_punctuation() {
            continue;
        }
        if is_py_space(c) {
            pending_space = true;
            continue;
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonicalize_l(text: &str) -> String {
        canonicalize(text, true)
    }

    #[test]
    fn canonicalize_like_python() {
        // Expected values computed with SiglipTokenizer.canonicalize_text (transformers 5.24).
        assert_eq!(canonicalize_l("This is a photo of Two DOGS!!."), "this is a photo of two dogs");
        assert_eq!(canonicalize_l("   spaces\tand\nnewlines   "), "spaces and newlines");
        assert_eq!(canonicalize_l("C++ & Rust: fast?"), "c rust fast");
        assert_eq!(canonicalize_l("l'été à Paris — café"), "lété à paris — café");
        assert_eq!(canonicalize_l("!!!"), "");
        assert_eq!(canonicalize_l("a\u{1c}b\u{a0}c"), "a b c");
    }

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

    #[test]
    fn template_and_labels() {
        assert_eq!(apply_template(DEFAULT_TEMPLATE, "cat").unwrap(), "This is a photo of cat.");
        assert!(apply_template("no placeholder", "cat").is_err());
        assert!(check_label("  ").is_err());
        assert!(check_label("").is_err());
        assert!(check_label(&"word ".repeat(500)).is_ok());
        assert!(check_label(&"x".repeat(MAX_LABEL_BYTES + 1)).is_err());
    }
}
