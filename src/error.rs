//! The crate's one error type. Every fallible function returns [`Result`].
//!
//! Messages say what was wrong and, where it helps, what to do about it. In the browser
//! facade each variant becomes a JavaScript `Error` whose `name` is [`Error::kind`].

/// Everything that can go wrong, from bad bytes to a failed tensor op.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The weights file is not a readable safetensors file (truncated, corrupt, lying header).
    #[error("invalid weights file: {0}")]
    Weights(String),
    /// A tensor the model needs is missing, has the wrong shape or an unsupported dtype.
    #[error("invalid tensor `{name}`: {reason}")]
    Tensor { name: String, reason: String },
    /// The configuration is missing, not SigLIP, or inconsistent.
    #[error("invalid model config: {0}")]
    Config(String),
    /// The tokenizer could not be loaded or failed to encode a text.
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    /// The bytes are not a supported image, or the image is too large to accept.
    #[error("invalid image: {0}")]
    Image(String),
    /// The caller asked for something that cannot be answered (no labels, an empty label, ...).
    #[error("invalid input: {0}")]
    Input(String),
    /// An index file (or an index record) is not readable: truncated, corrupt, not an index,
    /// or of a format version this build does not know.
    #[error("invalid index: {0}")]
    Index(String),
    /// An index and a model that do not belong together (embeddings of different models).
    #[error("{0}")]
    ModelMismatch(String),
    /// Memory for the model or a computation could not be allocated.
    #[error("out of memory: {0}")]
    Memory(String),
    /// A tensor operation failed; this is a bug or an exhausted allocator, not bad input.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// A model could not be fetched from the Hugging Face Hub (native CLI only): not found,
    /// gated, offline without a cached copy.
    #[error("{0}")]
    Network(String),
    /// Reading or writing a file failed (native CLI only).
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A short stable name for the kind of error, used as the JS `Error.name`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Weights(_) => "WeightsError",
            Error::Tensor { .. } => "TensorError",
            Error::Config(_) => "ConfigError",
            Error::Tokenizer(_) => "TokenizerError",
            Error::Image(_) => "ImageError",
            Error::Input(_) => "InputError",
            Error::Index(_) => "IndexError",
            Error::ModelMismatch(_) => "ModelMismatchError",
            Error::Memory(_) => "MemoryError",
            Error::Candle(_) => "ComputeError",
            Error::Network(_) => "NetworkError",
            Error::Io { .. } => "IoError",
        }
    }

    pub(crate) fn tensor(name: &str, reason: impl Into<String>) -> Self {
        Error::Tensor { name: name.to_string(), reason: reason.into() }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().display().to_string(), source }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
