//! The loaded model with its tokenizer and image preprocessing: bytes in, embeddings out.
//!
//! Two sources, one construction path: a Hugging Face checkpoint's files
//! ([`Siglip::from_hf`]) or a single packed file made by `siglip quantize`
//! ([`Siglip::from_packed`]).

use crate::config::{PreprocessConfig, SiglipConfig, MAX_IMAGE_TOKENS, TEXT_BATCH};
use crate::error::{Error, Result};
use crate::format;
use crate::model::{l2_normalize, normalized_rows, SiglipModel, TextSequence};
use crate::preprocess::{self, Rgb8};
use crate::tokenizer::{Encoded, SiglipTokenizer, TokenizerFiles};
use crate::weights::Weights;

/// How the text tower treats the padding after `</s>`. A model starts in the mode the
/// `transformers` zero-shot pipeline uses for it ([`Siglip::pipeline_text_masking`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextMasking {
    /// Padding is masked out as keys, as the `transformers` zero-shot pipeline and
    /// `SiglipProcessor` + `SiglipModel` do when the tokenizer returns an `attention_mask`
    /// (the tokenizer classes' default). Also the cheaper mode: only the real tokens and the
    /// final position are computed.
    Padding,
    /// All `max_len` positions (64 in the google checkpoints) attend to each other, as when
    /// the model is given `input_ids` only: what the pipeline does when the tokenizer's
    /// `model_input_names` leaves the mask out (as transformers' SigLIP and SigLIP 2
    /// conversions save it) and how big_vision trained both.
    None,
}

/// What a loaded model is, for display and benchmarks.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModelInfo {
    /// `f32`, `f16`, `q8`, `q4`, or `hf` for an unconverted checkpoint.
    pub dtype: String,
    /// `siglip` (SigLIP, fixed-resolution SigLIP 2) or `siglip2` (SigLIP 2 NaFlex).
    pub model_type: String,
    /// Fixed resolution: the image side. NaFlex: the side of the trained position grid.
    pub image_size: usize,
    /// NaFlex: the patch budget per image (settable); `None` for fixed-resolution models.
    pub max_num_patches: Option<usize>,
    pub patch_size: usize,
    pub embedding_dim: usize,
    pub text_max_len: usize,
    pub vocab_size: usize,
    /// Bytes held by the weights in memory.
    pub weight_bytes: usize,
    /// `sha256:<hex>` of the checkpoint's one-dimensional tensors: the same for every dtype of
    /// one checkpoint ([`Siglip::fingerprint`]).
    pub fingerprint: String,
    /// `logit_scale` as stored: a score is `sigmoid(exp(logit_scale) * cos + logit_bias)`.
    pub logit_scale: f32,
    pub logit_bias: f32,
}

/// A SigLIP model ready to embed images and texts.
pub struct Siglip {
    model: SiglipModel,
    tokenizer: SiglipTokenizer,
    masking: TextMasking,
    /// NaFlex: the patch budget per image (`None` for fixed-resolution models).
    max_num_patches: Option<usize>,
    dtype: String,
    fingerprint: String,
}

impl Siglip {
    /// Loads a Hugging Face checkpoint from its files' contents: `config.json`,
    /// `preprocessor_config.json` (optional), the tokenizer files and `model.safetensors`.
    pub fn from_hf(
        config_json: &str,
        preprocessor_json: Option<&str>,
        tokenizer: TokenizerFiles<'_>,
        weights: &[u8],
    ) -> Result<Self> {
        let parts = checkpoint_parts(config_json, preprocessor_json, tokenizer)?;
        Self::build(parts, &Weights::parse(weights)?, "hf".into())
    }

    /// Loads a packed file made by `siglip quantize` (config and tokenizer inside).
    pub fn from_packed(bytes: &[u8]) -> Result<Self> {
        Self::packed(bytes, || Weights::parse(bytes))
    }

    /// Like [`Siglip::from_packed`], but takes ownership of the file: quantized and f16
    /// matrices stay in it rather than being copied, which halves peak memory for q8 / q4.
    pub fn from_packed_owned(bytes: Vec<u8>) -> Result<Self> {
        Self::from_packed_shared(&std::sync::Arc::new(bytes))
    }

    /// Like [`Siglip::from_packed_owned`], for a file the caller keeps a handle on (the
    /// browser writes it to its cache after the model is up).
    pub fn from_packed_shared(bytes: &std::sync::Arc<Vec<u8>>) -> Result<Self> {
        Self::packed(bytes, || Weights::parse_shared(bytes))
    }

    /// The packed-file path: metadata first (so a foreign file gets the clearer error), then
    /// the tensors through `weights`.
    fn packed<'a>(bytes: &[u8], weights: impl FnOnce() -> Result<Weights<'a>>) -> Result<Self> {
        let meta = format::read_meta(bytes)?;
        let parts = checkpoint_parts(&meta.config, meta.preprocessor.as_deref(), meta.tokenizer_files())?;
        Self::build(parts, &weights()?, meta.dtype.clone())
    }

    fn build(
        (config, tokenizer): (SiglipConfig, SiglipTokenizer),
        weights: &Weights<'_>,
        dtype: String,
    ) -> Result<Self> {
        let max_num_patches = config.preprocess.max_num_patches;
        let fingerprint = fingerprint(weights)?;
        let model = SiglipModel::load(config, weights)?;
        let masking = Self::pipeline_masking(&tokenizer);
        Ok(Siglip { model, tokenizer, masking, max_num_patches, dtype, fingerprint })
    }

    /// NaFlex: sets the patch budget per image (`max_num_patches`; the image processor's is the
    /// default). More patches see more detail and cost more time (attention grows with the
    /// square). No effect on fixed-resolution models.
    pub fn set_max_num_patches(&mut self, patches: usize) -> Result<()> {
        if self.max_num_patches.is_none() {
            return Ok(());
        }
        let v = &self.model.config.vision;
        if patches == 0 || !v.image_fits(patches) {
            let most = (1..=MAX_IMAGE_TOKENS).rev().find(|&n| v.image_fits(n)).unwrap_or(1);
            return Err(Error::Input(format!("max_num_patches = {patches}; use 1 to {most} for this model")));
        }
        self.max_num_patches = Some(patches);
        Ok(())
    }

    /// NaFlex: the patch budget per image; `None` for fixed-resolution models.
    pub fn max_num_patches(&self) -> Option<usize> {
        self.max_num_patches
    }

    /// The grid of patches an image of this size becomes, `(rows, columns)`: the model's fixed
    /// grid, or NaFlex's aspect-preserving one within the patch budget.
    pub fn image_grid(&self, width: usize, height: usize) -> (usize, usize) {
        let v = &self.model.config.vision;
        match self.max_num_patches {
            Some(budget) => {
                let (h, w) = preprocess::naflex_size(height, width, v.patch_size, budget);
                (h / v.patch_size, w / v.patch_size)
            }
            None => (v.grid(), v.grid()),
        }
    }

    fn pipeline_masking(tokenizer: &SiglipTokenizer) -> TextMasking {
        if tokenizer.attention_mask() {
            TextMasking::Padding
        } else {
            TextMasking::None
        }
    }

    /// How the zero-shot pipeline treats this checkpoint's text padding: masked when its
    /// tokenizer returns an `attention_mask`, attended to when its `model_input_names` is
    /// `["input_ids"]` (as `convert_siglip_to_hf.py` and `convert_siglip2_to_hf.py` save the
    /// google checkpoints). The default.
    pub fn pipeline_text_masking(&self) -> TextMasking {
        Self::pipeline_masking(&self.tokenizer)
    }

    /// Chooses how text padding is treated (default: [`Siglip::pipeline_text_masking`]).
    pub fn set_text_masking(&mut self, masking: TextMasking) {
        self.masking = masking;
    }

    pub fn text_masking(&self) -> TextMasking {
        self.masking
    }

    pub fn config(&self) -> &SiglipConfig {
        &self.model.config
    }

    pub fn preprocess_config(&self) -> &PreprocessConfig {
        &self.model.config.preprocess
    }

    pub fn info(&self) -> ModelInfo {
        let c = &self.model.config;
        ModelInfo {
            dtype: self.dtype.clone(),
            model_type: self.model.config.model_type().into(),
            image_size: c.vision.image_size,
            max_num_patches: self.max_num_patches,
            patch_size: c.vision.patch_size,
            embedding_dim: self.model.embedding_dim(),
            text_max_len: c.text.max_position_embeddings,
            vocab_size: c.text.vocab_size,
            weight_bytes: self.model.memory_bytes(),
            fingerprint: self.fingerprint.clone(),
            logit_scale: self.model.logit_scale,
            logit_bias: self.model.logit_bias,
        }
    }

    /// `sha256:<hex>` over the checkpoint's one-dimensional float tensors (biases, norms,
    /// `logit_scale`, `logit_bias`; see `docs/index-format.md`): every dtype this crate writes
    /// keeps them f32, so a checkpoint and its q8, q4, f16 and f32 files share it, and any
    /// change to the weights of a fine-tune changes it. Names the model an index belongs to.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// What an index of this model's image embeddings records about it; `source` says where it
    /// was loaded from (`hf:owner/name@commit`, a path or a URL).
    pub fn identity(&self, source: Option<String>) -> crate::index::ModelIdentity {
        let info = self.info();
        crate::index::ModelIdentity {
            model_type: info.model_type,
            embedding_dim: info.embedding_dim,
            fingerprint: info.fingerprint,
            source,
            dtype: info.dtype,
            image_size: info.image_size,
            patch_size: info.patch_size,
            max_num_patches: info.max_num_patches,
            logit_scale: info.logit_scale,
            logit_bias: info.logit_bias,
        }
    }

    /// Token ids for texts (templates already applied), as the reference tokenizer gives them.
    pub fn tokenize(&self, texts: &[String]) -> Result<Vec<Encoded>> {
        texts.iter().map(|t| self.tokenizer.encode(t)).collect()
    }

    /// L2-normalized embeddings of texts (templates already applied), in order.
    pub fn embed_texts(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let encoded = self.tokenize(texts)?;
        let max_len = self.tokenizer.max_len();
        let sequences: Vec<TextSequence> = encoded
            .into_iter()
            .map(|e| match self.masking {
                TextMasking::None => TextSequence { positions: (0..max_len).collect(), keys: max_len, ids: e.ids },
                // Real tokens never attend to padding, so their states are those of the
                // unpadded text; the pooled state is that of the last padding position,
                // which attends to the real tokens only. Nothing else needs computing.
                TextMasking::Padding if e.start == 0 && e.len < max_len => {
                    let mut ids = e.ids[..e.len].to_vec();
                    ids.push(e.ids[max_len - 1]);
                    let mut positions: Vec<usize> = (0..e.len).collect();
                    positions.push(max_len - 1);
                    TextSequence { ids, positions, keys: e.len }
                }
                // Padded on the left: the last position is a real token, and the real tokens
                // attend only to each other, so the padding drops out entirely.
                TextMasking::Padding if e.start > 0 => TextSequence {
                    ids: e.real().to_vec(),
                    positions: (e.start..e.start + e.len).collect(),
                    keys: e.len,
                },
                TextMasking::Padding => TextSequence { positions: (0..max_len).collect(), keys: max_len, ids: e.ids },
            })
            .collect();
        // Batch sequences of equal length together; keep the caller's order.
        let mut out: Vec<Option<Vec<f32>>> = vec![None; sequences.len()];
        let mut lengths: Vec<usize> = sequences.iter().map(|s| s.ids.len()).collect();
        lengths.sort_unstable();
        lengths.dedup();
        for len in lengths {
            let idx: Vec<usize> = (0..sequences.len()).filter(|i| sequences[*i].ids.len() == len).collect();
            for chunk in idx.chunks(TEXT_BATCH) {
                let batch: Vec<TextSequence> = chunk.iter().map(|i| sequences[*i].clone()).collect();
                let emb = normalized_rows(&self.model.text.forward(&batch)?)?;
                for (i, e) in chunk.iter().zip(emb) {
                    out[*i] = Some(e);
                }
            }
        }
        out.into_iter().map(|e| e.ok_or_else(|| Error::Input("internal: a text was not embedded".into()))).collect()
    }

    /// Normalized pixel values `[3, size, size]` for an RGB image (fixed-resolution models).
    pub fn pixel_values(&self, image: &Rgb8) -> Vec<f32> {
        preprocess::pixel_values(image, self.preprocess_config())
    }

    /// L2-normalized embedding of an already preprocessed image (`pixel_values` layout;
    /// fixed-resolution models).
    pub fn embed_pixels(&self, pixels: &[f32]) -> Result<Vec<f32>> {
        let emb = self.model.vision.forward(pixels, 1)?;
        let row = emb.squeeze(0)?.to_vec1::<f32>()?;
        Ok(l2_normalize(row))
    }

    /// L2-normalized embeddings of several preprocessed images (`pixel_values` each; fixed
    /// resolution) in one forward pass: the weights are packed once per layer for all of them,
    /// which raises images per second when indexing (see `siglip bench --batch`).
    pub fn embed_pixels_batch(&self, images: &[&[f32]]) -> Result<Vec<Vec<f32>>> {
        if images.is_empty() {
            return Ok(Vec::new());
        }
        let pixels: Vec<f32> = images.concat();
        normalized_rows(&self.model.vision.forward(&pixels, images.len())?)
    }

    /// NaFlex: the image as the image processor cuts it, within the current patch budget.
    pub fn patches(&self, image: &Rgb8) -> Result<preprocess::Patches> {
        let budget = self.max_num_patches.ok_or_else(|| {
            Error::Input("this model has a fixed resolution; it takes pixel values, not patches".into())
        })?;
        Ok(preprocess::naflex_patches(image, self.preprocess_config(), self.model.config.vision.patch_size, budget))
    }

    /// NaFlex: L2-normalized embedding of an image cut into patches ([`Siglip::patches`]).
    pub fn embed_patches(&self, patches: &preprocess::Patches) -> Result<Vec<f32>> {
        let emb = self.model.vision.forward_patches(&patches.data, patches.rows, patches.cols)?;
        Ok(l2_normalize(emb.squeeze(0)?.to_vec1::<f32>()?))
    }

    /// L2-normalized embedding of an RGB image.
    pub fn embed_image(&self, image: &Rgb8) -> Result<Vec<f32>> {
        Ok(self.embed_image_grid(image)?.0)
    }

    /// [`Siglip::embed_image`], with the grid of patches the image became (`(rows, columns)`,
    /// as [`Siglip::image_grid`] says).
    pub fn embed_image_grid(&self, image: &Rgb8) -> Result<(Vec<f32>, (usize, usize))> {
        if self.max_num_patches.is_some() {
            let patches = self.patches(image)?;
            return Ok((self.embed_patches(&patches)?, (patches.rows, patches.cols)));
        }
        let grid = self.model.config.vision.grid();
        Ok((self.embed_pixels(&self.pixel_values(image))?, (grid, grid)))
    }

    /// L2-normalized embedding of encoded image bytes (JPEG, PNG, WebP, GIF).
    pub fn embed_image_bytes(&self, bytes: &[u8]) -> Result<Vec<f32>> {
        self.embed_image(&preprocess::decode(bytes)?)
    }

    /// `exp(logit_scale) * cos + logit_bias` for normalized embeddings.
    pub fn logit(&self, image: &[f32], text: &[f32]) -> f32 {
        self.model.logit(image, text)
    }

    pub fn embedding_dim(&self) -> usize {
        self.model.embedding_dim()
    }
}

/// A checkpoint's config and tokenizer, read and checked to belong together: the tokenizer of
/// the class transformers loads for the config's `model_type`, no larger than the model's
/// vocabulary. What the loader ([`Siglip`]) and the streaming converter
/// ([`crate::pack_stream::PackStream`], before any weight is downloaded) both accept.
pub(crate) fn checkpoint_parts(
    config_json: &str,
    preprocessor_json: Option<&str>,
    tokenizer: TokenizerFiles<'_>,
) -> Result<(SiglipConfig, SiglipTokenizer)> {
    let config = SiglipConfig::from_json(config_json, preprocessor_json)?;
    let tokenizer = SiglipTokenizer::for_model(tokenizer, config.text.max_position_embeddings, config.model_type())?;
    if tokenizer.vocab_size() > config.text.vocab_size {
        return Err(Error::Tokenizer(format!(
            "the tokenizer has {} tokens but the model only {}: they do not belong together",
            tokenizer.vocab_size(),
            config.text.vocab_size
        )));
    }
    Ok((config, tokenizer))
}

/// See [`Siglip::fingerprint`]: for each float tensor of one dimension (a scalar stored as
/// `[1]` included), in name order: its name, a NUL, its length as u64 little-endian, its values
/// as f32 little-endian.
fn fingerprint(weights: &Weights<'_>) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut names: Vec<&str> = weights.names().into_iter().filter(|n| weights.is_float(n)).collect();
    names.sort_unstable();
    let mut hash = Sha256::new();
    for name in names {
        let shape = weights.shape(name)?;
        if shape.len() != 1 {
            continue;
        }
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update((shape[0] as u64).to_le_bytes());
        for v in weights.dense_values(name, &shape)? {
            hash.update(v.to_le_bytes());
        }
    }
    Ok(format!("sha256:{}", hex(&hash.finalize())))
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The logistic sigmoid, SigLIP's per-label probability.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}
