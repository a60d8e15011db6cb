//! Text to token ids exactly as the reference prepares SigLIP text: the zero-shot template,
//! `SiglipTokenizer.canonicalize_text` (lowercase, ASCII punctuation removed, whitespace
//! squeezed and trimmed), SentencePiece from `tokenizer.json`, truncation to `max_len - 1`,
//! `</s>` appended, padded with the pad id (also `</s>`) to `max_len`.

use tokenizers::Tokenizer;

use crate::error::{Error, Result};

/// The zero-shot pipeline's default template (`transformers` `ZeroShotImageClassificationPipeline`).
pub const DEFAULT_TEMPLATE: &str = "This is a photo of {}.";

/// Longest label accepted, in bytes. Anything longer is truncated to 64 tokens anyway; the
/// limit only stops absurd inputs from costing time.
pub const MAX_LABEL_BYTES: usize = 16 * 1024;

/// Token ids for one text, `max_len` long, plus how many of them are real (not padding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub ids: Vec<u32>,
    /// Number of leading ids that are text or `</s>`; the rest are padding.
    pub len: usize,
}

/// SigLIP's tokenizer: a Hugging Face `tokenizer.json` plus the reference's text rules.
pub struct SiglipTokenizer {
    inner: Tokenizer,
    eos_id: u32,
    pad_id: u32,
    max_len: usize,
}

impl SiglipTokenizer {
    /// Loads a `tokenizer.json`; `max_len` is the text tower's `max_position_embeddings`.
    pub fn from_json(json: &[u8], max_len: usize) -> Result<Self> {
        let inner = Tokenizer::from_bytes(json)
            .map_err(|e| Error::Tokenizer(format!("tokenizer.json could not be read: {e}")))?;
        let eos_id = inner
            .token_to_id("</s>")
            .ok_or_else(|| Error::Tokenizer("tokenizer.json has no `</s>` token; is it SigLIP's?".into()))?;
        // SiglipTokenizer's pad token is `</s>` too.
        let pad_id = eos_id;
        if max_len < 2 {
            return Err(Error::Config(format!("max_position_embeddings = {max_len} leaves no room for text")));
        }
        Ok(SiglipTokenizer { inner, eos_id, pad_id, max_len })
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Encodes one text (already templated) to `max_len` ids.
    pub fn encode(&self, text: &str) -> Result<Encoded> {
        let canonical = canonicalize(text);
        let encoding = self
            .inner
            .encode(canonical.as_str(), false)
            .map_err(|e| Error::Tokenizer(format!("could not encode {text:?}: {e}")))?;
        let mut ids: Vec<u32> = encoding.get_ids().iter().copied().take(self.max_len - 1).collect();
        ids.push(self.eos_id);
        let len = ids.len();
        ids.resize(self.max_len, self.pad_id);
        Ok(Encoded { ids, len })
    }
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

/// `SiglipTokenizer.canonicalize_text`: lowercase, drop Python's `string.punctuation`,
/// collapse runs of whitespace (Python's `\s`, which includes U+001C..U+001F) to one space, trim.
pub fn canonicalize(text: &str) -> String {
    let is_space = |c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c);
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.to_lowercase().chars() {
        if c.is_ascii_punctuation() {
            continue;
        }
        if is_space(c) {
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

    #[test]
    fn canonicalize_like_python() {
        // Expected values computed with SiglipTokenizer.canonicalize_text (transformers 5.24).
        assert_eq!(canonicalize("This is a photo of Two DOGS!!."), "this is a photo of two dogs");
        assert_eq!(canonicalize("   spaces\tand\nnewlines   "), "spaces and newlines");
        assert_eq!(canonicalize("C++ & Rust: fast?"), "c rust fast");
        assert_eq!(canonicalize("l'été à Paris — café"), "lété à paris — café");
        assert_eq!(canonicalize("!!!"), "");
        assert_eq!(canonicalize("a\u{1c}b\u{a0}c"), "a b c");
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
