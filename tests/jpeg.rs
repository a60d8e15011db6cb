//! JPEG decoding against Pillow: every pixel of every kind of JPEG Pillow writes (baseline and
//! progressive; 4:4:4, 4:2:2, 4:2:0; grayscale; CMYK; restart markers; odd sizes; EXIF
//! orientations), and of PNGs Pillow converts in its own way (16-bit colour keeps the high
//! byte, 16-bit grey is clipped to 255; alpha, 1/2/4-bit grey, palettes, tRNS, eXIf), equals what
//! `ImageOps.exif_transpose(Image.open(f)).convert("RGB")` gives
//! (tests/fixtures/make_jpeg_fixtures.py). The same cases run in the browser (tests/wasm.rs).

use std::path::PathBuf;

use serde_json::Value;
use siglip::preprocess;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jpeg")
}

#[test]
fn every_jpeg_and_png_kind_decodes_to_pillows_pixels() {
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(dir().join("manifest.json")).unwrap()).unwrap();
    let files = manifest["files"].as_array().unwrap();
    assert!(files.len() >= 20);
    let mut failures = Vec::new();
    for f in files {
        let name = f["jpeg"].as_str().unwrap();
        let got = preprocess::decode(&std::fs::read(dir().join(name)).unwrap()).unwrap();
        let want = preprocess::decode(&std::fs::read(dir().join(f["pixels"].as_str().unwrap())).unwrap()).unwrap();
        assert_eq!((got.width(), got.height()), (want.width(), want.height()), "{name}");
        let differ = got.data().iter().zip(want.data()).filter(|(a, b)| a != b).count();
        let max = got.data().iter().zip(want.data()).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
        if differ > 0 {
            failures.push(format!("{name}: {differ} of {} values differ from Pillow's (max {max})", got.data().len()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn broken_jpegs_are_errors_and_a_good_one_still_decodes() {
    let good = std::fs::read(dir().join("baseline-420.jpg")).unwrap();
    for cut in [3, 20, good.len() / 2, good.len() * 9 / 10] {
        let Err(err) = preprocess::decode(&good[..cut]) else { panic!("cut at {cut} of {} decoded", good.len()) };
        assert!(matches!(err, siglip::Error::Image(_)), "cut at {cut}: {err:?}");
    }
    // A 4-component frame whose black channel is sampled unlike the first: refused up front
    // (the decoder crate indexes out of bounds on such layouts).
    let mut cmyk = std::fs::read(dir().join("cmyk.jpg")).unwrap();
    let sof = cmyk.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    assert_eq!(cmyk[sof + 9], 4, "four components");
    cmyk[sof + 11] = 0x41; // first component 4x1
    cmyk[sof + 20] = 0x22; // black 2x2
    let err = preprocess::decode(&cmyk).unwrap_err();
    assert!(err.to_string().contains("samples its channels"), "{err}");
    // A huge frame header is refused before any pixel memory is allocated.
    let mut huge = good.clone();
    let sof = huge.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    huge[sof + 5..sof + 9].copy_from_slice(&[0x75, 0x30, 0x75, 0x30]); // 30000 x 30000
    assert!(preprocess::decode(&huge).unwrap_err().to_string().contains("30000 x 30000"));
    // And the good file still decodes. Without only its end marker, it gives the same pixels
    // (libjpeg's lenience; Pillow refuses such a file, which loses nothing here).
    let whole = preprocess::decode(&good).unwrap();
    assert_eq!(whole.width(), 67);
    assert_eq!(preprocess::decode(&good[..good.len() - 2]).unwrap(), whole);
}
