//! SigLIP's text canonicalization (`SiglipTokenizer.canonicalize_text`) and Python's idea of
//! whitespace.

/// Python's `str.isspace` (what `\s`, `strip()` and `lstrip()` use): Unicode White_Space plus
/// the information separators U+001C..U+001F.
pub(super) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
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
}
