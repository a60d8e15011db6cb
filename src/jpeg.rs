//! JPEG decoded to exactly the pixels Pillow gives (`Image.open(f).convert("RGB")`), which is
//! what the reference pipeline feeds the model. Pillow decodes with libjpeg-turbo at its
//! defaults (the integer "islow" IDCT, "fancy" chroma upsampling, libjpeg-turbo's fixed-point
//! YCbCr tables); `libjpeg-turbo-rs` is a pure-Rust port of that library (no C, so it builds
//! for wasm), and its output matches Pillow's pixel for pixel (tests/jpeg.rs compares every
//! pixel of every kind of JPEG Pillow writes).
//!
//! What Pillow adds on top is done here: a 4-component JPEG is always read as inverted CMYK
//! (`"CMYK;I"`, Adobe's convention) and converted with Pillow's `cmyk2rgb`; the EXIF
//! orientation is returned for the caller to apply (as `ImageOps.exif_transpose` does).

use libjpeg_turbo_rs::{decompress_to, probe, PixelFormat};

use crate::error::{Error, Result};

/// Whether the bytes start like a JPEG (SOI, then a marker).
pub fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// A decoded JPEG: interleaved RGB, not yet rotated, and its EXIF orientation (1-8) if any.
pub struct Decoded {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
    pub orientation: Option<u8>,
}

fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Image(format!("the image data is corrupt or truncated: {e}"))
}

/// Decodes a JPEG after `check_size(width, height)` accepted the size in its header.
pub fn decode(bytes: &[u8], check_size: impl Fn(u64, u64) -> Result<()>) -> Result<Decoded> {
    let info = probe(bytes).map_err(|e| Error::Image(format!("could not read the JPEG header: {e}")))?;
    check_size(info.width as u64, info.height as u64)?;
    if info.lossless || info.precision != 8 {
        return Err(Error::Image(format!(
            "this JPEG is {}-bit{}; only 8-bit JPEGs are supported, as in Pillow",
            info.precision,
            if info.lossless { " lossless" } else { "" }
        )));
    }
    check_sampling(bytes, info.components)?;
    let (w, h) = (info.width, info.height);
    let rgb = guarded(|| match info.components {
        1 | 3 => Ok(decompress_to(bytes, PixelFormat::Rgb).map_err(corrupt)?.data),
        4 => {
            let cmyk = decompress_to(bytes, PixelFormat::Cmyk).map_err(corrupt)?.data;
            Ok(cmyk_to_rgb(&cmyk))
        }
        n => Err(Error::Image(format!("a JPEG with {n} color components is not supported"))),
    })?;
    if Some(rgb.len()) != w.checked_mul(h).and_then(|n| n.checked_mul(3)) {
        return Err(corrupt(format!("{} bytes decoded for {w} x {h} pixels", rgb.len())));
    }
    Ok(Decoded { width: w, height: h, rgb, orientation: info.exif_orientation })
}

/// Runs the decoder; natively a panic inside it becomes an error (in wasm a panic aborts, so
/// [`check_sampling`] refuses up front the layouts known to make it panic).
fn guarded(f: impl FnOnce() -> Result<Vec<u8>>) -> Result<Vec<u8>> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .unwrap_or_else(|_| Err(Error::Image("the JPEG decoder failed on this file (corrupt data)".into())))
    }
    #[cfg(target_arch = "wasm32")]
    f()
}

/// Pillow's `cmyk2rgb` (libImaging/Convert.c) on CMYK read as `"CMYK;I"` (every byte inverted).
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let muldiv255 = |a: i32, b: i32| {
        let t = a * b + 128;
        ((t >> 8) + t) >> 8
    };
    let mut out = Vec::with_capacity(cmyk.len() / 4 * 3);
    for p in cmyk.chunks_exact(4) {
        let nk = p[3] as i32; // 255 - (255 - k)
        for &c in &p[..3] {
            out.push((nk - muldiv255(255 - c as i32, nk)).clamp(0, 255) as u8);
        }
    }
    out
}

/// The sampling factors `(h, v)` of each component in the first frame header (SOFn).
fn sampling_factors(bytes: &[u8]) -> Option<Vec<(u8, u8)>> {
    let mut i = 2;
    loop {
        while *bytes.get(i)? == 0xFF && *bytes.get(i + 1)? == 0xFF {
            i += 1; // fill bytes
        }
        if *bytes.get(i)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(i + 1)?;
        if marker == 0x01 || (0xD0..=0xD8).contains(&marker) {
            i += 2;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            return None; // scan data (or the end) before any frame header
        }
        let len = u16::from_be_bytes([*bytes.get(i + 2)?, *bytes.get(i + 3)?]) as usize;
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let seg = bytes.get(i + 4..i + 2 + len)?;
            let n = *seg.get(5)? as usize;
            return (0..n).map(|c| seg.get(6 + 3 * c + 1).map(|hv| (hv >> 4, hv & 15))).collect();
        }
        i += 2 + len;
    }
}

/// Refuses 4-component layouts where the black channel is sampled unlike the first
/// component: libjpeg-turbo-rs 0.9.0 indexes out of bounds on some of them (found by fuzzing
/// its YCCK path). Real CMYK/YCCK files sample both alike.
fn check_sampling(bytes: &[u8], components: usize) -> Result<()> {
    if components != 4 {
        return Ok(());
    }
    match sampling_factors(bytes) {
        Some(f) if f.len() == 4 && f[3] == f[0] && f[1..3].iter().all(|c| c.0 <= f[0].0 && c.1 <= f[0].1) => Ok(()),
        _ => Err(Error::Image("this CMYK JPEG samples its channels in a way that is not supported".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmyk_to_rgb_matches_pillows_formula() {
        // Stored inverted: 255 is no ink. White, black (k = 255 ink), pure cyan, a mid grey.
        let stored = [255, 255, 255, 255, 255, 255, 255, 0, 0, 255, 255, 255, 127, 127, 127, 200];
        let rgb = cmyk_to_rgb(&stored);
        assert_eq!(&rgb[0..3], &[255, 255, 255]);
        assert_eq!(&rgb[3..6], &[0, 0, 0]);
        assert_eq!(&rgb[6..9], &[0, 255, 255]);
        // c = 128 ink, k = 55 ink: nk = 200, 200 - 128 * 200 / 255 (Pillow's rounding) = 100.
        assert_eq!(&rgb[9..12], &[100, 100, 100]);
    }

    #[test]
    fn sampling_factors_come_from_the_frame_header() {
        // SOI, an APP0 segment, SOF0 with 3 components (2x2, 1x1, 1x1), then SOS.
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0];
        b.extend([0xFF, 0xC0, 0, 17, 8, 0, 16, 0, 16, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        b.extend([0xFF, 0xDA]);
        assert_eq!(sampling_factors(&b), Some(vec![(2, 2), (1, 1), (1, 1)]));
        assert_eq!(sampling_factors(&b[..20]), None); // cut inside the frame header
        assert_eq!(sampling_factors(&[0xFF, 0xD8, 0xFF, 0xDA]), None);
    }
}
