//! Loading a model for the CLI: a Hugging Face checkpoint folder, a packed file, or a Hub
//! model (`owner/name[@revision]`, through the Hugging Face cache), and naming where it came
//! from so that an index can find it again.

use std::path::{Path, PathBuf};

use siglip::tokenizer::TokenizerFiles;
use siglip::{Error, Result, Siglip};

pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

/// The parts of a Hugging Face checkpoint folder.
pub(crate) struct HfFiles {
    pub(crate) config: String,
    pub(crate) preprocessor: Option<String>,
    pub(crate) spiece_model: Option<Vec<u8>>,
    pub(crate) tokenizer_json: Option<Vec<u8>>,
    pub(crate) tokenizer_config: Option<Vec<u8>>,
    pub(crate) weights: Vec<u8>,
}

impl HfFiles {
    pub(crate) fn tokenizer(&self) -> TokenizerFiles<'_> {
        TokenizerFiles {
            spiece_model: self.spiece_model.as_deref(),
            tokenizer_json: self.tokenizer_json.as_deref(),
            tokenizer_config: self.tokenizer_config.as_deref(),
        }
    }
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    if path.exists() {
        read(path).map(Some)
    } else {
        Ok(None)
    }
}

pub(crate) fn read_hf(dir: &Path) -> Result<HfFiles> {
    // google/siglip-* ship spiece.model (what SiglipTokenizer reads); others a tokenizer.json.
    let spiece_model = read_optional(&dir.join("spiece.model"))?;
    let tokenizer_json = read_optional(&dir.join("tokenizer.json"))?;
    if spiece_model.is_none() && tokenizer_json.is_none() {
        return Err(Error::Tokenizer(format!("{} has neither spiece.model nor tokenizer.json", dir.display())));
    }
    let preprocessor_path = dir.join("preprocessor_config.json");
    Ok(HfFiles {
        config: read_text(&dir.join("config.json"))?,
        preprocessor: if preprocessor_path.exists() { Some(read_text(&preprocessor_path)?) } else { None },
        spiece_model,
        tokenizer_json,
        tokenizer_config: read_optional(&dir.join("tokenizer_config.json"))?,
        weights: read_weights(dir)?,
    })
}

/// `model.safetensors`, or the shards a `model.safetensors.index.json` lists, joined into
/// one safetensors buffer (a copy: the shards are dropped after).
fn read_weights(dir: &Path) -> Result<Vec<u8>> {
    let single = dir.join("model.safetensors");
    let index = dir.join("model.safetensors.index.json");
    if single.exists() || !index.exists() {
        return read(&single);
    }
    let files = siglip::weights::shard_files(&read_text(&index)?)?;
    let buffers = files.iter().map(|f| read(&dir.join(f))).collect::<Result<Vec<_>>>()?;
    siglip::weights::join_shards(&buffers)
}

/// A local file or folder as given, else a Hub model's snapshot folder.
pub(crate) fn resolve(spec: &Path) -> Result<PathBuf> {
    if spec.exists() {
        return Ok(spec.to_path_buf());
    }
    #[cfg(feature = "hub")]
    {
        crate::hub::snapshot(&spec.to_string_lossy())
    }
    #[cfg(not(feature = "hub"))]
    Err(Error::io(spec, std::io::Error::from(std::io::ErrorKind::NotFound)))
}

/// Loads the model `spec` names; returns it with its source: `hf:owner/name@commit` for a Hub
/// model, else the absolute path of the file or folder.
pub(crate) fn open(spec: &Path) -> Result<(Siglip, String)> {
    let path = resolve(spec)?;
    let model = if path.is_dir() {
        let f = read_hf(&path)?;
        Siglip::from_hf(&f.config, f.preprocessor.as_deref(), f.tokenizer(), &f.weights)?
    } else {
        Siglip::from_packed_owned(read(&path)?)?
    };
    Ok((model, source_of(spec, &path)))
}

/// How an index names a model: `hf:owner/name@commit` when `spec` was a Hub id (resolved to
/// its snapshot folder, named by the commit), else the absolute path.
fn source_of(spec: &Path, resolved: &Path) -> String {
    #[cfg(feature = "hub")]
    if !spec.exists() {
        if let (Some((id, _)), Some(commit)) =
            (crate::hub::parse_id(&spec.to_string_lossy()), resolved.file_name().and_then(|c| c.to_str()))
        {
            return format!("hf:{id}@{commit}");
        }
    }
    let _ = spec;
    std::fs::canonicalize(resolved).unwrap_or_else(|_| resolved.to_path_buf()).display().to_string()
}

/// The `--model` value that loads a recorded source again: a Hub id for `hf:`, else the path.
pub(crate) fn spec_of(source: &str) -> PathBuf {
    PathBuf::from(source.strip_prefix("hf:").unwrap_or(source))
}
