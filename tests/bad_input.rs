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

    use siglip::tokenizer::TokenizerFiles;
    let garbage = b"not a tokenizer";
    for files in [
        TokenizerFiles { tokenizer_json: Some(garbage), ..Default::default() },
        TokenizerFiles { spiece_model: Some(garbage), ..Default::default() },
        TokenizerFiles { tokenizer_config: Some(garbage), ..f.tokenizer() },
        TokenizerFiles::default(),
    ] {
        let err = Siglip::from_hf(&f.config, None, files, &f.weights).err().unwrap();
        assert!(matches!(err, Error::Tokenizer(_)), "{err}");
    }
}

#[test]
fn truncated_or_corrupt_tokenizer_files_are_errors_not_panics() {
    use siglip::tokenizer::{SiglipTokenizer, TokenizerFiles};
    let f = hf_files("tiny-224");
    let spiece = &f.spiece_model;
    // Every 97th prefix of spiece.model, and the model with bytes flipped along its length.
    for len in (0..spiece.len()).step_by(97) {
        let files = TokenizerFiles { spiece_model: Some(&spiece[..len]), ..Default::default() };
        if let Ok(t) = SiglipTokenizer::from_files(files, 64) {
            let _ = t.encode("This is a photo of a cat.");
        }
    }
    for (i, pos) in (0..spiece.len()).step_by(1013).enumerate() {
        let mut bad = spiece.clone();
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

    let err = classifier.classify_bytes(&good, &[]).unwrap_err();
    assert!(matches!(err, Error::Input(_)) && err.to_string().contains("no labels"), "{err}");
    let err = classifier.classify_bytes(&good, &["cat".to_string(), "  ".to_string()]).unwrap_err();
    assert!(matches!(err, Error::Input(_)) && err.to_string().contains("empty"), "{err}");
    assert!(classifier.set_template("no placeholder").is_err());

    // A 500-word label is truncated to 64 tokens like the reference, not refused.
    let long = vec!["word ".repeat(500)];
    let r = classifier.classify_bytes(&good, &long).unwrap();
    assert!(r[0].score.is_finite());

    // After all that, the classifier still answers.
    let r = classifier.classify_bytes(&good, &labels).unwrap();
    assert_eq!(r.len(), 2);
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
}
