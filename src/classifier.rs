//! Zero-shot classification and image-text retrieval on top of [`Siglip`], with text
//! embeddings cached per templated label: a new image (or webcam frame) runs only the vision
//! tower, and adding a label embeds just that label.

use std::collections::HashMap;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::siglip::{sigmoid, Siglip, TextMasking};

/// The zero-shot pipeline's default template (`transformers` `ZeroShotImageClassificationPipeline`).
pub const DEFAULT_TEMPLATE: &str = "This is a photo of {}.";

/// Longest label accepted, in bytes. Anything longer is truncated to 64 tokens anyway; the
/// limit only stops absurd inputs from costing time.
pub const MAX_LABEL_BYTES: usize = 16 * 1024;

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

/// How many text embeddings the cache keeps before it starts over.
pub const TEXT_CACHE_CAPACITY: usize = 4096;

/// One label's result for one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelScore {
    pub label: String,
    /// `sigmoid(logit)`: the probability that the label applies, independent of other labels.
    pub score: f32,
    pub logit: f32,
}

/// One image's result for a text query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    /// Index of the image in the list given.
    pub index: usize,
    pub score: f32,
    pub logit: f32,
}

/// A model plus a template and a cache of text embeddings.
pub struct Classifier {
    siglip: Siglip,
    template: String,
    /// Keyed by masking mode and text, so switching modes back and forth keeps both.
    cache: HashMap<(TextMasking, String), Vec<f32>>,
}

impl Classifier {
    pub fn new(siglip: Siglip) -> Self {
        Classifier { siglip, template: DEFAULT_TEMPLATE.to_string(), cache: HashMap::new() }
    }

    pub fn siglip(&self) -> &Siglip {
        &self.siglip
    }

    /// The model, for settings that leave cached label embeddings valid (the patch budget).
    pub fn siglip_mut(&mut self) -> &mut Siglip {
        &mut self.siglip
    }

    /// How text padding is treated from now on (cached embeddings of each mode are kept).
    pub fn set_text_masking(&mut self, masking: TextMasking) {
        self.siglip.set_text_masking(masking);
    }

    pub fn template(&self) -> &str {
        &self.template
    }

    /// Sets the template; `{}` marks where the label goes (e.g. `a photo of {}`).
    pub fn set_template(&mut self, template: &str) -> Result<()> {
        apply_template(template, "x")?;
        self.template = template.to_string();
        Ok(())
    }

    /// Number of cached text embeddings.
    pub fn cached_texts(&self) -> usize {
        self.cache.len()
    }

    /// Normalized embeddings of texts used verbatim (no template), cached.
    pub fn text_embeddings(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let mode = self.siglip.text_masking();
        let key = |t: &String| (mode, t.clone());
        let mut missing: Vec<String> = texts.iter().filter(|t| !self.cache.contains_key(&key(t))).cloned().collect();
        missing.sort();
        missing.dedup();
        if !missing.is_empty() {
            let embedded = self.siglip.embed_texts(&missing)?;
            if self.cache.len() + missing.len() > TEXT_CACHE_CAPACITY {
                self.cache.clear();
            }
            self.cache.extend(missing.into_iter().map(|t| (mode, t)).zip(embedded));
        }
        texts
            .iter()
            .map(|t| self.cache.get(&key(t)).cloned().ok_or_else(|| Error::Input("internal: text cache miss".into())))
            .collect()
    }

    /// Normalized embeddings of labels put into the template, cached.
    pub fn label_embeddings(&mut self, labels: &[String]) -> Result<Vec<Vec<f32>>> {
        if labels.is_empty() {
            return Err(Error::Input("no labels given; give at least one label to score".into()));
        }
        let texts = labels
            .iter()
            .map(|l| {
                check_label(l)?;
                apply_template(&self.template, l)
            })
            .collect::<Result<Vec<_>>>()?;
        self.text_embeddings(&texts)
    }

    /// Scores every label for an image embedding, highest score first.
    pub fn classify_embedding(&mut self, image: &[f32], labels: &[String]) -> Result<Vec<LabelScore>> {
        if image.len() != self.siglip.embedding_dim() {
            return Err(Error::Input(format!(
                "image embedding has {} values, the model's have {}",
                image.len(),
                self.siglip.embedding_dim()
            )));
        }
        let texts = self.label_embeddings(labels)?;
        let mut results: Vec<LabelScore> = labels
            .iter()
            .zip(&texts)
            .map(|(label, text)| {
                let logit = self.siglip.logit(image, text);
                LabelScore { label: label.clone(), score: sigmoid(logit), logit }
            })
            .collect();
        sort_desc(&mut results, |r| r.logit);
        Ok(results)
    }

    /// Decodes, embeds and scores an image given as encoded bytes.
    pub fn classify_bytes(&mut self, image: &[u8], labels: &[String]) -> Result<Vec<LabelScore>> {
        if labels.is_empty() {
            return Err(Error::Input("no labels given; give at least one label to score".into()));
        }
        let embedding = self.siglip.embed_image_bytes(image)?;
        self.classify_embedding(&embedding, labels)
    }

    /// Ranks image embeddings for a text query (used verbatim, no template), best first.
    pub fn rank(&mut self, query: &str, images: &[Vec<f32>]) -> Result<Vec<Ranked>> {
        check_label(query)?;
        let text = self.text_embeddings(&[query.to_string()])?.remove(0);
        let mut ranked = images
            .iter()
            .enumerate()
            .map(|(index, image)| {
                if image.len() != text.len() {
                    return Err(Error::Input(format!("image #{index} embedding has the wrong width")));
                }
                let logit = self.siglip.logit(image, &text);
                Ok(Ranked { index, score: sigmoid(logit), logit })
            })
            .collect::<Result<Vec<_>>>()?;
        sort_desc(&mut ranked, |r| r.logit);
        Ok(ranked)
    }
}

/// Sorts by a float key, largest first; NaN sorts last and never panics.
fn sort_desc<T>(items: &mut [T], key: impl Fn(&T) -> f32) {
    items.sort_by(|a, b| key(b).total_cmp(&key(a)));
}

#[cfg(test)]
mod tests {
    use super::*;

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
