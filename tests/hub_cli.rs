//! `--model owner/name[@revision]` in the CLI, against a local server that behaves like the
//! Hugging Face Hub (`scripts/serve.mjs --hub`: API revision info, resolve URLs with a 302 to a
//! CDN path for the weights, X-Repo-Commit, ETag, Range; a gated repo; missing repos), through
//! HF_ENDPOINT and a scratch HF_HOME: the reference results, a second run with the server gone
//! (from the cache), HF_HUB_OFFLINE, clear errors, and `quantize` from the Hub.
//! Needs `node` (the fake Hub is the same script the page tests use).

#![cfg(all(not(target_arch = "wasm32"), feature = "hub"))]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::*;

struct Hub {
    child: Child,
    url: String,
}

impl Hub {
    fn start() -> Hub {
        Hub::serving(&fixtures())
    }

    /// A Hub whose repos test/<dir> are the folders under `root`.
    fn serving(root: &Path) -> Hub {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new("node")
            .arg(here.join("scripts/serve.mjs"))
            .args(["--hub", "--port", "0", "--root"])
            .arg(root)
            .stdout(Stdio::piped())
            .spawn()
            .expect("node must be installed: the fake Hub is scripts/serve.mjs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.split_whitespace().nth(1).expect("serve.mjs prints its URL").trim_end_matches('/').to_string();
        Hub { child, url }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn home(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("siglip-hub-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn siglip(home: &Path, endpoint: &str, extra_env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_siglip"));
    c.args(args).env("HF_HOME", home).env("HF_ENDPOINT", endpoint).env_remove("HF_HUB_OFFLINE").env_remove("HF_TOKEN");
    for (k, v) in extra_env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Classifies the reference images with `model`; asserts the reference logits within `tol`.
fn assert_reference(o: &Output, tol: f64) {
    assert!(o.status.success(), "{}", stderr(o));
    let r = reference("tiny-224");
    let labels = strings(&r["labels"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let results = v[0]["results"].as_array().unwrap();
    let want = r["images"].as_array().unwrap().iter().find(|i| i["file"] == "gray.png").unwrap();
    for res in results {
        let i = labels.iter().position(|l| l == res["label"].as_str().unwrap()).unwrap();
        let (got, want) = (res["logit"].as_f64().unwrap(), want["logits"][i].as_f64().unwrap());
        assert!((got - want).abs() <= tol, "{}: {got} vs {want}", labels[i]);
    }
}

fn classify_args(model: &str) -> Vec<String> {
    let r = reference("tiny-224");
    let mut args: Vec<String> = ["classify", "--json", "--model", model, "--image"].map(String::from).to_vec();
    args.push(fixtures().join("images/gray.png").display().to_string());
    args.push("--labels".into());
    args.extend(strings(&r["labels"]));
    args
}

#[test]
fn hub_models_download_once_into_the_hf_cache_and_work_offline() {
    let home = home("cache");
    let args = classify_args("test/tiny-224");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let hub = Hub::start();
    let url = hub.url.clone();
    assert_reference(&siglip(&home, &url, &[], &args), 1e-4);
    // The standard cache layout (what Python's huggingface_hub reads and writes).
    let snapshot = home.join(format!("hub/models--test--tiny-224/snapshots/{}", "a".repeat(40)));
    assert!(snapshot.join("model.safetensors").exists(), "{}", snapshot.display());
    assert_eq!(
        std::fs::read_to_string(home.join("hub/models--test--tiny-224/refs/main")).unwrap().trim(),
        "a".repeat(40)
    );
    // An explicit revision, and quantize reading from the Hub.
    let out = home.join("q8.safetensors");
    let o = siglip(
        &home,
        &url,
        &[],
        &["quantize", &format!("test/tiny-224@{}", "a".repeat(40)), "-o", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    drop(hub);
    // The Hub is gone: the cached snapshot answers, with and without HF_HUB_OFFLINE.
    assert_reference(&siglip(&home, &url, &[], &args), 1e-4);
    assert_reference(&siglip(&home, &url, &[("HF_HUB_OFFLINE", "1")], &args), 1e-4);
    assert_reference(
        &siglip(&home, &url, &[], &classify_args(out.to_str().unwrap()).iter().map(String::as_str).collect::<Vec<_>>()),
        0.06,
    );
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn hub_errors_say_what_is_wrong() {
    let hub = Hub::start();
    let home = home("errors");
    let info = |model: &str, env: &[(&str, &str)]| {
        let o = siglip(&home, &hub.url, env, &["info", "--model", model]);
        assert!(!o.status.success(), "{model} should fail");
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        stderr(&o)
    };
    assert!(info("test/no-such-model", &[]).contains("test/no-such-model@main: not found on the Hub"));
    assert!(info("test/tiny-224@nope", &[]).contains("not found on the Hub"));
    let gated = info("test/gated", &[]);
    assert!(gated.contains("gated or private") && gated.contains("HF_TOKEN"), "{gated}");
    let offline = info("test/tiny-224", &[("HF_HUB_OFFLINE", "1")]);
    assert!(offline.contains("not in the Hugging Face cache") && offline.contains("HF_HUB_OFFLINE"), "{offline}");
    assert!(info("no/such/path.safetensors", &[]).contains("not a Hugging Face model id"));
    // Then a good model id, with the same HF_HOME: the reference results.
    let args = classify_args("test/tiny-224");
    assert_reference(&siglip(&home, &hub.url, &[], &args.iter().map(String::as_str).collect::<Vec<_>>()), 1e-4);
    let _ = std::fs::remove_dir_all(&home);
}

/// tiny-224 stored as two shards and an index, beside its other files, under a scratch root.
fn sharded_root() -> PathBuf {
    let root = home("sharded-root");
    let dir = root.join("tiny-224-sharded");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(model_dir("tiny-224")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.file_name().unwrap() != "model.safetensors" {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    let weights = std::fs::read(model_dir("tiny-224").join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&weights).unwrap();
    let mut tensors = st.tensors();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let half = tensors.len() / 2;
    let mut map = serde_json::Map::new();
    for (i, part) in [&tensors[..half], &tensors[half..]].into_iter().enumerate() {
        let file = format!("model-0000{}-of-00002.safetensors", i + 1);
        let bytes = safetensors::serialize(part.iter().map(|(n, v)| (n.clone(), v.clone())), None).unwrap();
        std::fs::write(dir.join(&file), bytes).unwrap();
        for (n, _) in part {
            map.insert(n.clone(), file.clone().into());
        }
    }
    let index = serde_json::json!({ "metadata": {}, "weight_map": map });
    std::fs::write(dir.join("model.safetensors.index.json"), index.to_string()).unwrap();
    root
}

#[test]
fn sharded_checkpoints_load_from_the_hub_and_from_a_folder() {
    let root = sharded_root();
    let hub = Hub::serving(&root);
    let home = home("sharded");
    let args = classify_args("test/tiny-224-sharded");
    assert_reference(&siglip(&home, &hub.url, &[], &args.iter().map(String::as_str).collect::<Vec<_>>()), 1e-4);
    let folder = root.join("tiny-224-sharded");
    let args = classify_args(folder.to_str().unwrap());
    assert_reference(&siglip(&home, &hub.url, &[], &args.iter().map(String::as_str).collect::<Vec<_>>()), 1e-4);
    drop(hub);
    let _ = std::fs::remove_dir_all(&home);
    let _ = std::fs::remove_dir_all(&root);
}
