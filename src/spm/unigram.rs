//! SentencePiece's Unigram segmentation (`unigram_model.cc`, the optimized encoder) and what
//! `SentencePieceProcessor::Encode` does with its result: the best-scoring split of the
//! normalized text into vocabulary pieces, characters without a piece as `<unk>` (runs of them
//! merged into one piece), or as their UTF-8 bytes (`<0xE6>` pieces) with byte fallback.

use std::collections::{HashMap, HashSet};

use super::{Piece, PieceType};

/// The Unigram model of one SentencePiece vocabulary.
#[derive(Debug, Clone)]
pub struct Unigram {
    /// Pieces the segmentation may use (normal and user-defined): id and score.
    matchable: HashMap<String, (u32, f32)>,
    /// Every proper prefix of a matchable piece: the search at a position stops at the first
    /// text that is neither (a vocabulary with one very long piece costs no more than its length).
    prefixes: HashSet<String>,
    /// Every piece's id, for `piece_to_id`.
    ids: HashMap<String, u32>,
    max_piece_chars: usize,
    unk_id: u32,
    unk_score: f32,
    byte_fallback: bool,
}

/// One piece of a segmentation: its text and its id.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub piece: String,
    pub id: u32,
}

impl Unigram {
    pub fn new(pieces: &[Piece], unk_id: u32, byte_fallback: bool) -> Self {
        // As `unigram::Model`: min and max over normal pieces, starting from FLT_MAX and FLT_MIN.
        let (mut min_score, mut max_score) = (f32::MAX, f32::MIN_POSITIVE);
        for p in pieces.iter().filter(|p| p.kind == PieceType::Normal) {
            min_score = min_score.min(p.score);
            max_score = max_score.max(p.score);
        }
        let mut matchable = HashMap::new();
        let mut prefixes = HashSet::new();
        let mut ids = HashMap::new();
        let mut max_piece_chars = 1;
        for (id, p) in pieces.iter().enumerate() {
            let id = id as u32;
            ids.entry(p.piece.clone()).or_insert(id);
            let chars = p.piece.chars().count();
            let score = match p.kind {
                PieceType::Normal => p.score,
                // User-defined symbols get a bonus that makes them always win.
                PieceType::UserDefined => chars as f32 * max_score + 1.0,
                _ => continue,
            };
            if p.piece.is_empty() {
                continue;
            }
            matchable.entry(p.piece.clone()).or_insert((id, score));
            for (end, _) in p.piece.char_indices().skip(1) {
                prefixes.insert(p.piece[..end].to_string());
            }
            max_piece_chars = max_piece_chars.max(chars);
        }
        Unigram { matchable, prefixes, ids, max_piece_chars, unk_id, unk_score: min_score - 10.0, byte_fallback }
    }

    /// `PieceToId`: the piece's id, or the unknown id.
    pub fn piece_to_id(&self, piece: &str) -> u32 {
        self.ids.get(piece).copied().unwrap_or(self.unk_id)
    }

    /// Segments normalized text.
    pub fn encode(&self, normalized: &str) -> Vec<Token> {
        // Byte offset of every character, plus the end.
        let bounds: Vec<usize> =
            normalized.char_indices().map(|(i, _)| i).chain(std::iter::once(normalized.len())).collect();
        let n = bounds.len() - 1;
        if n == 0 {
            return Vec::new();
        }
        // best[e]: best score of a split of chars 0..e, the start of its last piece and its id.
        #[derive(Clone, Copy)]
        struct Best {
            score: f32,
            start: usize,
            id: u32,
            set: bool,
        }
        let mut best = vec![Best { score: 0.0, start: 0, id: 0, set: false }; n + 1];
        best[0].set = true;
        for start in 0..n {
            let base = best[start].score;
            let mut has_single = false;
            for len in 1..=self.max_piece_chars.min(n - start) {
                let piece = &normalized[bounds[start]..bounds[start + len]];
                let Some(&(id, score)) = self.matchable.get(piece) else {
                    if self.prefixes.contains(piece) {
                        continue;
                    }
                    break;
                };
                let candidate = base + score;
                let end = &mut best[start + len];
                if !end.set || candidate > end.score {
                    *end = Best { score: candidate, start, id, set: true };
                }
                has_single |= len == 1;
            }
            if !has_single {
                let candidate = base + self.unk_score;
                let end = &mut best[start + 1];
                if !end.set || candidate > end.score {
                    *end = Best { score: candidate, start, id: self.unk_id, set: true };
                }
            }
        }
        let mut path = Vec::new();
        let mut end = n;
        while end > 0 {
            let b = best[end];
            path.push((b.start, end, b.id));
            end = b.start;
        }
        path.reverse();

        let mut tokens: Vec<Token> = Vec::with_capacity(path.len());
        let mut prev_unknown = false;
        for (start, end, id) in path {
            let piece = &normalized[bounds[start]..bounds[end]];
            let unknown = id == self.unk_id;
            if unknown && prev_unknown {
                if let Some(last) = tokens.last_mut() {
                    last.piece.push_str(piece);
                }
            } else {
                tokens.push(Token { piece: piece.to_string(), id });
            }
            prev_unknown = unknown;
        }
        if !self.byte_fallback {
            return tokens;
        }
        let mut out = Vec::with_capacity(tokens.len());
        for token in tokens {
            if token.id != self.unk_id {
                out.push(token);
                continue;
            }
            for byte in token.piece.bytes() {
                let piece = format!("<0x{byte:02X}>");
                let id = self.piece_to_id(&piece);
                out.push(Token { piece, id });
            }
        }
        out
    }
}
