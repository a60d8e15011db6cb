//! The `siglip` binary as a user runs it: quantize, classify (text and JSON), embed, errors.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::process::{Command, Output};

use common::*;

fn siglip(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_siglip")).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("siglip-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn quantize_then_classify_json_matches_reference() {
    let r = reference("tiny-p14");
    let labels = strings(&r["labels"]);
    let hf = model_dir("tiny-p14");
    let out = scratch("tiny-p14-q8.safetensors");
    let o = siglip(&["quantize", hf.to_str().unwrap(), "--dtype", "q8", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.exists());

    let images: Vec<String> = ["alpha.png", "gray.png", "wide.png"]
        .iter()
        .map(|f| fixtures().join("images").join(f).display().to_string())
        .collect();
    // f32 straight from the Hugging Face folder must match to 1e-4; q8 within its bound.
    for (model, tol) in [(hf.display().to_string(), 1e-4), (out.display().to_string(), 0.06)] {
        let mut args = vec!["classify", "--json", "--model", &model, "--image"];
        args.extend(images.iter().map(String::as_str));
        args.push("--labels");
        args.extend(labels.iter().map(String::as_str));
        let o = siglip(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let arr = v.as_array().unwrap();
        assert_eq!(arr.len(), images.len());
        for (entry, path) in arr.iter().zip(&images) {
            assert_eq!(entry["image"].as_str().unwrap(), path);
            let file = std::path::Path::new(path).file_name().unwrap().to_str().unwrap();
            let want = r["images"].as_array().unwrap().iter().find(|i| i["file"] == file).unwrap();
            let results = entry["results"].as_array().unwrap();
            assert_eq!(results.len(), labels.len());
            let scores: Vec<f64> = results.iter().map(|x| x["score"].as_f64().unwrap()).collect();
            assert!(scores.windows(2).all(|w| w[0] >= w[1]), "sorted by score: {scores:?}");
            for res in results {
                let i = labels.iter().position(|l| l == res["label"].as_str().unwrap()).unwrap();
                let logit = res["logit"].as_f64().unwrap();
                let want_logit = want["logits"][i].as_f64().unwrap();
                assert!((logit - want_logit).abs() <= tol, "{model} {file}: {logit} vs {want_logit}");
                let score = res["score"].as_f64().unwrap();
                assert!((score - want["scores"][i].as_f64().unwrap()).abs() <= tol);
            }
        }
    }
}

#[test]
fn classify_text_output_and_template() {
    let hf = model_dir("tiny-224");
    let img = fixtures().join("images/gray.png");
    let o = siglip(&[
        "classify",
        "--model",
        hf.to_str().unwrap(),
        "--image",
        img.to_str().unwrap(),
        "--labels",
        "cat",
        "dog",
        "--template",
        "a photo of {}",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.starts_with(img.to_str().unwrap()), "{text}");
    assert_eq!(text.lines().count(), 3);
    assert!(text.contains('%'));
}

#[test]
fn embed_texts_matches_reference_and_is_normalized() {
    let r = reference("tiny-224");
    let hf = model_dir("tiny-224");
    let text = r["texts"][1].as_str().unwrap();
    let o = siglip(&["embed", "--json", "--model", hf.to_str().unwrap(), "--text", text]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let e = floats(&v[0]["embedding"]);
    let norm: f32 = e.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
    assert!(max_abs_diff(&e, &floats(&r["text_embeds"][1])) < 1e-5);

    let img = fixtures().join("images/lossless.webp");
    let o = siglip(&["embed", "--model", hf.to_str().unwrap(), "--image", img.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let line = String::from_utf8(o.stdout).unwrap();
    let values: Vec<f32> = line.split('\t').nth(1).unwrap().split(' ').map(|x| x.trim().parse().unwrap()).collect();
    assert_eq!(values.len(), 64);
}

/// The good call after a failure: the binary classifies gray.png with the reference logits.
fn assert_good_classify(model: &str) {
    let r = reference("tiny-224");
    let labels = strings(&r["labels"]);
    let img = fixtures().join("images/gray.png");
    let mut args = vec!["classify", "--json", "--model", model, "--image", img.to_str().unwrap(), "--labels"];
    args.extend(labels.iter().map(String::as_str));
    let o = siglip(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let want = r["images"].as_array().unwrap().iter().find(|i| i["file"] == "gray.png").unwrap();
    let results = v[0]["results"].as_array().unwrap();
    assert_eq!(results.len(), labels.len());
    for res in results {
        let i = labels.iter().position(|l| l == res["label"].as_str().unwrap()).unwrap();
        let (got, want) = (res["logit"].as_f64().unwrap(), want["logits"][i].as_f64().unwrap());
        assert!((got - want).abs() <= 1e-4, "{}: {got} vs {want}", labels[i]);
    }
}

#[test]
fn errors_exit_nonzero_with_a_message_and_never_panic() {
    let hf = model_dir("tiny-224");
    let hf = hf.to_str().unwrap();
    let not_image = fixtures().join("tiny-224/config.json");
    let good_image = fixtures().join("images/alpha.png");
    let (not_image, good_image) = (not_image.to_str().unwrap(), good_image.to_str().unwrap());
    // Each case and a part of the message it must give.
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["classify", "--model", hf, "--image", "/nonexistent.png", "--labels", "cat"], "No such file"),
        (vec!["classify", "--model", hf, "--image", not_image, "--labels", "cat"], "not a supported image"),
        (
            vec!["classify", "--model", "/nonexistent-model", "--image", not_image, "--labels", "cat"],
            "no such file or folder, and not a Hugging Face model id",
        ),
        (vec!["classify", "--model", not_image, "--image", not_image, "--labels", "x"], "invalid weights file"),
        (vec!["classify", "--model", hf, "--image", good_image, "--labels", ""], "a label is empty"),
        (vec!["quantize", hf, "--dtype", "q3", "-o", "/tmp/x.safetensors"], "unknown dtype `q3`"),
        (vec!["quantize", "/nonexistent-dir", "-o", "/tmp/x.safetensors"], "no such file or folder"),
    ];
    for (args, message) in cases {
        let o = siglip(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        // Then a good call works.
        assert_good_classify(hf);
    }
    // Usage errors come from the argument parser with exit code 2.
    let o = siglip(&["classify", "--model", hf, "--image", "x.png"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--labels"), "{}", stderr(&o));
    assert_good_classify(hf);
}

#[test]
fn checkpoint_with_only_spiece_model_is_converted() {
    // The shape of google/siglip-*: spiece.model, no tokenizer.json.
    let src = model_dir("tiny-224");
    let dir = scratch("spm-only");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config.json", "model.safetensors", "preprocessor_config.json", "spiece.model"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let out = scratch("spm-only.safetensors");
    let o = siglip(&["quantize", dir.to_str().unwrap(), "--dtype", "f32", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = reference("tiny-224");
    let img = fixtures().join("images/alpha.png");
    let o = siglip(&[
        "classify",
        "--json",
        "--model",
        out.to_str().unwrap(),
        "--image",
        img.to_str().unwrap(),
        "--labels",
        "Two DOGS!!",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let got = v[0]["results"][0]["logit"].as_f64().unwrap();
    let want = r["images"].as_array().unwrap().iter().find(|i| i["file"] == "alpha.png").unwrap()["logits"][1]
        .as_f64()
        .unwrap();
    assert!((got - want).abs() <= 1e-4, "{got} vs {want}");
}

#[test]
fn classify_a_naflex_checkpoint_at_a_chosen_patch_budget() {
    // SigLIP 2 NaFlex straight from its folder: the tall image keeps its aspect ratio (16 x 1
    // patches at a budget of 16), the JSON says so, and the scores are the pipeline's.
    let r = reference("tiny-siglip2-naflex");
    let labels = strings(&r["labels"]);
    let hf = model_dir("tiny-siglip2-naflex");
    let image = fixtures().join("images-naflex/tall.png");
    // A budget of 0 first: refused, then the same command at 16 works.
    let o = siglip(
        &["classify", "--max-num-patches", "0", "--model", hf.to_str().unwrap(), "--image"]
            .into_iter()
            .chain([image.to_str().unwrap(), "--labels", "cat"])
            .collect::<Vec<_>>(),
    );
    assert!(!o.status.success() && stderr(&o).contains("max_num_patches"), "{}", stderr(&o));
    let mut args = vec!["classify", "--json", "--max-num-patches", "16", "--model", hf.to_str().unwrap()];
    args.extend(["--image", image.to_str().unwrap(), "--labels"]);
    args.extend(labels.iter().map(String::as_str));
    let o = siglip(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let want = r["images"].as_array().unwrap().iter().find(|i| i["file"] == "tall.png" && i["max_num_patches"] == 16);
    let want = want.unwrap();
    assert_eq!(v[0]["grid"], want["grid"]);
    for res in v[0]["results"].as_array().unwrap() {
        let i = labels.iter().position(|l| l == res["label"].as_str().unwrap()).unwrap();
        let (got, w) = (res["score"].as_f64().unwrap(), want["scores"][i].as_f64().unwrap());
        assert!((got - w).abs() <= 1e-4, "{}: {got} vs {w}", labels[i]);
    }
}
