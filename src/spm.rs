//! A SentencePiece model (`spiece.model`, as google/siglip-* checkpoints ship it) turned into
//! the `tokenizer.json` the rest of the crate reads, so no Python is needed to convert a
//! checkpoint.
//!
//! The result is what `transformers`' SentencePiece converter produces, reduced to what
//! matters after [`crate::tokenizer::canonicalize`] (which already lowercases, drops
//! punctuation and squeezes whitespace): the model's precompiled normalization map, a
//! Metaspace pre-tokenizer (`▁`, prepended), and the Unigram vocabulary with its scores.

use serde_json::{json, Value};

use crate::error::{Error, Result};

/// One vocabulary entry of the SentencePiece model.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub piece: String,
    pub score: f32,
    /// SentencePiece's type: 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte.
    pub kind: u64,
}

/// The parts of a `ModelProto` that tokenization needs.
#[derive(Debug, Clone, Default)]
pub struct SpmModel {
    pub pieces: Vec<Piece>,
    pub precompiled_charsmap: Vec<u8>,
    pub byte_fallback: bool,
    pub model_type: u64,
}

const TYPE_UNKNOWN: u64 = 2;
const TYPE_CONTROL: u64 = 3;
/// `TrainerSpec.model_type`: 1 is Unigram (the default, and SigLIP's).
const MODEL_UNIGRAM: u64 = 1;

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.pos).ok_or_else(|| bad("truncated varint"))?;
            self.pos += 1;
            value |= ((byte & 0x7f) as u64) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(bad("varint too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.bytes.len()).ok_or_else(|| bad("truncated field"))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// Reads the next field: (number, wire type, payload for length-delimited / fixed).
    fn field(&mut self) -> Result<(u64, Field<'a>)> {
        let key = self.varint()?;
        let (number, wire) = (key >> 3, key & 7);
        let value = match wire {
            0 => Field::Varint(self.varint()?),
            1 => Field::Fixed(self.take(8)?),
            2 => {
                let n = self.varint()? as usize;
                Field::Bytes(self.take(n)?)
            }
            5 => Field::Fixed(self.take(4)?),
            other => return Err(bad(&format!("unsupported wire type {other}"))),
        };
        Ok((number, value))
    }
}

enum Field<'a> {
    Varint(u64),
    Fixed(&'a [u8]),
    Bytes(&'a [u8]),
}

fn bad(what: &str) -> Error {
    Error::Tokenizer(format!("spiece.model is not a valid SentencePiece model ({what})"))
}

impl SpmModel {
    /// Parses a serialized `sentencepiece.ModelProto`.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut model = SpmModel { model_type: MODEL_UNIGRAM, ..Default::default() };
        let mut r = Reader::new(bytes);
        while !r.done() {
            match r.field()? {
                (1, Field::Bytes(b)) => model.pieces.push(parse_piece(b)?),
                (2, Field::Bytes(b)) => {
                    let mut t = Reader::new(b);
                    while !t.done() {
                        match t.field()? {
                            (3, Field::Varint(v)) => model.model_type = v,
                            (35, Field::Varint(v)) => model.byte_fallback = v != 0,
                            _ => {}
                        }
                    }
                }
                (3, Field::Bytes(b)) => {
                    let mut n = Reader::new(b);
                    while !n.done() {
                        if let (2, Field::Bytes(map)) = n.field()? {
                            model.precompiled_charsmap = map.to_vec();
                        }
                    }
                }
                _ => {}
            }
        }
        if model.pieces.is_empty() {
            return Err(bad("no vocabulary"));
        }
        if model.model_type != MODEL_UNIGRAM {
            return Err(Error::Tokenizer(format!(
                "spiece.model is of model type {}; SigLIP uses Unigram (1)",
                model.model_type
            )));
        }
        Ok(model)
    }

    /// The equivalent `tokenizer.json`.
    pub fn to_tokenizer_json(&self) -> Result<String> {
        let unk_id = self.pieces.iter().position(|p| p.kind == TYPE_UNKNOWN).ok_or_else(|| bad("no <unk> piece"))?;
        let added: Vec<Value> = self
            .pieces
            .iter()
            .enumerate()
            .filter(|(_, p)| p.kind == TYPE_CONTROL)
            .map(|(id, p)| {
                json!({"id": id, "content": p.piece, "single_word": false, "lstrip": false,
                       "rstrip": false, "normalized": false, "special": true})
            })
            .collect();
        let vocab: Vec<Value> = self.pieces.iter().map(|p| json!([p.piece, p.score])).collect();
        let normalizer = if self.precompiled_charsmap.is_empty() {
            Value::Null
        } else {
            json!({"type": "Sequence", "normalizers": [
                {"type": "Precompiled", "precompiled_charsmap": base64(&self.precompiled_charsmap)}
            ]})
        };
        let metaspace =
            json!({"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "always", "split": true});
        let tokenizer = json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": normalizer,
            "pre_tokenizer": metaspace,
            "post_processor": null,
            "decoder": metaspace,
            "model": {"type": "Unigram", "unk_id": unk_id, "vocab": vocab, "byte_fallback": self.byte_fallback},
        });
        serde_json::to_string(&tokenizer).map_err(|e| Error::Tokenizer(format!("could not write tokenizer.json: {e}")))
    }
}

fn parse_piece(bytes: &[u8]) -> Result<Piece> {
    let mut r = Reader::new(bytes);
    let mut piece = Piece { piece: String::new(), score: 0.0, kind: 1 };
    while !r.done() {
        match r.field()? {
            (1, Field::Bytes(b)) => {
                piece.piece = String::from_utf8(b.to_vec()).map_err(|_| bad("a piece is not UTF-8"))?;
            }
            (2, Field::Fixed(b)) if b.len() == 4 => piece.score = f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            (3, Field::Varint(v)) => piece.kind = v,
            _ => {}
        }
    }
    Ok(piece)
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_known_values() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(SpmModel::parse(b"").is_err());
        assert!(SpmModel::parse(&[0x0a, 0xff]).is_err());
        assert!(SpmModel::parse(b"not a protobuf at all, just text").is_err());
    }
}
