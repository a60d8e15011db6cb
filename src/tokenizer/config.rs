//! What a checkpoint's `tokenizer_config.json` says, with the defaults of the transformers
//! class it selects: the class, added and special tokens, padding and truncation sides, and
//! whether the tokenizer returns an attention mask.

use serde_json::Value;

use crate::error::{Error, Result};

/// A token the text is split around (transformers' `AddedToken`), as `tokenizer_config.json`
/// and `tokenizer.json` (`added_tokens`) write it.
#[derive(Debug, Clone, serde::Deserialize)]
pub(super) struct AddedToken {
    pub(super) content: String,
    #[serde(default)]
    pub(super) id: u32,
    #[serde(default)]
    pub(super) lstrip: bool,
    #[serde(default)]
    pub(super) rstrip: bool,
    #[serde(default)]
    pub(super) single_word: bool,
    /// Matched on the normalized text (`normalized`, when the config says).
    #[serde(default)]
    pub(super) normalized: Option<bool>,
    #[serde(default)]
    pub(super) special: bool,
}

impl AddedToken {
    /// The `tokenizers` crate's token with the same flags; `normalized` defaults to
    /// `!special`, as in transformers.
    pub(super) fn to_crate(&self) -> tokenizers::AddedToken {
        tokenizers::AddedToken::from(self.content.clone(), self.special)
            .single_word(self.single_word)
            .lstrip(self.lstrip)
            .rstrip(self.rstrip)
            .normalized(self.normalized.unwrap_or(!self.special))
    }
}

/// Which transformers tokenizer class a checkpoint's files select.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
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
pub(super) struct TokenizerConfig {
    pub(super) class: Class,
    pub(super) added: Vec<AddedToken>,
    /// Whether the config has `added_tokens_decoder` at all (transformers then re-adds those,
    /// even none, rather than the file's).
    pub(super) added_listed: bool,
    /// `eos_token`, `unk_token`, `pad_token` (and for Gemma `bos_token`, `mask_token`), then
    /// the additional special tokens.
    pub(super) special: Vec<String>,
    pub(super) eos: String,
    pub(super) unk: String,
    pub(super) pad: String,
    pub(super) legacy: bool,
    pub(super) lower: bool,
    /// `padding_side` / `truncation_side`, when the config names them.
    pub(super) padding_left: Option<bool>,
    pub(super) truncation_left: Option<bool>,
    /// Whether the tokenizer returns an `attention_mask` (`model_input_names`; every class
    /// defaults to yes), i.e. whether the zero-shot pipeline masks the padding.
    pub(super) attention_mask: bool,
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
    pub(super) fn parse(json: Option<&[u8]>, class: Option<Class>) -> Result<Self> {
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
