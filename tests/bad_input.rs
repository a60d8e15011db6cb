//! Bad input gets a typed error with a clear message, and nothing panics.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::HashMap;

use common::*;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use siglip::{format, weights::Weights, Classifier, Error, Siglip, StorageDtype};

fn from_hf_weights(weights: &[u8]) -> Result<Siglip, Error> {
    let f = hf_files("tiny-224");
    Siglip::from_hf(&f.config, f.preprocessor.as_deref(), f.tokenizer(), weights)
}

/// Re-serializes the tiny checkpoint with `edit` applied to the (name -> view) map.
fn edited_weights(edit: impl FnOnce(&mut HashMap<String, (Dtype, Vec<usize>, Vec<u8>)>)) -> Vec<u8> {
    let f = hf_files("tiny-224");
    let st = SafeTensors::deserialize(&f.weights).unwrap();
    let mut map: HashMap<String, (Dtype, Vec<usize>, Vec<u8>)> =
        st.tensors().into_iter().map(|(n, v)| (n, (v.dtype(), v.shape().to_vec(), v.data().to_vec()))).collect();
    edit(&mut map);
    let views: Vec<(String, TensorView<'_>)> =
        map.iter().map(|(n, (d, s, b))| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap())).collect();
    safetensors::serialize(views, None).unwrap()
}

/// The good call after the failures: `classifier` gives alpha.png the reference scores.
fn assert_reference_scores(classifier: &mut Classifier, tol: f32) {
    let r = reference("tiny-224");
    let labels = strings(&r["labels"]);
    let want = r["images"].as_array().unwrap().iter().find(|i| i["file"] == "alpha.png").unwrap();
    let want = floats(&want["scores"]);
    let image = std::fs::read(fixtures().join("images/alpha.png")).unwrap();
    let results = classifier.classify_bytes(&image, &labels).unwrap();
    assert_eq!(results.len(), labels.len());
    for res in results {
        let w = want[labels.iter().position(|l| *l == res.label).unwrap()];
        assert!((res.score - w).abs() <= tol, "{}: {} vs {w}", res.label, res.score);
    }
}

/// A PNG that claims `width` x `height` and holds a few bytes of pixel data.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let crc32 = |bytes: &[u8]| {
        let mut crc = 0xffff_ffffu32;
        for b in bytes {
            crc ^= *b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
        !crc
    };
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    for (kind, body) in [(b"IHDR", ihdr), (b"IDAT", vec![0x78, 0x9c, 0x03, 0, 0, 0, 0, 1]), (b"IEND", vec![])] {
        png.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(&body);
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    png
}

fn packed() -> Vec<u8> {
    let f = hf_files("tiny-224");
    let w = Weights::parse(&f.weights).unwrap();
    format::pack(&w, StorageDtype::Q8, &f.config, f.preprocessor.as_deref(), f.tokenizer()).unwrap()
}

#[test]
fn truncated_files_are_refused() {
    let bytes = packed();
    for cut in [0, 4, 8, 100, bytes.len() / 2, bytes.len() - 1] {
        let err = Siglip::from_packed(&bytes[..cut]).err().unwrap();
        assert!(matches!(err, Error::Weights(_)), "cut at {cut}: {err}");
        assert!(err.to_string().contains("truncated"), "{err}");
    }
    let f = hf_files("tiny-224");
    let err = from_hf_weights(&f.weights[..f.weights.len() - 10]).err().unwrap();
    assert!(matches!(err, Error::Weights(_)), "{err}");
    // The whole files load and classify.
    assert_reference_scores(&mut Classifier::new(Siglip::from_packed(&bytes).unwrap()), 0.02);
    assert_reference_scores(&mut Classifier::new(from_hf_weights(&f.weights).unwrap()), 1e-4);
}

#[test]
fn corrupt_and_lying_headers_are_refused() {
    // Garbage, and a header length far beyond the buffer.
    assert!(matches!(from_hf_weights(b"this is not a safetensors file at all"), Err(Error::Weights(_))));
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    assert!(matches!(from_hf_weights(&huge), Err(Error::Weights(_))));
    // Offsets pointing past the data, and a shape that disagrees with the byte count.
    for header in [
        r#"{"logit_scale":{"dtype":"F32","shape":[1],"data_offsets":[0,4000]}}"#,
        r#"{"logit_scale":{"dtype":"F32","shape":[8],"data_offsets":[0,4]}}"#,
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
        r#"[1,2,3]"#,
    ] {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&[0u8; 8]);
        let err = from_hf_weights(&bytes).err().unwrap();
        assert!(matches!(err, Error::Weights(_)), "{header}: {err}");
    }
    // A needed tensor whose shape's product overflows (it holds no values, so safetensors
    // accepts it): an error naming it, not an overflow.
    let overflow = edited_weights(|m| {
        m.insert("logit_scale".into(), (Dtype::F32, vec![0, 1 << 40, 1 << 40], Vec::new()));
    });
    let err = from_hf_weights(&overflow).err().unwrap();
    assert!(matches!(err, Error::Tensor { .. }) && err.to_string().contains("logit_scale"), "{err}");
    // The real file still loads.
    let f = hf_files("tiny-224");
    assert_reference_scores(&mut Classifier::new(from_hf_weights(&f.weights).unwrap()), 1e-4);
}

#[test]
fn missing_misshapen_and_non_finite_tensors_name_the_tensor() {
    let missing = edited_weights(|m| {
        m.remove("vision_model.encoder.layers.1.mlp.fc2.weight");
    });
    let err = from_hf_weights(&missing).err().unwrap();
    assert!(matches!(err, Error::Tensor { .. }), "{err}");
    assert!(err.to_string().contains("vision_model.encoder.layers.1.mlp.fc2.weight"), "{err}");
    assert!(err.to_string().contains("missing"), "{err}");

    let misshapen = edited_weights(|m| {
        let t = m.get_mut("text_model.final_layer_norm.weight").unwrap();
        t.1 = vec![t.1[0] / 2, 2];
    });
    let err = from_hf_weights(&misshapen).err().unwrap();
    assert!(err.to_string().contains("text_model.final_layer_norm.weight"), "{err}");
    assert!(err.to_string().contains("expected shape"), "{err}");

    let nan = edited_weights(|m| {
        let t = m.get_mut("text_model.head.bias").unwrap();
        t.2[4..8].copy_from_slice(&f32::NAN.to_le_bytes());
    });
    let err = from_hf_weights(&nan).err().unwrap();
    assert!(err.to_string().contains("text_model.head.bias") && err.to_string().contains("NaN"), "{err}");

    let ints = edited_weights(|m| {
        let t = m.get_mut("logit_bias").unwrap();
        t.0 = Dtype::I32;
    });
    let err = from_hf_weights(&ints).err().unwrap();
    assert!(err.to_string().contains("unsupported dtype"), "{err}");
    // The unedited checkpoint loads.
    let f = hf_files("tiny-224");
    assert_reference_scores(&mut Classifier::new(from_hf_weights(&f.weights).unwrap()), 1e-4);
}

#[test]
fn wrong_model_and_config_are_refused() {
    // The weights of one checkpoint with the config of another.
    let other = hf_files("tiny-p14");
    let f = hf_files("tiny-224");
    let err =
        Siglip::from_hf(&other.config, other.preprocessor.as_deref(), other.tokenizer(), &f.weights).err().unwrap();
    assert!(matches!(err, Error::Tensor { .. }), "{err}");
    assert!(err.to_string().contains("right model"), "{err}");

    let clip = r#"{"model_type": "clip", "text_config": {}, "vision_config": {}}"#;
    let err = Siglip::from_hf(clip, None, f.tokenizer(), &f.weights).err().unwrap();
    assert!(matches!(err, Error::Config(_)), "{err}");
    let err = Siglip::from_hf("{", None, f.tokenizer(), &f.weights).err().unwrap();
    assert!(matches!(err, Error::Config(_)), "{err}");
    // A config whose calls would cost too much: 65,536 patches per image (a ~20 MB crafted file).
    let costly = r#"{"model_type":"siglip","text_config":{"projection_size":32},
        "vision_config":{"hidden_size":32,"intermediate_size":32,"num_attention_heads":1,
                         "image_size":4096,"patch_size":16}}"#;
    let err = Siglip::from_hf(costly, None, f.tokenizer(), &f.weights).err().unwrap();
    assert!(matches!(err, Error::Config(_)) && err.to_string().contains("65536 patches"), "{err}");
    // A preprocessor that does not resize like SigLIP (center crop).
    let err = Siglip::from_hf(&f.config, Some(r#"{"do_center_crop": true}"#), f.tokenizer(), &f.weights).err().unwrap();
    assert!(matches!(err, Error::Config(_)), "{err}");

    use siglip::tokenizer::TokenizerFiles;
    let garbage = b"not a tokenizer";
    // A tokenizer.json whose Precompiled normalizer map is not base64 (the tokenizers crate
    // panics on it).
    let precompiled = br##"{"version":"1.0","added_tokens":[],"normalizer":{"type":"Sequence","normalizers":[
        {"type":"Precompiled","precompiled_charsmap":"#not base64"}]},"pre_tokenizer":null,
        "post_processor":null,"decoder":null,"model":{"type":"WordLevel","vocab":{"</s>":0,"a":1},
        "unk_token":"</s>"}}"##;
    for files in [
        TokenizerFiles { tokenizer_json: Some(garbage), ..Default::default() },
        TokenizerFiles { tokenizer_json: Some(precompiled), ..Default::default() },
        TokenizerFiles { spiece_model: Some(garbage), ..Default::default() },
        TokenizerFiles { tokenizer_config: Some(garbage), ..f.tokenizer() },
        TokenizerFiles::default(),
    ] {
        let err = Siglip::from_hf(&f.config, None, files, &f.weights).err().unwrap();
        assert!(matches!(err, Error::Tokenizer(_)), "{err}");
    }
    // The right files load and classify.
    assert_reference_scores(&mut Classifier::new(from_hf_weights(&f.weights).unwrap()), 1e-4);
}

#[test]
fn truncated_or_corrupt_tokenizer_files_are_errors_not_panics() {
    use siglip::tokenizer::{SiglipTokenizer, TokenizerFiles};
    let f = hf_files("tiny-224");
    let spiece = f.spiece_model.as_deref().unwrap();
    // Every 97th prefix of spiece.model, and the model with bytes flipped along its length.
    for len in (0..spiece.len()).step_by(97) {
        let files = TokenizerFiles { spiece_model: Some(&spiece[..len]), ..Default::default() };
        if let Ok(t) = SiglipTokenizer::from_files(files, 64) {
            let _ = t.encode("This is a photo of a cat.");
        }
    }
    for (i, pos) in (0..spiece.len()).step_by(1013).enumerate() {
        let mut bad = spiece.to_vec();
        bad[pos] ^= 0x5a ^ (i as u8);
        let files = TokenizerFiles { spiece_model: Some(&bad), ..Default::default() };
        if let Ok(t) = SiglipTokenizer::from_files(files, 64) {
            let _ = t.encode("ｶﾞ e\u{301} 日本 </s> <unk> cat");
        }
    }
}

#[test]
fn bad_images_and_labels_are_refused_and_the_classifier_keeps_working() {
    let mut classifier = Classifier::new(load_hf("tiny-224"));
    let labels = vec!["cat".to_string(), "dog".to_string()];
    let good = std::fs::read(fixtures().join("images/alpha.png")).unwrap();

    let err = classifier.classify_bytes(b"GIF89a but not really", &labels).unwrap_err();
    assert!(matches!(err, Error::Image(_)), "{err}");
    let err = classifier.classify_bytes(b"%PDF-1.7 plain text", &labels).unwrap_err();
    assert!(matches!(err, Error::Image(_)), "{err}");
    let err = classifier.classify_bytes(&good[..good.len() / 3], &labels).unwrap_err();
    assert!(matches!(err, Error::Image(_)), "{err}");
    // 30000 x 30000 in a few bytes (2.7 GB decoded): refused from the header.
    let err = classifier.classify_bytes(&png_claiming(30000, 30000), &labels).unwrap_err();
    assert!(matches!(err, Error::Image(_)) && err.to_string().contains("30000 x 30000"), "{err}");

    let err = classifier.classify_bytes(&good, &[]).unwrap_err();
    assert!(matches!(err, Error::Input(_)) && err.to_string().contains("no labels"), "{err}");
    let err = classifier.classify_bytes(&good, &["cat".to_string(), "  ".to_string()]).unwrap_err();
    assert!(matches!(err, Error::Input(_)) && err.to_string().contains("empty"), "{err}");
    assert!(classifier.set_template("no placeholder").is_err());

    // A 500-word label is truncated to 64 tokens like the reference, not refused.
    let long = vec!["word ".repeat(500)];
    let r = classifier.classify_bytes(&good, &long).unwrap();
    assert!(r[0].score.is_finite());

    // After all that, the classifier still gives the reference scores.
    assert_reference_scores(&mut classifier, 1e-4);
}

#[test]
fn unknown_format_version_is_refused() {
    let bytes = packed();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut m = meta.metadata().clone().unwrap();
    m.insert("format_version".into(), "99".into());
    let views: Vec<(String, TensorView<'_>)> = st.tensors();
    let rewritten = safetensors::serialize(views, Some(m)).unwrap();
    let err = Siglip::from_packed(&rewritten).err().unwrap();
    assert!(err.to_string().contains("not supported"), "{err}");
    assert_reference_scores(&mut Classifier::new(Siglip::from_packed(&bytes).unwrap()), 0.02);
}

#[test]
fn gemma_tokenizer_config_needs_a_gemma_tokenizer_json() {
    use siglip::tokenizer::{SiglipTokenizer, TokenizerFiles};
    let siglip2 = hf_files("tiny-siglip2-256");
    let siglip = hf_files("tiny-224");
    let config = Some(siglip2.tokenizer_config.as_bytes());
    // A SigLIP 2 config beside SigLIP's files: spiece.model only, or its Unigram tokenizer.json.
    let files =
        TokenizerFiles { spiece_model: siglip.spiece_model.as_deref(), tokenizer_config: config, ..Default::default() };
    let err = SiglipTokenizer::from_files(files, 64).err().unwrap().to_string();
    assert!(err.contains("Gemma") && err.contains("tokenizer.json"), "{err}");
    let files = TokenizerFiles {
        tokenizer_json: Some(siglip.tokenizer_json.as_bytes()),
        tokenizer_config: config,
        ..Default::default()
    };
    let err = SiglipTokenizer::from_files(files, 64).err().unwrap().to_string();
    assert!(err.contains("Unigram") && err.contains("BPE"), "{err}");
    // A padding side that is neither.
    let odd = siglip2.tokenizer_config.replace("\"right\"", "\"middle\"");
    let files = TokenizerFiles {
        tokenizer_json: Some(siglip2.tokenizer_json.as_bytes()),
        tokenizer_config: Some(odd.as_bytes()),
        ..Default::default()
    };
    let err = SiglipTokenizer::from_files(files, 64).err().unwrap().to_string();
    assert!(err.contains("padding_side"), "{err}");
    // Truncated anywhere: an error or a working tokenizer, never a panic.
    let json = siglip2.tokenizer_json.as_bytes();
    for len in (0..json.len()).step_by(701) {
        let files =
            TokenizerFiles { tokenizer_json: Some(&json[..len]), tokenizer_config: config, ..Default::default() };
        if let Ok(t) = SiglipTokenizer::from_files(files, 64) {
            let _ = t.encode("This is a photo of <eos> 猫.");
        }
    }
}
