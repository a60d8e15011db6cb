//! SentencePiece models (`spiece.model`, as google/siglip-* checkpoints ship it): the parts of
//! the `ModelProto` that tokenization needs, SentencePiece's own normalization and Unigram
//! segmentation ([`SpmEncoder`]), the same model read back from a `tokenizer.json` that
//! transformers' converter (or this crate) wrote, and the conversion to that `tokenizer.json`.

mod normalizer;
mod unigram;

use serde_json::{json, Value};

pub use normalizer::{Normalizer, WhitespaceRules, SPACE_SYMBOL};
pub use unigram::{Token, Unigram};

use crate::base64;
use crate::error::{Error, Result};

/// `ModelProto.SentencePiece.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceType {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl PieceType {
    fn from_proto(v: u64) -> Result<Self> {
        Ok(match v {
            1 => PieceType::Normal,
            2 => PieceType::Unknown,
            3 => PieceType::Control,
            4 => PieceType::UserDefined,
            5 => PieceType::Unused,
            6 => PieceType::Byte,
            other => return Err(bad(&format!("unknown piece type {other}"))),
        })
    }
}

/// One vocabulary entry of the SentencePiece model.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub piece: String,
    pub score: f32,
    pub kind: PieceType,
}

/// The parts of a `ModelProto` that tokenization needs.
#[derive(Debug, Clone)]
pub struct SpmModel {
    pub pieces: Vec<Piece>,
    pub precompiled_charsmap: Vec<u8>,
    pub rules: WhitespaceRules,
    pub byte_fallback: bool,
    pub model_type: u64,
    pub treat_whitespace_as_suffix: bool,
}

/// `TrainerSpec.model_type`: 1 is Unigram (the default, and SigLIP's).
const MODEL_UNIGRAM: u64 = 1;

/// SentencePiece's `encode(text, out_type=str)` for one model: normalization, then Unigram.
#[derive(Debug, Clone)]
pub struct SpmEncoder {
    normalizer: Normalizer,
    unigram: Unigram,
}

impl SpmEncoder {
    pub fn new(model: &SpmModel) -> Result<Self> {
        let user_defined = model
            .pieces
            .iter()
            .filter(|p| p.kind == PieceType::UserDefined && !p.piece.is_empty())
            .map(|p| p.piece.clone());
        Ok(SpmEncoder {
            normalizer: Normalizer::new(&model.precompiled_charsmap, model.rules, user_defined.collect())?,
            unigram: Unigram::new(&model.pieces, model.unk_id()?, model.byte_fallback),
        })
    }

    /// The pieces SentencePiece gives `text`.
    pub fn encode(&self, text: &str) -> Result<Vec<Token>> {
        Ok(self.unigram.encode(&self.normalizer.normalize(text)?))
    }

    pub fn piece_to_id(&self, piece: &str) -> u32 {
        self.unigram.piece_to_id(piece)
    }
}

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
        let mut model = SpmModel {
            pieces: Vec::new(),
            precompiled_charsmap: Vec::new(),
            rules: WhitespaceRules::default(),
            byte_fallback: false,
            model_type: MODEL_UNIGRAM,
            treat_whitespace_as_suffix: false,
        };
        let mut r = Reader::new(bytes);
        while !r.done() {
            match r.field()? {
                (1, Field::Bytes(b)) => model.pieces.push(parse_piece(b)?),
                (2, Field::Bytes(b)) => {
                    let mut t = Reader::new(b);
                    while !t.done() {
                        match t.field()? {
                            (3, Field::Varint(v)) => model.model_type = v,
                            (24, Field::Varint(v)) => model.treat_whitespace_as_suffix = v != 0,
                            (35, Field::Varint(v)) => model.byte_fallback = v != 0,
                            _ => {}
                        }
                    }
                }
                (3, Field::Bytes(b)) => {
                    let mut n = Reader::new(b);
                    while !n.done() {
                        match n.field()? {
                            (2, Field::Bytes(map)) => model.precompiled_charsmap = map.to_vec(),
                            (3, Field::Varint(v)) => model.rules.add_dummy_prefix = v != 0,
                            (4, Field::Varint(v)) => model.rules.remove_extra_whitespaces = v != 0,
                            (5, Field::Varint(v)) => model.rules.escape_whitespaces = v != 0,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        model.check()?;
        Ok(model)
    }

    fn check(&self) -> Result<()> {
        if self.pieces.is_empty() {
            return Err(bad("no vocabulary"));
        }
        if self.model_type != MODEL_UNIGRAM {
            return Err(Error::Tokenizer(format!(
                "the SentencePiece model is of model type {}; SigLIP uses Unigram (1)",
                self.model_type
            )));
        }
        if self.treat_whitespace_as_suffix {
            return Err(Error::Tokenizer(
                "the SentencePiece model treats whitespace as a suffix; SigLIP's does not, and this is not supported"
                    .into(),
            ));
        }
        self.unk_id()?;
        Ok(())
    }

    /// The id of the `<unk>` piece.
    pub fn unk_id(&self) -> Result<u32> {
        self.pieces
            .iter()
            .position(|p| p.kind == PieceType::Unknown)
            .map(|i| i as u32)
            .ok_or_else(|| bad("no <unk> piece"))
    }

    /// Reads the model back from a `tokenizer.json` holding a SentencePiece Unigram model, as
    /// transformers' `SpmConverter` or [`SpmModel::to_tokenizer_json`] write it: the vocabulary
    /// and scores, the precompiled map, byte fallback, and the dummy prefix (off when the
    /// Metaspace pre-tokenizer never prepends). Returns `None` for any other kind of tokenizer.
    pub fn from_tokenizer_json(json: &Value) -> Result<Option<Self>> {
        let model = &json["model"];
        if model["type"] != "Unigram" {
            return Ok(None);
        }
        let bad_json = |what: &str| Error::Tokenizer(format!("tokenizer.json has a malformed Unigram model ({what})"));
        let vocab = model["vocab"].as_array().ok_or_else(|| bad_json("no vocab"))?;
        let unk_id = model["unk_id"].as_u64().ok_or_else(|| bad_json("no unk_id"))? as usize;
        // transformers' converter writes `byte_fallback: false` even for models that have it;
        // SentencePiece has the 256 byte pieces exactly when byte fallback is on.
        let byte_pieces = vocab.iter().filter(|e| e[0].as_str().is_some_and(is_byte_piece)).count();
        let byte_fallback = model["byte_fallback"].as_bool().unwrap_or(false) || byte_pieces == 256;
        // Added tokens tell control (special) and user-defined (not special) pieces apart.
        let mut added = std::collections::HashMap::new();
        for t in json["added_tokens"].as_array().into_iter().flatten() {
            if let Some(id) = t["id"].as_u64() {
                added.insert(id as usize, t["special"].as_bool().unwrap_or(false));
            }
        }
        let mut pieces = Vec::with_capacity(vocab.len());
        for (id, entry) in vocab.iter().enumerate() {
            let piece = entry[0].as_str().ok_or_else(|| bad_json("a piece is not a string"))?.to_string();
            let score = entry[1].as_f64().ok_or_else(|| bad_json("a score is not a number"))? as f32;
            let kind = if id == unk_id {
                PieceType::Unknown
            } else if let Some(&special) = added.get(&id) {
                if special {
                    PieceType::Control
                } else {
                    PieceType::UserDefined
                }
            } else if byte_fallback && is_byte_piece(&piece) {
                PieceType::Byte
            } else {
                PieceType::Normal
            };
            pieces.push(Piece { piece, score, kind });
        }
        let mut charsmap = Vec::new();
        for precompiled in precompiled_normalizers(&json["normalizer"]) {
            let text = precompiled["precompiled_charsmap"].as_str().unwrap_or("");
            charsmap = base64::decode(text)
                .ok_or_else(|| Error::Tokenizer("tokenizer.json's precompiled_charsmap is not base64".into()))?;
        }
        let mut rules = WhitespaceRules::default();
        for pre in [&json["pre_tokenizer"], &json["normalizer"]] {
            if metaspace_never_prepends(pre) {
                rules.add_dummy_prefix = false;
            }
        }
        let model = SpmModel {
            pieces,
            precompiled_charsmap: charsmap,
            rules,
            byte_fallback,
            model_type: MODEL_UNIGRAM,
            treat_whitespace_as_suffix: false,
        };
        model.check()?;
        Ok(Some(model))
    }

    /// The equivalent `tokenizer.json`.
    pub fn to_tokenizer_json(&self) -> Result<String> {
        let unk_id = self.unk_id()?;
        let added: Vec<Value> = self
            .pieces
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p.kind, PieceType::Control | PieceType::UserDefined))
            .map(|(id, p)| {
                json!({"id": id, "content": p.piece, "single_word": false, "lstrip": false,
                       "rstrip": false, "normalized": false, "special": p.kind == PieceType::Control})
            })
            .collect();
        let vocab: Vec<Value> = self.pieces.iter().map(|p| json!([p.piece, p.score])).collect();
        let normalizer = if self.precompiled_charsmap.is_empty() {
            Value::Null
        } else {
            json!({"type": "Sequence", "normalizers": [
                {"type": "Precompiled", "precompiled_charsmap": base64::encode(&self.precompiled_charsmap)}
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
    let mut piece = Piece { piece: String::new(), score: 0.0, kind: PieceType::Normal };
    while !r.done() {
        match r.field()? {
            (1, Field::Bytes(b)) => {
                piece.piece = String::from_utf8(b.to_vec()).map_err(|_| bad("a piece is not UTF-8"))?;
            }
            (2, Field::Fixed(b)) if b.len() == 4 => piece.score = f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            (3, Field::Varint(v)) => piece.kind = PieceType::from_proto(v)?,
            _ => {}
        }
    }
    Ok(piece)
}

fn is_byte_piece(piece: &str) -> bool {
    let b = piece.as_bytes();
    b.len() == 6 && piece.starts_with("<0x") && piece.ends_with('>') && b[3..5].iter().all(u8::is_ascii_hexdigit)
}

/// Every `Precompiled` normalizer in a `tokenizer.json` normalizer (itself, or inside
/// `Sequence`s), in order.
pub fn precompiled_normalizers(normalizer: &Value) -> Vec<&Value> {
    match normalizer["type"].as_str() {
        Some("Precompiled") => vec![normalizer],
        Some("Sequence") => {
            normalizer["normalizers"].as_array().into_iter().flatten().flat_map(precompiled_normalizers).collect()
        }
        _ => Vec::new(),
    }
}

fn metaspace_never_prepends(v: &Value) -> bool {
    match v["type"].as_str() {
        Some("Metaspace") => v["prepend_scheme"] == "never" || v["add_prefix_space"] == false,
        Some("Sequence") => ["pretokenizers", "normalizers"]
            .iter()
            .flat_map(|k| v[*k].as_array().into_iter().flatten())
            .any(metaspace_never_prepends),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error() {
        assert!(SpmModel::parse(b"").is_err());
        assert!(SpmModel::parse(&[0x0a, 0xff]).is_err());
        assert!(SpmModel::parse(b"not a protobuf at all, just text").is_err());
    }
}
