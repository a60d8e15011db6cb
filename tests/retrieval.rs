//! Retrieval natively: the model fingerprint an index records is one per checkpoint whatever
//! its dtype, and the one transformers' side computes; `siglip index` over the generated
//! gallery (scripts/make_gallery.mjs, 1,000 images) gives the reference embeddings
//! (tests/fixtures/gallery, made by make_fixtures.py --gallery with transformers) and
//! `siglip search` the reference rankings for text, image and combined queries; re-runs embed
//! only what changed, a killed run resumes from its journal, and bad indexes and other models'
//! indexes are clear errors.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::*;
use serde_json::Value;
use siglip::index::Index;
use siglip::weights::Weights;
use siglip::{format, Siglip, StorageDtype};

fn siglip(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_siglip")).args(args).output().unwrap()
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("siglip-retrieval-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The generated gallery, written once per test process: `<scratch>/gallery`.
fn gallery() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("gallery");
        let _ = std::fs::remove_dir_all(&dir);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make_gallery.mjs");
        let o = Command::new("node").arg(script).arg(&dir).output().expect("node runs scripts/make_gallery.mjs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        dir
    })
}

fn reference_index() -> Index {
    Index::from_bytes(&std::fs::read(fixtures().join("gallery/reference.index.safetensors")).unwrap()).unwrap()
}

fn queries() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("gallery/queries.json")).unwrap()).unwrap()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `got` (ids, best first) is the reference's ranking for `query`: every image, in the order
/// of the reference cosines, except that images whose reference cosines are within `tol` may
/// trade places (our embeddings differ from transformers' by ~1e-6).
fn assert_ranked_like_reference(got: &[String], query: &[f32], tol: f32, what: &str) {
    let reference = reference_index();
    let cos = |id: &str| dot(&reference.embedding(id).unwrap(), query);
    assert_eq!(got.len(), reference.len(), "{what}: every image ranked");
    for w in got.windows(2) {
        let (a, b) = (cos(&w[0]), cos(&w[1]));
        assert!(a >= b - tol, "{what}: {} ({a}) ranked above {} ({b})", w[0], w[1]);
    }
}

/// The reference query embedding for query `i` in the checkpoint's pipeline masking mode.
fn query_embedding(i: usize) -> Vec<f32> {
    let q = queries();
    let key = if q["pipeline_text_masking"] == "padding" { "text_embeds" } else { "text_embeds_unmasked" };
    floats(&q[key][i])
}

#[test]
fn a_checkpoint_has_one_fingerprint_in_every_dtype() {
    let want = reference_index().identity.fingerprint;
    let hf = load_hf("tiny-224");
    assert_eq!(hf.fingerprint(), want, "the same as make_fixtures.py computes from model.safetensors");
    let f = hf_files("tiny-224");
    let weights = Weights::parse(&f.weights).unwrap();
    for dtype in [StorageDtype::F32, StorageDtype::F16, StorageDtype::Q8, StorageDtype::Q4] {
        let packed = format::pack(&weights, dtype, &f.config, f.preprocessor.as_deref(), f.tokenizer()).unwrap();
        assert_eq!(Siglip::from_packed(&packed).unwrap().fingerprint(), want, "{dtype:?}");
    }
    assert_ne!(load_hf("tiny-p14").fingerprint(), want);
}

/// Indexes the gallery (f32 rows) into a fresh file; returns it with the summary.
fn index_gallery(name: &str, extra: &[&str]) -> (PathBuf, Value) {
    let out = scratch(name);
    let _ = std::fs::remove_file(&out);
    let model = model_dir("tiny-224");
    let mut args =
        vec!["index", gallery().to_str().unwrap(), "-o", out.to_str().unwrap(), "-m", model.to_str().unwrap()];
    args.extend(extra);
    args.push("--json");
    let summary = json(&ok(siglip(&args)));
    (out, summary)
}

#[test]
fn indexing_and_searching_the_gallery_match_the_reference() {
    let (out, summary) = index_gallery("gallery-f32.index.safetensors", &["--dtype", "f32"]);
    assert_eq!(summary["embedded"], 1000);
    assert_eq!(summary["images"], 1000);
    assert_eq!(summary["not_images"], 1, "notes.txt");
    let unreadable = summary["unreadable"].as_array().unwrap();
    assert_eq!(unreadable.len(), 1);
    assert!(unreadable[0]["path"].as_str().unwrap().ends_with("a/broken.png"));

    let index = Index::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    let reference = reference_index();
    index.identity.check_same_model(&reference.identity).unwrap();
    assert_eq!(index.len(), reference.len());
    let mut worst = 0f32;
    for r in reference.records() {
        let (_, got) = index.get(&r.id).unwrap_or_else(|| panic!("{} not indexed", r.name));
        assert_eq!((&got.sha256, got.size, got.grid), (&r.sha256, r.size, r.grid));
        assert_eq!(got.path.as_deref().unwrap(), format!("gallery/{}", r.path.as_deref().unwrap()));
        let (a, b) = (index.embedding(&r.id).unwrap(), reference.embedding(&r.id).unwrap());
        worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(worst, f32::max);
    }
    assert!(worst < 1e-5, "largest embedding difference from transformers: {worst}");

    // Text queries, an image query, and both: every image, in the reference order.
    let path = out.to_str().unwrap();
    let texts = queries()["texts"].as_array().unwrap().clone();
    for (i, text) in texts.iter().enumerate() {
        let text = text.as_str().unwrap();
        let hits = json(&ok(siglip(&["search", path, text, "--top", "5000", "--json"])));
        let ids: Vec<String> = hits.as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap().to_string()).collect();
        assert_ranked_like_reference(&ids, &query_embedding(i), 1e-5, text);
    }
    let image = gallery().join("img-0005.png");
    let by_image = json(&ok(siglip(&["search", path, "--image", image.to_str().unwrap(), "--top", "5000", "--json"])));
    let ids: Vec<String> = by_image.as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap().to_string()).collect();
    let own = reference.records().iter().find(|r| r.name == "img-0005.png").unwrap();
    assert_eq!(ids[0], own.id, "an image finds itself first");
    let image_embedding = reference.embedding(&own.id).unwrap();
    assert_ranked_like_reference(&ids, &image_embedding, 1e-5, "image query");
    let both = json(&ok(siglip(&[
        "search",
        path,
        texts[1].as_str().unwrap(),
        "--image",
        image.to_str().unwrap(),
        "--top",
        "5000",
        "--json",
    ])));
    let ids: Vec<String> = both.as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap().to_string()).collect();
    let combined = siglip::index::combine_query(Some(&query_embedding(1)), Some(&image_embedding)).unwrap();
    assert_ranked_like_reference(&ids, &combined, 1e-5, "text + image query");

    // The JSON fields, and SigLIP's score: sigmoid(exp(logit_scale) * cosine + logit_bias).
    let hits = json(&ok(siglip(&["search", path, "stripes", "--top", "3", "--json"])));
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 3);
    for (i, h) in hits.iter().enumerate() {
        assert_eq!(h["rank"], i + 1);
        let (cos, logit, score) =
            (h["cosine"].as_f64().unwrap(), h["logit"].as_f64().unwrap(), h["score"].as_f64().unwrap());
        let id = reference.identity.clone();
        assert!((logit - (id.logit_scale.exp() as f64 * cos + id.logit_bias as f64)).abs() < 1e-4);
        assert!((score - 1.0 / (1.0 + (-logit).exp())).abs() < 1e-6);
        assert!(h["path"].as_str().unwrap().starts_with("gallery/") && h["name"].as_str().unwrap().ends_with(".png"));
    }
    // Without --json: one line per hit, the path last.
    let text = String::from_utf8(ok(siglip(&["search", path, "stripes", "--top", "2"])).stdout).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.lines().all(|l| l.trim_end().ends_with(".png")), "{text}");
}

#[test]
fn f16_rows_rank_as_f32_rows_do_but_for_near_ties() {
    let (out, _) = index_gallery("gallery-f16.index.safetensors", &[]);
    let bytes = std::fs::read(&out).unwrap();
    let f16 = Index::from_bytes(&bytes).unwrap();
    assert_eq!(f16.rows().dtype(), siglip::index::RowDtype::F16);
    // Half the size of f32 rows, plus the records.
    let f32_bytes = f16.to_bytes(siglip::index::RowDtype::F32).unwrap().len();
    assert!(bytes.len() < f32_bytes - 1000 * 64 * 2 + 1000, "{} vs {f32_bytes}", bytes.len());
    for i in 0..queries()["texts"].as_array().unwrap().len() {
        let hits = f16.search(&query_embedding(i), 5000).unwrap();
        let ids: Vec<String> = hits.into_iter().map(|h| h.id).collect();
        assert_ranked_like_reference(&ids, &query_embedding(i), 2e-3, "f16 rows");
    }
}

#[test]
fn re_running_embeds_only_what_changed() {
    // A copy of the gallery to change.
    let dir = scratch("changing");
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(gallery(), &dir);
    let out = scratch("changing.index.safetensors");
    let _ = std::fs::remove_file(&out);
    let model = model_dir("tiny-224");
    let run = |extra: &[&str]| {
        let mut args = vec!["index", dir.to_str().unwrap(), "-o", out.to_str().unwrap(), "--json"];
        args.extend(extra);
        json(&ok(siglip(&args)))
    };
    let first = run(&["-m", model.to_str().unwrap()]);
    assert_eq!(first["embedded"], 1000);
    // The model is the one the index records; nothing changed, nothing embedded.
    let again = run(&[]);
    assert_eq!((again["embedded"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(1000)));

    // One file changed (another image's content), one new, one moved, one removed.
    std::fs::copy(dir.join("img-0001.png"), dir.join("img-0002.png")).unwrap();
    std::fs::write(dir.join("new.png"), [std::fs::read(dir.join("img-0004.png")).unwrap(), vec![0; 7]].concat())
        .unwrap();
    std::fs::rename(dir.join("img-0007.png"), dir.join("b/moved.png")).unwrap();
    std::fs::remove_file(dir.join("img-0008.png")).unwrap();
    let third = run(&["--prune"]);
    // img-0002 now holds img-0001's content (already indexed: not embedded, its old record
    // goes); new.png is new content; moved.png is img-0007's record, moved.
    assert_eq!(third["embedded"], 1, "{third}");
    assert_eq!(third["duplicates"], 2, "{third}");
    let index = Index::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    let paths: Vec<&str> = index.records().iter().filter_map(|r| r.path.as_deref()).collect();
    assert!(paths.contains(&"changing/new.png") && paths.contains(&"changing/b/moved.png"));
    assert!(!paths.contains(&"changing/img-0007.png") && !paths.contains(&"changing/img-0008.png"), "pruned");
    assert_eq!(index.len(), 1000 - 1 /* 0002's old content */ - 1 /* 0008 */ + 1 /* new */);
    let fourth = run(&[]);
    assert_eq!(fourth["embedded"], 0, "{fourth}");
}

#[test]
fn a_killed_run_resumes_from_its_journal() {
    let out = scratch("killed.index.safetensors");
    let journal = scratch("killed.index.safetensors.journal");
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&journal);
    let model = model_dir("tiny-224");
    let mut child = Command::new(env!("CARGO_BIN_EXE_siglip"))
        .args(["index", gallery().to_str().unwrap(), "-o", out.to_str().unwrap(), "-m", model.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once the journal holds some images (one line each after its header).
    let lines = || std::fs::read_to_string(&journal).map_or(0, |t| t.lines().count());
    let started = std::time::Instant::now();
    while lines() < 50 && started.elapsed().as_secs() < 60 && child.try_wait().unwrap().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let kept = lines().saturating_sub(1);
    assert!(kept >= 49, "the run ended before it could be killed ({kept} images journaled)");
    let resumed = json(&ok(siglip(&[
        "index",
        gallery().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--json",
        "-m",
        model.to_str().unwrap(),
    ])));
    let recovered = resumed["recovered"].as_u64().unwrap() as usize;
    assert!(recovered >= kept.min(1000) - 1, "recovered {recovered} of {kept}");
    assert_eq!(resumed["embedded"].as_u64().unwrap() as usize + recovered.min(1000), 1000, "{resumed}");
    assert_eq!(resumed["images"], 1000);
    assert!(!journal.exists(), "folded into the index");
}

#[test]
fn bad_indexes_and_other_models_are_clear_errors() {
    let (out, _) = index_gallery("errors.index.safetensors", &[]);
    let bytes = std::fs::read(&out).unwrap();
    let cut = scratch("truncated.index.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let o = siglip(&["search", cut.to_str().unwrap(), "stripes"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("invalid index") && err.contains("truncated"), "{err}");

    // A model file given as an index.
    let f = hf_files("tiny-224");
    let packed = scratch("model.safetensors");
    std::fs::write(
        &packed,
        format::pack(
            &Weights::parse(&f.weights).unwrap(),
            StorageDtype::Q8,
            &f.config,
            f.preprocessor.as_deref(),
            f.tokenizer(),
        )
        .unwrap(),
    )
    .unwrap();
    let o = siglip(&["search", packed.to_str().unwrap(), "stripes"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("model file, not an index"));

    // The same checkpoint in q8 is the same model; another checkpoint is refused.
    let o = ok(siglip(&["search", out.to_str().unwrap(), "stripes", "-m", packed.to_str().unwrap(), "--json"]));
    assert_eq!(json(&o).as_array().unwrap().len(), 10);
    let other = model_dir("tiny-p14");
    for args in [
        vec!["search", out.to_str().unwrap(), "stripes", "-m", other.to_str().unwrap()],
        vec!["index", gallery().to_str().unwrap(), "-o", out.to_str().unwrap(), "-m", other.to_str().unwrap()],
    ] {
        let o = siglip(&args);
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("this index was made with") && err.contains("cannot be compared"), "{err}");
    }
    // No query at all is a usage error.
    assert!(!siglip(&["search", out.to_str().unwrap()]).status.success());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
