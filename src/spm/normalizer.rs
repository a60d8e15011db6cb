//! SentencePiece's normalizer, as `normalizer.cc` applies it: at each position the longest
//! user-defined symbol (kept verbatim), else the longest rule of the precompiled character map,
//! else the character itself; then the normalizer spec's whitespace rules (leading, repeated and
//! trailing spaces removed, a space prepended, spaces written as `▁`).
//!
//! The `tokenizers` crate's `Precompiled` normalizer applies the same map per grapheme and
//! takes the shortest rule, so sequences such as `ｶﾞ` (two characters, one rule) or stacked
//! combining marks come out differently; this follows SentencePiece.

use crate::error::{Error, Result};

/// `▁` (U+2581), SentencePiece's visible space.
pub const SPACE_SYMBOL: &str = "\u{2581}";

/// The whitespace switches of a model's `NormalizerSpec` (all on in SigLIP's `nmt_nfkc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhitespaceRules {
    pub add_dummy_prefix: bool,
    pub remove_extra_whitespaces: bool,
    pub escape_whitespaces: bool,
}

impl Default for WhitespaceRules {
    fn default() -> Self {
        WhitespaceRules { add_dummy_prefix: true, remove_extra_whitespaces: true, escape_whitespaces: true }
    }
}

/// A darts-clone double array, the trie format of SentencePiece's precompiled character map.
#[derive(Debug, Clone, Default)]
struct DoubleArray {
    units: Vec<u32>,
}

impl DoubleArray {
    fn has_leaf(unit: u32) -> bool {
        (unit >> 8) & 1 == 1
    }
    fn value(unit: u32) -> u32 {
        unit & ((1 << 31) - 1)
    }
    fn label(unit: u32) -> u32 {
        unit & ((1 << 31) | 0xff)
    }
    fn offset(unit: u32) -> usize {
        ((unit >> 10) << ((unit & (1 << 9)) >> 6)) as usize
    }

    /// The longest key that is a prefix of `key`: (its length in bytes, its value).
    /// Out-of-range units (a corrupt map) end the search like a mismatch.
    fn longest_prefix(&self, key: &[u8]) -> Option<(usize, u32)> {
        let mut best = None;
        let mut node = Self::offset(*self.units.first()?);
        for (i, &byte) in key.iter().enumerate() {
            node ^= byte as usize;
            let Some(&unit) = self.units.get(node) else { break };
            if Self::label(unit) != byte as u32 {
                break;
            }
            node ^= Self::offset(unit);
            if Self::has_leaf(unit) {
                let Some(&leaf) = self.units.get(node) else { break };
                best = Some((i + 1, Self::value(leaf)));
            }
        }
        best
    }
}

/// SentencePiece's normalizer for one model.
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    trie: DoubleArray,
    /// The replacement strings, each ending with a NUL byte; the trie's values index into it.
    replacements: Vec<u8>,
    /// User-defined symbols, matched before the map and never changed.
    user_defined: Vec<String>,
    rules: WhitespaceRules,
}

fn corrupt(what: &str) -> Error {
    Error::Tokenizer(format!("the tokenizer's precompiled character map is corrupt ({what})"))
}

impl Normalizer {
    /// `charsmap` is the spec's `precompiled_charsmap` (empty: no map).
    pub fn new(charsmap: &[u8], rules: WhitespaceRules, user_defined: Vec<String>) -> Result<Self> {
        let mut normalizer = Normalizer { rules, user_defined, ..Default::default() };
        if charsmap.is_empty() {
            return Ok(normalizer);
        }
        let size = charsmap.get(..4).ok_or_else(|| corrupt("too short"))?;
        let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
        let trie = charsmap.get(4..).and_then(|rest| rest.get(..size)).ok_or_else(|| corrupt("trie size"))?;
        if !size.is_multiple_of(4) || size == 0 {
            return Err(corrupt("trie size"));
        }
        normalizer.trie.units = trie.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        normalizer.replacements = charsmap[4 + size..].to_vec();
        Ok(normalizer)
    }

    pub fn rules(&self) -> WhitespaceRules {
        self.rules
    }

    /// The normalized form of the start of `input` and how many bytes of it that consumed.
    fn prefix<'a>(&'a self, input: &'a str) -> Result<(&'a str, usize)> {
        if let Some(symbol) = self.user_defined.iter().filter(|s| input.starts_with(s.as_str())).max_by_key(|s| s.len())
        {
            return Ok((&input[..symbol.len()], symbol.len()));
        }
        if let Some((len, value)) = self.trie.longest_prefix(input.as_bytes()) {
            let start = value as usize;
            let tail = self.replacements.get(start..).ok_or_else(|| corrupt("replacement offset"))?;
            let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
            let replacement = std::str::from_utf8(&tail[..end]).map_err(|_| corrupt("replacement is not UTF-8"))?;
            // A rule may end inside a character only in a corrupt map: keep to char boundaries.
            if input.is_char_boundary(len) {
                return Ok((replacement, len));
            }
            return Err(corrupt("a rule ends inside a character"));
        }
        let len = input.chars().next().map_or(0, char::len_utf8);
        Ok((&input[..len], len))
    }

    /// `Normalizer::Normalize`: the text SentencePiece segments.
    pub fn normalize(&self, input: &str) -> Result<String> {
        let rules = self.rules;
        let space = if rules.escape_whitespaces { SPACE_SYMBOL } else { " " };
        let mut input = input;
        if rules.remove_extra_whitespaces {
            while !input.is_empty() {
                let (normalized, consumed) = self.prefix(input)?;
                if normalized != " " {
                    break;
                }
                input = &input[consumed..];
            }
        }
        let mut out = String::with_capacity(input.len() * 3);
        if input.is_empty() {
            return Ok(out);
        }
        if rules.add_dummy_prefix {
            out.push_str(space);
        }
        let mut prev_is_space = rules.remove_extra_whitespaces;
        while !input.is_empty() {
            let (mut normalized, consumed) = self.prefix(input)?;
            while prev_is_space && normalized.starts_with(' ') {
                normalized = &normalized[1..];
            }
            if !normalized.is_empty() {
                for c in normalized.chars() {
                    if c == ' ' {
                        out.push_str(space);
                    } else {
                        out.push(c);
                    }
                }
                prev_is_space = normalized.ends_with(' ');
            }
            input = &input[consumed..];
            if !rules.remove_extra_whitespaces {
                prev_is_space = false;
            }
        }
        if rules.remove_extra_whitespaces {
            while out.ends_with(space) {
                out.truncate(out.len() - space.len());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_rules_without_a_map() {
        // Expected values from SentencePiece's normalizer.cc rules, worked by hand.
        let n = Normalizer::new(&[], WhitespaceRules::default(), vec![]).unwrap();
        assert_eq!(n.normalize("  a   b  ").unwrap(), "▁a▁b");
        assert_eq!(n.normalize("   ").unwrap(), "");
        assert_eq!(n.normalize("▁").unwrap(), "");
        assert_eq!(n.normalize("a▁ b").unwrap(), "▁a▁▁b");
        let keep =
            WhitespaceRules { add_dummy_prefix: false, remove_extra_whitespaces: false, escape_whitespaces: true };
        let n = Normalizer::new(&[], keep, vec![]).unwrap();
        assert_eq!(n.normalize(" a  b ").unwrap(), "▁a▁▁b▁");
    }

    #[test]
    fn corrupt_maps_are_errors_not_panics() {
        let rules = WhitespaceRules::default();
        assert!(Normalizer::new(&[1, 0, 0], rules, vec![]).is_err());
        assert!(Normalizer::new(&[8, 0, 0, 0, 1, 2], rules, vec![]).is_err());
        // A well-formed header over garbage units: searching must not panic.
        let mut map = vec![16, 0, 0, 0];
        map.extend_from_slice(&[0xff; 16]);
        map.extend_from_slice(b"x\0");
        let n = Normalizer::new(&map, rules, vec![]).unwrap();
        let _ = n.normalize("hello world");
    }
}
