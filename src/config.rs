//! The SigLIP configuration, read from a Hugging Face `config.json` (and optionally its
//! `preprocessor_config.json`), with the reference's defaults for every absent key.
//!
//! Defaults are those of `transformers` 5.x `SiglipTextConfig` / `SiglipVisionConfig`
//! (`models/siglip/configuration_siglip.py`), which describe google/siglip-base-patch16-224;
//! the google checkpoints' own `config.json` files rely on them. SigLIP 2 NaFlex checkpoints
//! (`model_type` `siglip2`, `Siglip2Config`) have the same keys except that the vision tower
//! has `num_patches` (its position table, a square grid) instead of `image_size`, and their
//! image processor (`Siglip2ImageProcessor`) has `max_num_patches`.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// The activations a SigLIP config may name in `hidden_act` (computed in `model::layers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `gelu_pytorch_tanh` / `gelu_new`: the tanh approximation of GELU.
    GeluTanh,
    /// `gelu`: the exact (erf) GELU.
    GeluErf,
    /// `quick_gelu`: `x * sigmoid(1.702 x)`.
    QuickGelu,
    Relu,
}

impl Activation {
    /// Parses a Hugging Face `hidden_act` name.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "gelu_pytorch_tanh" | "gelu_new" | "gelu_fast" => Ok(Activation::GeluTanh),
            "gelu" => Ok(Activation::GeluErf),
            "quick_gelu" => Ok(Activation::QuickGelu),
            "relu" => Ok(Activation::Relu),
            other => Err(Error::Config(format!("unsupported hidden_act `{other}`"))),
        }
    }
}

/// Text tower hyper-parameters (`SiglipTextConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct TextConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    /// Every text is padded (or truncated) to this many tokens.
    pub max_position_embeddings: usize,
    pub hidden_act: Activation,
    pub layer_norm_eps: f64,
    /// Width of the text `head` output; defaults to `hidden_size`.
    pub projection_size: usize,
}

/// Vision tower hyper-parameters (`SiglipVisionConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct VisionConfig {
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_channels: usize,
    /// Side of the square input image; for NaFlex, of the position grid in pixels
    /// (`patch_size * sqrt(num_patches)`).
    pub image_size: usize,
    pub patch_size: usize,
    pub hidden_act: Activation,
    pub layer_norm_eps: f64,
    /// NaFlex (SigLIP 2, `model_type` `siglip2`): the rows of the position table, a square
    /// grid resized to each image's grid. `None` for fixed-resolution models.
    pub num_patches: Option<usize>,
}

impl VisionConfig {
    /// Side of the position grid (patches per side of the trained image).
    pub fn grid(&self) -> usize {
        self.image_size / self.patch_size
    }

    /// Whether one image of `tokens` patches is within the supported bounds: at most
    /// [`MAX_IMAGE_TOKENS`], and at most [`MAX_CALL_BYTES`] of working memory.
    pub fn image_fits(&self, tokens: usize) -> bool {
        tokens <= MAX_IMAGE_TOKENS
            && encoder_call_bytes(1, tokens, self.hidden_size, self.intermediate_size, self.num_attention_heads)
                <= MAX_CALL_BYTES
    }
}

/// The resampling filter of the resize, as Pillow's `Image.resize` runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resample {
    /// `Resampling.BICUBIC` (3): `SiglipImageProcessor`'s default, SigLIP's.
    #[default]
    Bicubic,
    /// `Resampling.BILINEAR` (2): what SigLIP 2 was trained with.
    Bilinear,
}

/// Image preprocessing (`SiglipImageProcessor`): resize to `size` x `size` with `resample`,
/// multiply by `rescale_factor`, normalize with `mean` / `std`.
#[derive(Debug, Clone, PartialEq)]
pub struct PreprocessConfig {
    pub size: usize,
    pub resample: Resample,
    pub rescale_factor: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// NaFlex: images are resized, keeping their aspect ratio, to the largest grid of patches
    /// with at most this many (`Siglip2ImageProcessor.max_num_patches`, default 256). `None`
    /// for fixed-resolution models.
    pub max_num_patches: Option<usize>,
}

/// A full SigLIP configuration plus the JSON it was read from (kept for re-serialization).
#[derive(Debug, Clone, PartialEq)]
pub struct SiglipConfig {
    pub text: TextConfig,
    pub vision: VisionConfig,
    pub preprocess: PreprocessConfig,
    /// The `config.json` text as read.
    pub json: String,
    /// The `preprocessor_config.json` text, if one was given.
    pub preprocessor_json: Option<String>,
}

/// The keys both towers share, with the reference defaults.
#[derive(Deserialize)]
struct RawEncoder {
    #[serde(default = "d::hidden")]
    hidden_size: usize,
    #[serde(default = "d::mlp")]
    intermediate_size: usize,
    #[serde(default = "d::layers")]
    num_hidden_layers: usize,
    #[serde(default = "d::heads")]
    num_attention_heads: usize,
    #[serde(default = "d::act")]
    hidden_act: String,
    #[serde(default = "d::eps")]
    layer_norm_eps: f64,
}

#[derive(Deserialize)]
struct RawText {
    #[serde(flatten)]
    enc: RawEncoder,
    #[serde(default = "d::vocab")]
    vocab_size: usize,
    #[serde(default = "d::max_pos")]
    max_position_embeddings: usize,
    #[serde(default)]
    projection_size: Option<usize>,
}

#[derive(Deserialize)]
struct RawVision {
    #[serde(flatten)]
    enc: RawEncoder,
    #[serde(default = "d::channels")]
    num_channels: usize,
    #[serde(default = "d::image_size")]
    image_size: Value,
    #[serde(default = "d::patch")]
    patch_size: Value,
    #[serde(default = "d::yes")]
    vision_use_head: bool,
    /// `Siglip2VisionConfig` only.
    #[serde(default)]
    num_patches: Option<usize>,
}

#[derive(Deserialize)]
struct RawPreprocess {
    #[serde(default)]
    size: Option<Value>,
    #[serde(default)]
    resample: Option<u32>,
    #[serde(default)]
    rescale_factor: Option<f32>,
    #[serde(default)]
    image_mean: Option<Vec<f32>>,
    #[serde(default)]
    image_std: Option<Vec<f32>>,
    #[serde(default)]
    do_center_crop: Option<bool>,
    /// `Siglip2ImageProcessor` only.
    #[serde(default)]
    max_num_patches: Option<usize>,
    #[serde(default)]
    patch_size: Option<usize>,
}

/// Reference defaults (transformers `configuration_siglip.py`, `image_processing_siglip.py`).
mod d {
    use serde_json::Value;
    pub fn vocab() -> usize {
        32000
    }
    pub fn hidden() -> usize {
        768
    }
    pub fn mlp() -> usize {
        3072
    }
    pub fn layers() -> usize {
        12
    }
    pub fn heads() -> usize {
        12
    }
    pub fn max_pos() -> usize {
        64
    }
    pub fn act() -> String {
        "gelu_pytorch_tanh".into()
    }
    pub fn eps() -> f64 {
        1e-6
    }
    pub fn channels() -> usize {
        3
    }
    pub fn image_size() -> Value {
        Value::from(224)
    }
    pub fn patch() -> Value {
        Value::from(16)
    }
    pub fn yes() -> bool {
        true
    }
    /// `IMAGENET_STANDARD_MEAN` / `_STD`, SigLIP's normalization.
    pub const MEAN_STD: f32 = 0.5;
    /// `rescale_factor` default: 1/255.
    pub const RESCALE: f32 = 1.0 / 255.0;
    /// PIL's `Resampling.BILINEAR` and `Resampling.BICUBIC`.
    pub const BILINEAR: u32 = 2;
    pub const BICUBIC: u32 = 3;
    /// `Siglip2VisionConfig.num_patches` and `Siglip2ImageProcessor.max_num_patches`.
    pub const NUM_PATCHES: usize = 256;
}

/// An `int` or a square `[n, n]` / `{"height": n, "width": n}`.
fn square(v: &Value, what: &str) -> Result<usize> {
    let bad = || Error::Config(format!("{what} must be a positive integer or a square size, found {v}"));
    let n = match v {
        Value::Number(n) => n.as_u64().ok_or_else(bad)?,
        Value::Array(a) if a.len() == 2 && a[0] == a[1] => a[0].as_u64().ok_or_else(bad)?,
        Value::Object(o) => match (o.get("height"), o.get("width")) {
            (Some(h), Some(w)) if h == w => h.as_u64().ok_or_else(bad)?,
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    };
    if n == 0 {
        return Err(bad());
    }
    Ok(n as usize)
}

impl SiglipConfig {
    /// SigLIP 2 NaFlex (`model_type` `siglip2`): variable grids of patches.
    pub fn is_naflex(&self) -> bool {
        self.vision.num_patches.is_some()
    }

    /// `siglip` or `siglip2`, as `config.json` says.
    pub fn model_type(&self) -> &'static str {
        if self.is_naflex() {
            "siglip2"
        } else {
            "siglip"
        }
    }

    /// Parses a Hugging Face SigLIP `config.json` and, if given, `preprocessor_config.json`.
    pub fn from_json(config_json: &str, preprocessor_json: Option<&str>) -> Result<Self> {
        let root: Value = serde_json::from_str(config_json)
            .map_err(|e| Error::Config(format!("config.json is not valid JSON: {e}")))?;
        let model_type = root.get("model_type").and_then(Value::as_str).unwrap_or("");
        let naflex = model_type == "siglip2";
        if model_type != "siglip" && !naflex {
            return Err(Error::Config(format!(
                "model_type is `{model_type}`, expected `siglip` or `siglip2` (SigLIP and SigLIP 2 checkpoints \
                 such as google/siglip-base-patch16-224, google/siglip2-base-patch16-224 and \
                 google/siglip2-base-patch16-naflex are supported)"
            )));
        }
        let section = |key: &str| -> Result<Value> {
            match root.get(key) {
                None | Some(Value::Null) => Ok(Value::Object(Default::default())),
                Some(v @ Value::Object(_)) => Ok(v.clone()),
                Some(other) => Err(Error::Config(format!("`{key}` must be an object, found {other}"))),
            }
        };
        let rt: RawText =
            serde_json::from_value(section("text_config")?).map_err(|e| Error::Config(format!("text_config: {e}")))?;
        let rv: RawVision = serde_json::from_value(section("vision_config")?)
            .map_err(|e| Error::Config(format!("vision_config: {e}")))?;
        if !rv.vision_use_head {
            return Err(Error::Config("vision_use_head is false: the model has no image embedding head".into()));
        }
        let text = TextConfig {
            vocab_size: rt.vocab_size,
            hidden_size: rt.enc.hidden_size,
            intermediate_size: rt.enc.intermediate_size,
            num_hidden_layers: rt.enc.num_hidden_layers,
            num_attention_heads: rt.enc.num_attention_heads,
            max_position_embeddings: rt.max_position_embeddings,
            hidden_act: Activation::from_name(&rt.enc.hidden_act)?,
            layer_norm_eps: rt.enc.layer_norm_eps,
            projection_size: rt.projection_size.unwrap_or(rt.enc.hidden_size),
        };
        let patch_size = square(&rv.patch_size, "vision_config.patch_size")?;
        let (image_size, num_patches) = if naflex {
            // `Siglip2VisionEmbeddings`: `position_embedding_size = int(num_patches**0.5)`.
            let n = rv.num_patches.unwrap_or(d::NUM_PATCHES);
            let side = (1..=n).find(|s| s * s >= n).unwrap_or(0);
            if n == 0 || side * side != n || n > MAX_IMAGE_TOKENS {
                return Err(Error::Config(format!(
                    "vision_config.num_patches = {n}; NaFlex needs a square grid of at most {MAX_IMAGE_TOKENS} patches"
                )));
            }
            (side * patch_size, Some(n))
        } else {
            (square(&rv.image_size, "vision_config.image_size")?, None)
        };
        let vision = VisionConfig {
            hidden_size: rv.enc.hidden_size,
            intermediate_size: rv.enc.intermediate_size,
            num_hidden_layers: rv.enc.num_hidden_layers,
            num_attention_heads: rv.enc.num_attention_heads,
            num_channels: rv.num_channels,
            image_size,
            patch_size,
            hidden_act: Activation::from_name(&rv.enc.hidden_act)?,
            layer_norm_eps: rv.enc.layer_norm_eps,
            num_patches,
        };
        let preprocess = match preprocessor_json {
            Some(p) => parse_preprocess(p, &vision)?,
            None => PreprocessConfig {
                size: vision.image_size,
                // `Siglip2ImageProcessor` resizes with bilinear, `SiglipImageProcessor` bicubic.
                resample: if naflex { Resample::Bilinear } else { Resample::Bicubic },
                rescale_factor: d::RESCALE,
                mean: [d::MEAN_STD; 3],
                std: [d::MEAN_STD; 3],
                max_num_patches: naflex.then_some(d::NUM_PATCHES),
            },
        };
        let config = SiglipConfig {
            text,
            vision,
            preprocess,
            json: config_json.to_string(),
            preprocessor_json: preprocessor_json.map(str::to_string),
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let t = &self.text;
        let v = &self.vision;
        let positive = [
            ("text_config.vocab_size", t.vocab_size),
            ("text_config.hidden_size", t.hidden_size),
            ("text_config.intermediate_size", t.intermediate_size),
            ("text_config.num_attention_heads", t.num_attention_heads),
            ("text_config.max_position_embeddings", t.max_position_embeddings),
            ("text_config.projection_size", t.projection_size),
            ("vision_config.hidden_size", v.hidden_size),
            ("vision_config.intermediate_size", v.intermediate_size),
            ("vision_config.num_attention_heads", v.num_attention_heads),
            ("vision_config.num_channels", v.num_channels),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(Error::Config(format!("{name} must be positive")));
            }
        }
        // Guard against absurd sizes before anything is allocated from them.
        let limits = [
            ("text_config.vocab_size", t.vocab_size, 1 << 20),
            ("text_config.hidden_size", t.hidden_size, 1 << 14),
            ("text_config.intermediate_size", t.intermediate_size, 1 << 16),
            ("text_config.num_hidden_layers", t.num_hidden_layers, 256),
            ("text_config.max_position_embeddings", t.max_position_embeddings, 1 << 12),
            ("vision_config.hidden_size", v.hidden_size, 1 << 14),
            ("vision_config.intermediate_size", v.intermediate_size, 1 << 16),
            ("vision_config.num_hidden_layers", v.num_hidden_layers, 256),
            ("vision_config.image_size", v.image_size, 4096),
        ];
        for (name, value, max) in limits {
            if value > max {
                return Err(Error::Config(format!("{name} = {value} is larger than supported ({max})")));
            }
        }
        if !t.hidden_size.is_multiple_of(t.num_attention_heads) {
            return Err(Error::Config("text hidden_size is not divisible by num_attention_heads".into()));
        }
        if !v.hidden_size.is_multiple_of(v.num_attention_heads) {
            return Err(Error::Config("vision hidden_size is not divisible by num_attention_heads".into()));
        }
        if v.num_channels != 3 {
            return Err(Error::Config(format!("num_channels = {}; only RGB (3) is supported", v.num_channels)));
        }
        if v.patch_size > v.image_size || !v.image_size.is_multiple_of(v.patch_size) {
            return Err(Error::Config(format!(
                "image_size {} is not a multiple of patch_size {}",
                v.image_size, v.patch_size
            )));
        }
        // NaFlex: an image has at most `max_num_patches` patches, whatever its grid.
        let tokens = self.preprocess.max_num_patches.unwrap_or((v.image_size / v.patch_size).pow(2));
        if tokens > MAX_IMAGE_TOKENS {
            return Err(Error::Config(match self.preprocess.max_num_patches {
                Some(n) => format!("max_num_patches = {n}; at most {MAX_IMAGE_TOKENS} patches per image are supported"),
                None => format!(
                    "image_size {} at patch_size {} makes {tokens} patches per image; at most {MAX_IMAGE_TOKENS} are supported",
                    v.image_size, v.patch_size
                ),
            }));
        }
        let calls = [
            ("an image", 1, tokens, v.hidden_size, v.intermediate_size, v.num_attention_heads),
            (
                "a batch of texts",
                TEXT_BATCH,
                t.max_position_embeddings,
                t.hidden_size,
                t.intermediate_size,
                t.num_attention_heads,
            ),
        ];
        for (what, batch, tokens, hidden, intermediate, heads) in calls {
            let bytes = encoder_call_bytes(batch, tokens, hidden, intermediate, heads);
            if bytes > MAX_CALL_BYTES {
                return Err(Error::Config(format!(
                    "embedding {what} would need about {:.1} GB of working memory (at most {:.1} GB is allowed); \
                     the config's sizes are not a usable SigLIP",
                    bytes as f64 / 1e9,
                    MAX_CALL_BYTES as f64 / 1e9
                )));
            }
        }
        if self.preprocess.size != v.image_size {
            return Err(Error::Config(format!(
                "the image processor resizes to {} but the vision tower expects {}",
                self.preprocess.size, v.image_size
            )));
        }
        if t.projection_size != v.hidden_size {
            return Err(Error::Config(format!(
                "text embeddings ({}) and image embeddings ({}) differ in width",
                t.projection_size, v.hidden_size
            )));
        }
        Ok(())
    }
}

/// Most patches one image may have: 4096 (1024 px at patch 16; so400m at 384 px has 729).
pub const MAX_IMAGE_TOKENS: usize = 4096;
/// Most working memory one forward call may need, by [`encoder_call_bytes`]: 1 GiB.
pub const MAX_CALL_BYTES: u128 = 1 << 30;
/// Texts per forward call (`Siglip::embed_texts` batches labels this many at a time).
pub const TEXT_BATCH: usize = 16;

/// An estimate of the f32 working memory of one encoder layer on `batch` sequences of
/// `tokens`: the residual stream, q, k, v and the attention context (5 × hidden), the MLP's
/// hidden layer before and after its activation (2 × intermediate), and the attention scores
/// and probabilities of all heads (2 × heads × tokens²). Base-224 needs 12 MB per image,
/// so400m-384 110 MB, large-512 190 MB.
pub fn encoder_call_bytes(batch: usize, tokens: usize, hidden: usize, intermediate: usize, heads: usize) -> u128 {
    let (b, t) = (batch as u128, tokens as u128);
    4 * b * (t * (5 * hidden as u128 + 2 * intermediate as u128) + 2 * heads as u128 * t * t)
}

fn parse_preprocess(json: &str, vision: &VisionConfig) -> Result<PreprocessConfig> {
    let raw: RawPreprocess =
        serde_json::from_str(json).map_err(|e| Error::Config(format!("preprocessor_config.json: {e}")))?;
    let naflex = vision.num_patches.is_some();
    if raw.do_center_crop == Some(true) {
        return Err(Error::Config(
            "preprocessor_config.json asks for a center crop; SigLIP resizes without one".into(),
        ));
    }
    let resample = match raw.resample {
        None if naflex => Resample::Bilinear,
        None | Some(d::BICUBIC) => Resample::Bicubic,
        Some(d::BILINEAR) => Resample::Bilinear,
        Some(r) => {
            return Err(Error::Config(format!(
                "resample = {r} is not supported; SigLIP uses bicubic (3) and SigLIP 2 bilinear (2)"
            )))
        }
    };
    let triple = |v: Option<Vec<f32>>, what: &str| -> Result<[f32; 3]> {
        match v {
            None => Ok([d::MEAN_STD; 3]),
            Some(v) if v.len() == 3 => Ok([v[0], v[1], v[2]]),
            Some(v) => Err(Error::Config(format!("{what} must have 3 values, found {}", v.len()))),
        }
    };
    let std = triple(raw.image_std, "image_std")?;
    if std.contains(&0.0) {
        return Err(Error::Config("image_std contains 0".into()));
    }
    if naflex && raw.patch_size.is_some_and(|p| p != vision.patch_size) {
        return Err(Error::Config(format!(
            "the image processor cuts {}-pixel patches but the vision tower takes {}",
            raw.patch_size.unwrap_or(0),
            vision.patch_size
        )));
    }
    if let Some(0) = raw.max_num_patches {
        return Err(Error::Config("max_num_patches must be positive".into()));
    }
    Ok(PreprocessConfig {
        size: match raw.size {
            // NaFlex sizes each image by its patch budget; a `size` key means nothing there.
            Some(v) if !naflex => square(&v, "preprocessor size")?,
            _ => vision.image_size,
        },
        resample,
        rescale_factor: raw.rescale_factor.unwrap_or(d::RESCALE),
        mean: triple(raw.image_mean, "image_mean")?,
        std,
        max_num_patches: naflex.then(|| raw.max_num_patches.unwrap_or(d::NUM_PATCHES)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_base_config_uses_reference_defaults() {
        // The shape of google/siglip-base-patch16-224's config.json: almost everything default.
        let json = r#"{"architectures":["SiglipModel"],"model_type":"siglip",
            "text_config":{"model_type":"siglip_text_model"},
            "vision_config":{"model_type":"siglip_vision_model","patch_size":16}}"#;
        let c = SiglipConfig::from_json(json, None).unwrap();
        assert_eq!(c.text.vocab_size, 32000);
        assert_eq!(c.text.max_position_embeddings, 64);
        assert_eq!(c.text.projection_size, 768);
        assert_eq!(c.text.layer_norm_eps, 1e-6);
        assert_eq!(c.vision.image_size, 224);
        assert_eq!(c.vision.hidden_act, Activation::GeluTanh);
        assert_eq!(c.preprocess.mean, [0.5; 3]);
    }

    #[test]
    fn rejects_other_models() {
        let err = SiglipConfig::from_json(r#"{"model_type":"clip"}"#, None).unwrap_err();
        assert!(err.to_string().contains("expected `siglip`"), "{err}");
        // SigLIP 2 NaFlex: the defaults of Siglip2Config and Siglip2ImageProcessor.
        let naflex = SiglipConfig::from_json(r#"{"model_type":"siglip2"}"#, None).unwrap();
        assert_eq!(naflex.vision.num_patches, Some(256));
        assert_eq!((naflex.vision.image_size, naflex.vision.grid()), (256, 16));
        assert_eq!(naflex.preprocess.max_num_patches, Some(256));
        assert_eq!(naflex.preprocess.resample, Resample::Bilinear);
        let pre = r#"{"max_num_patches": 1024, "patch_size": 16, "image_processor_type": "Siglip2ImageProcessor"}"#;
        let naflex = SiglipConfig::from_json(r#"{"model_type":"siglip2"}"#, Some(pre)).unwrap();
        assert_eq!(naflex.preprocess.max_num_patches, Some(1024));
        let not_square = r#"{"model_type":"siglip2","vision_config":{"num_patches":200}}"#;
        assert!(SiglipConfig::from_json(not_square, None).unwrap_err().to_string().contains("square"));
        let other_patch = r#"{"patch_size": 14}"#;
        assert!(SiglipConfig::from_json(r#"{"model_type":"siglip2"}"#, Some(other_patch)).is_err());
        assert_eq!(SiglipConfig::from_json(r#"{"model_type":"siglip2"}"#, Some(pre)).unwrap().vision.grid(), 16);
        assert!(matches!(SiglipConfig::from_json("not json", None), Err(Error::Config(_))));
        let bad_heads =
            r#"{"model_type":"siglip","text_config":{"hidden_size":10,"num_attention_heads":3,"projection_size":768}}"#;
        assert!(matches!(SiglipConfig::from_json(bad_heads, None), Err(Error::Config(_))));
        let huge = r#"{"model_type":"siglip","vision_config":{"hidden_size":100000000}}"#;
        assert!(matches!(SiglipConfig::from_json(huge, None), Err(Error::Config(_))));
    }

    #[test]
    fn rejects_configs_whose_calls_cost_too_much() {
        // A ~20 MB crafted checkpoint: tiny widths, 65,536 patches per image (~17 GB of
        // attention scores for one head).
        let patches = r#"{"model_type":"siglip","text_config":{"projection_size":32},
            "vision_config":{"hidden_size":32,"intermediate_size":32,"num_attention_heads":1,
                             "image_size":4096,"patch_size":16}}"#;
        let err = SiglipConfig::from_json(patches, None).unwrap_err();
        assert!(err.to_string().contains("65536 patches"), "{err}");
        // Allowed patches, but one head per dimension: ~550 GB of scores.
        let heads = r#"{"model_type":"siglip","text_config":{"projection_size":16384},
            "vision_config":{"hidden_size":16384,"intermediate_size":16,"num_attention_heads":16384,
                             "image_size":1024,"patch_size":16}}"#;
        let err = SiglipConfig::from_json(heads, None).unwrap_err();
        assert!(err.to_string().contains("GB of working memory"), "{err}");
        // Text: 4096 positions and 4096 heads in a batch of 16.
        let text = r#"{"model_type":"siglip","text_config":{"hidden_size":4096,"num_attention_heads":4096,
            "max_position_embeddings":4096}}"#;
        assert!(SiglipConfig::from_json(text, None).unwrap_err().to_string().contains("a batch of texts"));
        // The real checkpoints are far inside the bounds (hand-computed figures above).
        assert_eq!(encoder_call_bytes(1, 196, 768, 3072, 12), 11_515_392);
        assert!(encoder_call_bytes(1, 729, 1152, 4304, 16) < 120_000_000);
        assert!(encoder_call_bytes(1, 1024, 1024, 4096, 16) < 200_000_000);
    }

    #[test]
    fn preprocessor_must_match() {
        let json = r#"{"model_type":"siglip"}"#;
        let crop = r#"{"do_center_crop": true}"#;
        assert!(SiglipConfig::from_json(json, Some(crop)).is_err());
        let bilinear = r#"{"resample": 2}"#;
        assert_eq!(SiglipConfig::from_json(json, Some(bilinear)).unwrap().preprocess.resample, Resample::Bilinear);
        let lanczos = r#"{"resample": 1}"#;
        assert!(SiglipConfig::from_json(json, Some(lanczos)).is_err());
        let ok = r#"{"resample": 3, "size": {"height": 224, "width": 224}, "image_mean": [0.5,0.5,0.5]}"#;
        assert_eq!(SiglipConfig::from_json(json, Some(ok)).unwrap().preprocess.size, 224);
    }
}
