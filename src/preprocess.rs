//! Image bytes (or raw RGBA pixels) to the normalized tensor the vision tower takes, exactly
//! as the reference zero-shot pipeline prepares an image:
//!
//! 1. `load_image`: decode, apply the EXIF orientation, `convert("RGB")` (alpha is dropped,
//!    not composited; grayscale is replicated; an animated GIF gives its first frame);
//! 2. `SiglipImageProcessor`: resize straight to `size x size` (no crop, no aspect ratio) with
//!    PIL's bicubic (SigLIP) or bilinear (SigLIP 2), as the checkpoint's `resample` says,
//!    reproduced here bit for bit ([`resize`]);
//! 3. `x * rescale_factor`, then `(x - mean) / std` per channel, channels first.
//!
//! Images larger than [`MAX_PIXELS`] or [`MAX_SIDE`] are refused from their header, before any
//! pixel memory is allocated.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use crate::config::{PreprocessConfig, Resample};
use crate::error::{Error, Result};

/// Largest accepted width or height, in pixels.
pub const MAX_SIDE: u32 = 16_384;
/// Largest accepted pixel count (64 Mpx: a 48 Mpx phone photo fits, 30000 x 30000 does not).
pub const MAX_PIXELS: u64 = 64 * 1024 * 1024;

/// An 8-bit RGB image, row-major, 3 bytes per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
///
/// `data` always holds `width * height * 3` bytes and the size is within the accepted limits:
/// build one with [`Rgb8::new`], [`decode`] or [`from_rgba`].
pub struct Rgb8 {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) data: Vec<u8>,
}

impl Rgb8 {
    /// Interleaved RGB pixels, row by row; an error unless `data` holds `width * height * 3`
    /// bytes of an accepted size.
    pub fn new(width: usize, height: usize, data: Vec<u8>) -> Result<Rgb8> {
        check_size(width as u64, height as u64)?;
        if Some(data.len()) != width.checked_mul(height).and_then(|n| n.checked_mul(3)) {
            return Err(Error::Image(format!("expected {width} x {height} x 3 RGB bytes, got {}", data.len())));
        }
        Ok(Rgb8 { width, height, data })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// The pixels: `width * height * 3` bytes, RGB, row by row.
    pub fn data(&self) -> &[u8] {
        &self.data
    }
}

fn check_size(width: u64, height: u64) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::Image(format!("the image is {width} x {height} pixels: it has no pixels")));
    }
    if width > MAX_SIDE as u64 || height > MAX_SIDE as u64 || width * height > MAX_PIXELS {
        return Err(Error::Image(format!(
            "the image is {width} x {height} pixels; the largest accepted is {MAX_SIDE} px a side and \
             {} megapixels (scale it down first)",
            MAX_PIXELS / (1024 * 1024)
        )));
    }
    Ok(())
}

/// Decodes JPEG, PNG, WebP or GIF bytes to upright RGB. JPEGs give Pillow's exact pixels
/// ([`crate::jpeg`]).
pub fn decode(bytes: &[u8]) -> Result<Rgb8> {
    if crate::jpeg::is_jpeg(bytes) {
        let j = crate::jpeg::decode(bytes, check_size)?;
        let (w, h) = (j.width as u32, j.height as u32);
        let rgb = image::RgbImage::from_raw(w, h, j.rgb)
            .ok_or_else(|| Error::Image("the JPEG decoder gave the wrong number of pixels".into()))?;
        let mut img = DynamicImage::ImageRgb8(rgb);
        // A broken or absent EXIF orientation: upright, as Pillow's exif_transpose leaves it.
        if let Some(o) = j.orientation.and_then(image::metadata::Orientation::from_exif) {
            img.apply_orientation(o);
        }
        let rgb = img.into_rgb8();
        return Ok(Rgb8 { width: rgb.width() as usize, height: rgb.height() as usize, data: rgb.into_raw() });
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::Image(format!("could not read the image: {e}")))?;
    if reader.format().is_none() {
        return Err(Error::Image("the bytes are not a supported image (JPEG, PNG, WebP or GIF expected)".into()));
    }
    let mut decoder =
        reader.into_decoder().map_err(|e| Error::Image(format!("could not read the image header: {e}")))?;
    let (w, h) = decoder.dimensions();
    check_size(w as u64, h as u64)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 8);
    decoder.set_limits(limits).map_err(|e| Error::Image(format!("the image is too large: {e}")))?;
    // A broken EXIF block is not worth rejecting the photo for: treat it as upright.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder)
        .map_err(|e| Error::Image(format!("the image data is corrupt or truncated: {e}")))?;
    img.apply_orientation(orientation);
    let (width, height) = (img.width() as usize, img.height() as usize);
    // 16-bit PNGs become 8 bits as Pillow converts them, not by rounding: colour and grey with
    // alpha open as 8-bit modes that keep each sample's high byte ("RGB;16B", "LA;16B"), plain
    // 16-bit grey opens as I;16, which convert("RGB") clips to 0..=255 (a photo's values above
    // 255 all become white, as in transformers). A tRNS chunk on such grey gives us an alpha
    // channel, not Pillow a different mode: the PNG header's colour type tells them apart.
    let i16_grey = bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.get(24..26) == Some(&[16, 0]);
    let clip = |v: u16| v.min(255) as u8;
    let data = match img {
        DynamicImage::ImageLuma16(g) => g.into_raw().into_iter().flat_map(|v| [clip(v); 3]).collect(),
        DynamicImage::ImageLumaA16(g) => g
            .into_raw()
            .chunks_exact(2)
            .flat_map(|p| [if i16_grey { clip(p[0]) } else { (p[0] >> 8) as u8 }; 3])
            .collect(),
        DynamicImage::ImageRgb16(c) => c.into_raw().into_iter().map(|v| (v >> 8) as u8).collect(),
        DynamicImage::ImageRgba16(c) => {
            c.into_raw().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]].map(|v| (v >> 8) as u8)).collect()
        }
        other => other.to_rgb8().into_raw(),
    };
    Ok(Rgb8 { width, height, data })
}

/// RGB from raw RGBA pixels (e.g. a browser `ImageData`); alpha is dropped as `convert("RGB")` does.
pub fn from_rgba(width: usize, height: usize, rgba: &[u8]) -> Result<Rgb8> {
    check_size(width as u64, height as u64)?;
    if rgba.len() != width * height * 4 {
        return Err(Error::Image(format!(
            "expected {} RGBA bytes for {width} x {height}, got {}",
            width * height * 4,
            rgba.len()
        )));
    }
    let data = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    Ok(Rgb8 { width, height, data })
}

/// PIL's fixed-point precision for 8-bit resampling (`PRECISION_BITS` in `Resample.c`).
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// PIL's bilinear (triangle) kernel, support 1.
fn bilinear(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 {
        1.0 - x
    } else {
        0.0
    }
}

/// PIL's bicubic kernel (`a = -0.5`), support 2.
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// Per output index: first input index, and fixed-point weights (PIL's `precompute_coeffs`
/// followed by `normalize_coeffs_8bpc`).
fn coefficients(in_size: usize, out_size: usize, resample: Resample) -> Vec<(usize, Vec<i32>)> {
    let (filter, filter_support): (fn(f64) -> f64, f64) = match resample {
        Resample::Bicubic => (bicubic, 2.0),
        Resample::Bilinear => (bilinear, 1.0),
    };
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filter_support * filterscale;
    let mut out = Vec::with_capacity(out_size);
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        let ss = 1.0 / filterscale;
        // C's (int) cast truncates toward zero, as `as i64` does.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let n = xmax.saturating_sub(xmin);
        let mut w: Vec<f64> = (0..n).map(|x| filter((x as f64 + xmin as f64 - center + 0.5) * ss)).collect();
        let total: f64 = w.iter().sum();
        if total != 0.0 {
            w.iter_mut().for_each(|v| *v /= total);
        }
        let one = (1u32 << PRECISION_BITS) as f64;
        let fixed = w.iter().map(|&k| if k < 0.0 { (-0.5 + k * one) as i32 } else { (0.5 + k * one) as i32 }).collect();
        out.push((xmin, fixed));
    }
    out
}

#[inline]
fn clip8(acc: i64) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Resizes with PIL's `Image.resize(size, resample)` on an RGB image: two passes, each
/// rounding to 8 bits, so results match Pillow exactly. Their order is Pillow 13's
/// (`ImagingResampleInner`): horizontal first, unless the height shrinks by more than twice
/// as many pixels as the width does (then vertical first, which changes the rounding).
pub fn resize(img: &Rgb8, out_w: usize, out_h: usize, resample: Resample) -> Rgb8 {
    let (w, h) = (img.width as i64, img.height as i64);
    let shrink_y = h - out_h as i64;
    let vertical_first = shrink_y > 0 && shrink_y > (w - out_w as i64) * 2;
    if vertical_first {
        resize_horizontal(&resize_vertical(img, out_h, resample), out_w, resample)
    } else {
        resize_vertical(&resize_horizontal(img, out_w, resample), out_h, resample)
    }
}

fn resize_horizontal(img: &Rgb8, out_w: usize, resample: Resample) -> Rgb8 {
    let (w, h) = (img.width, img.height);
    if out_w == w {
        return img.clone();
    }
    let half = 1i64 << (PRECISION_BITS - 1);
    let coeffs = coefficients(w, out_w, resample);
    let mut out = vec![0u8; out_w * h * 3];
    for y in 0..h {
        let row = &img.data[y * w * 3..(y + 1) * w * 3];
        for (xx, (xmin, k)) in coeffs.iter().enumerate() {
            let mut acc = [half; 3];
            for (i, &kv) in k.iter().enumerate() {
                let p = (xmin + i) * 3;
                for c in 0..3 {
                    acc[c] += row[p + c] as i64 * kv as i64;
                }
            }
            let o = (y * out_w + xx) * 3;
            for c in 0..3 {
                out[o + c] = clip8(acc[c]);
            }
        }
    }
    Rgb8 { width: out_w, height: h, data: out }
}

fn resize_vertical(img: &Rgb8, out_h: usize, resample: Resample) -> Rgb8 {
    let (w, h) = (img.width, img.height);
    if out_h == h {
        return img.clone();
    }
    let half = 1i64 << (PRECISION_BITS - 1);
    let coeffs = coefficients(h, out_h, resample);
    let src = &img.data;
    let mut out = vec![0u8; w * out_h * 3];
    for (yy, (ymin, k)) in coeffs.iter().enumerate() {
        for x in 0..w * 3 {
            let mut acc = half;
            for (i, &kv) in k.iter().enumerate() {
                acc += src[(ymin + i) * w * 3 + x] as i64 * kv as i64;
            }
            out[yy * w * 3 + x] = clip8(acc);
        }
    }
    Rgb8 { width: w, height: out_h, data: out }
}

/// NaFlex's target size (`get_image_size_for_max_num_patches` in transformers'
/// `image_processing_siglip2.py`, in f64 as Python runs it): the largest `(height, width)`,
/// each a multiple of `patch` and at least one patch, with at most `max_patches` patches,
/// found by bisecting the scale with ceil rounding. Small images are scaled up; the aspect
/// ratio is kept as well as whole patches allow.
pub fn naflex_size(height: usize, width: usize, patch: usize, max_patches: usize) -> (usize, usize) {
    const EPS: f64 = 1e-5;
    let p = patch as f64;
    let scaled = |scale: f64, size: usize| -> f64 { ((size as f64 * scale / p).ceil() * p).max(p) };
    let (mut lo, mut hi) = (EPS / 10.0, 100.0);
    while hi - lo >= EPS {
        let scale = (lo + hi) / 2.0;
        let patches = (scaled(scale, height) / p) * (scaled(scale, width) / p);
        if patches <= max_patches as f64 {
            lo = scale;
        } else {
            hi = scale;
        }
    }
    (scaled(lo, height) as usize, scaled(lo, width) as usize)
}

/// An image cut into patches for NaFlex: `rows x cols` patches, row-major, each `patch x patch
/// x 3` values in (row, column, channel) order (`convert_image_to_patches`), normalized.
#[derive(Debug, Clone, PartialEq)]
pub struct Patches {
    pub data: Vec<f32>,
    pub rows: usize,
    pub cols: usize,
}

/// `Siglip2ImageProcessor`: resize to [`naflex_size`] with the configured filter, rescale and
/// normalize, cut into patches. No padding: the model skips padded patches exactly, so they
/// are never made.
pub fn naflex_patches(img: &Rgb8, cfg: &PreprocessConfig, patch: usize, max_patches: usize) -> Patches {
    let (h, w) = naflex_size(img.height, img.width, patch, max_patches);
    let resized = resize(img, w, h, cfg.resample);
    let (rows, cols) = (h / patch, w / patch);
    let mut data = Vec::with_capacity(h * w * 3);
    for gy in 0..rows {
        for gx in 0..cols {
            for y in gy * patch..(gy + 1) * patch {
                let row = &resized.data[(y * w + gx * patch) * 3..(y * w + (gx + 1) * patch) * 3];
                for px in row.chunks_exact(3) {
                    for ((v, mean), std) in px.iter().zip(cfg.mean).zip(cfg.std) {
                        data.push((*v as f32 * cfg.rescale_factor - mean) / std);
                    }
                }
            }
        }
    }
    Patches { data, rows, cols }
}

/// Rescales and normalizes an image already at the model's size into channels-first f32.
pub fn normalize(img: &Rgb8, cfg: &PreprocessConfig) -> Vec<f32> {
    let plane = img.width * img.height;
    let mut out = vec![0f32; 3 * plane];
    for (i, px) in img.data.chunks_exact(3).enumerate() {
        for c in 0..3 {
            out[c * plane + i] = (px[c] as f32 * cfg.rescale_factor - cfg.mean[c]) / cfg.std[c];
        }
    }
    out
}

/// The whole pipeline for one RGB image: resize to the model's size, then normalize.
pub fn pixel_values(img: &Rgb8, cfg: &PreprocessConfig) -> Vec<f32> {
    normalize(&resize(img, cfg.size, cfg.size, cfg.resample), cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb8_new_checks_size_and_length() {
        let img = Rgb8::new(2, 3, vec![9; 18]).unwrap();
        assert_eq!((img.width(), img.height(), img.data().len()), (2, 3, 18));
        assert!(matches!(Rgb8::new(2, 3, vec![9; 17]), Err(Error::Image(_))));
        assert!(Rgb8::new(0, 3, Vec::new()).is_err());
        assert!(Rgb8::new(30_000, 1, vec![0; 90_000]).is_err());
        assert!(Rgb8::new(usize::MAX, usize::MAX, Vec::new()).is_err());
    }

    #[test]
    fn kernel_hand_values() {
        // a = -0.5: k(0) = 1, k(0.5) = 0.5625, k(1) = 0, k(1.5) = -0.0625.
        assert_eq!(bicubic(0.0), 1.0);
        assert!((bicubic(0.5) - 0.5625).abs() < 1e-12);
        assert_eq!(bicubic(1.0), 0.0);
        assert!((bicubic(-1.5) + 0.0625).abs() < 1e-12);
        assert_eq!(bicubic(2.0), 0.0);
    }

    #[test]
    fn same_size_is_identity_and_constant_stays_constant() {
        let img = Rgb8 { width: 5, height: 4, data: (0..60).map(|v| (v * 4) as u8).collect() };
        assert_eq!(resize(&img, 5, 4, Resample::Bicubic), img);
        let flat = Rgb8 { width: 37, height: 11, data: vec![77; 37 * 11 * 3] };
        let r = resize(&flat, 8, 30, Resample::Bilinear);
        assert!(r.data.iter().all(|v| *v == 77));
    }

    #[test]
    fn naflex_sizes_are_transformers() {
        // Values from transformers' get_image_size_for_max_num_patches (patch 16, 256 patches).
        let cases = [
            ((224, 224), (256, 256)),
            ((480, 640), (224, 288)),
            ((1080, 1920), (192, 336)),
            ((400, 1600), (128, 512)),
            ((10, 10), (256, 256)),
            ((1, 5000), (16, 4096)),
            ((333, 777), (160, 384)),
        ];
        for ((h, w), want) in cases {
            assert_eq!(naflex_size(h, w, 16, 256), want, "{h}x{w}");
        }
    }

    #[test]
    fn naflex_patches_are_row_column_channel() {
        // A 32x16 image (two patches side by side at patch 16), no resize needed at 2 patches.
        let data: Vec<u8> = (0..16 * 32).flat_map(|i| [(i % 256) as u8, (i / 32) as u8, 7]).collect();
        let img = Rgb8 { width: 32, height: 16, data };
        let cfg = PreprocessConfig {
            size: 0,
            resample: Resample::Bilinear,
            rescale_factor: 1.0,
            mean: [0.0; 3],
            std: [1.0; 3],
            max_num_patches: Some(2),
        };
        let p = naflex_patches(&img, &cfg, 16, 2);
        assert_eq!((p.rows, p.cols, p.data.len()), (1, 2, 2 * 16 * 16 * 3));
        // Patch 1, row 3, column 5, channel 0: pixel (x = 16 + 5, y = 3).
        let at = |patch: usize, y: usize, x: usize, c: usize| p.data[((patch * 16 + y) * 16 + x) * 3 + c];
        assert_eq!(at(1, 3, 5, 0), (3 * 32 + 21) as f32);
        assert_eq!(at(1, 3, 5, 1), 3.0);
        assert_eq!(at(0, 15, 15, 2), 7.0);
    }

    #[test]
    fn coefficients_sum_to_one() {
        for (i, o) in [(640, 224), (9, 224), (224, 224), (30000, 224)] {
            for (_, k) in
                coefficients(i, o, Resample::Bicubic).into_iter().chain(coefficients(i, o, Resample::Bilinear))
            {
                let s: i64 = k.iter().map(|v| *v as i64).sum();
                assert!((s - (1 << PRECISION_BITS)).abs() <= k.len() as i64, "{i}->{o}: {s}");
            }
        }
    }

    #[test]
    fn rejects_non_images() {
        assert!(matches!(decode(b"definitely not an image"), Err(Error::Image(_))));
        assert!(matches!(decode(&[]), Err(Error::Image(_))));
        assert!(matches!(from_rgba(2, 2, &[0; 15]), Err(Error::Image(_))));
        assert!(matches!(from_rgba(0, 2, &[]), Err(Error::Image(_))));
    }
}
