//! `--model owner/name[@revision]`: a checkpoint from the Hugging Face Hub, through `hf-hub`
//! (the ecosystem's Rust client) and its cache, which is Python `huggingface_hub`'s: `HF_HOME`
//! (else `~/.cache/huggingface`), `HF_ENDPOINT` for a mirror, `HF_TOKEN` (else the cache's
//! `token` file) for gated repositories, `HF_HUB_OFFLINE=1` to use only the cache. A model
//! already downloaded by Python is used without a second download. When the Hub cannot be
//! reached, a complete cached snapshot of the revision is used.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use hf_hub::api::sync::{ApiBuilder, ApiError};
use hf_hub::{Cache, Repo, RepoType};
use siglip::{Error, Result};

/// The files a checkpoint folder is read from (see `read_hf`); optional ones may be missing.
const REQUIRED: [&str; 2] = ["config.json", "model.safetensors"];
const OPTIONAL: [&str; 4] = ["preprocessor_config.json", "spiece.model", "tokenizer.json", "tokenizer_config.json"];
/// A sharded checkpoint's index (then its shards stand in for `model.safetensors`).
const INDEX: &str = "model.safetensors.index.json";

/// `owner/name[@revision]` as `(id, revision)`, or None when `spec` does not look like one.
pub fn parse_id(spec: &str) -> Option<(String, String)> {
    let (id, revision) = match spec.split_once('@') {
        Some((id, rev)) if !rev.is_empty() => (id, rev),
        Some(_) => return None,
        None => (spec, "main"),
    };
    let (owner, name) = id.split_once('/')?;
    let ok = |s: &str| {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) && !s.starts_with('.')
    };
    (ok(owner) && ok(name)).then(|| (id.to_string(), revision.to_string()))
}

fn offline() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// The folder of `spec`'s checkpoint files: downloaded (or found in the cache) as needed.
pub fn snapshot(spec: &str) -> Result<PathBuf> {
    let (id, revision) = parse_id(spec).ok_or_else(|| {
        Error::Input(format!("{spec}: no such file or folder, and not a Hugging Face model id (owner/name[@revision])"))
    })?;
    let repo = Repo::with_revision(id.clone(), RepoType::Model, revision.clone());
    let cached = || cached_snapshot(&repo);
    if offline() {
        return cached().ok_or_else(|| {
            Error::Network(format!(
                "{id}@{revision} is not in the Hugging Face cache ({}) and HF_HUB_OFFLINE is set",
                Cache::from_env().path().display()
            ))
        });
    }
    let mut builder = ApiBuilder::from_env().with_progress(std::io::stderr().is_terminal());
    if let Some(token) = std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty()) {
        builder = builder.with_token(Some(token));
    }
    let api = builder.build().map_err(|e| hub_error(&id, &revision, "", e))?;
    let remote = api.repo(repo.clone());
    let info = match remote.info() {
        Ok(info) => info,
        // No answer (offline, DNS, refused) or a busy or broken Hub: a complete cached snapshot will do.
        Err(e) if is_transient(&e) => {
            return cached().ok_or_else(|| hub_error(&id, &revision, "", e));
        }
        Err(e) => return Err(hub_error(&id, &revision, "", e)),
    };
    // Files come from the commit the revision is now (hf-hub would otherwise reuse whatever its
    // cached ref points to), and the revision's ref is then moved to it.
    let remote = api.repo(Repo::with_revision(id.clone(), RepoType::Model, info.sha.clone()));
    let files: Vec<&str> = info.siblings.iter().map(|s| s.rfilename.as_str()).collect();
    let get = |file: &str| remote.get(file).map_err(|e| hub_error(&id, &revision, file, e));
    let mut dir = None;
    if !files.contains(&"model.safetensors") {
        if !files.contains(&INDEX) {
            return Err(Error::Input(format!("{id}@{revision}: it has no model.safetensors")));
        }
        // Sharded: the index, then every shard it lists.
        let index = get(INDEX)?;
        let text = std::fs::read_to_string(&index).map_err(|e| Error::io(&index, e))?;
        for shard in siglip::weights::shard_files(&text)? {
            get(&shard)?;
        }
    }
    for file in REQUIRED.iter().chain(OPTIONAL.iter()).filter(|f| files.contains(f)) {
        dir = get(file)?.parent().map(Path::to_path_buf);
    }
    if revision != info.sha {
        Cache::from_env().repo(repo).create_ref(&info.sha).map_err(|e| Error::io(Cache::from_env().path(), e))?;
    }
    dir.ok_or_else(|| Error::Network(format!("{id}@{revision}: the Hub listed no files")))
}

/// The cached snapshot of `repo`'s revision, when it holds every file a checkpoint needs.
fn cached_snapshot(repo: &Repo) -> Option<PathBuf> {
    let cache = Cache::from_env().repo(repo.clone());
    let config = cache.get("config.json")?;
    if cache.get("model.safetensors").is_none() {
        let index = std::fs::read_to_string(cache.get(INDEX)?).ok()?;
        for shard in siglip::weights::shard_files(&index).ok()? {
            cache.get(&shard)?;
        }
    }
    if cache.get("spiece.model").is_none() && cache.get("tokenizer.json").is_none() {
        return None;
    }
    config.parent().map(Path::to_path_buf)
}

/// No answer, or 429 / 5xx: worth falling back to the cache.
fn is_transient(e: &ApiError) -> bool {
    match e {
        ApiError::RequestError(inner) => match &**inner {
            ureq::Error::Transport(_) => true,
            ureq::Error::Status(code, _) => *code == 429 || *code >= 500,
        },
        _ => false,
    }
}

/// What went wrong, in words: not found, gated, or the client's own message.
fn hub_error(id: &str, revision: &str, file: &str, e: ApiError) -> Error {
    let what = if file.is_empty() { format!("{id}@{revision}") } else { format!("{id}@{revision}: {file}") };
    let (status, code) = match &e {
        ApiError::RequestError(inner) => match &**inner {
            ureq::Error::Status(status, response) => {
                (Some(*status), response.header("x-error-code").map(str::to_string))
            }
            _ => (None, None),
        },
        _ => (None, None),
    };
    // The Hub answers a repository that does not exist with 401 to anonymous clients.
    let missing = matches!(code.as_deref(), Some("RepoNotFound" | "RevisionNotFound" | "EntryNotFound"));
    Error::Network(match status {
        _ if missing || status == Some(404) => {
            format!("{what}: not found on the Hub (check the name and the revision)")
        }
        Some(code @ (401 | 403)) => {
            format!(
                "{what}: HTTP {code}: the repository is gated or private; accept its terms on the Hub and set HF_TOKEN"
            )
        }
        _ => format!("{what}: {e}"),
    })
}
