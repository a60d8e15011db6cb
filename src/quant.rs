//! Block quantization of weight matrices: the math, with no file format and no tensors.
//!
//! A matrix of `rows x cols` f32 values is cut, row by row, into blocks of [`BLOCK`]
//! consecutive values along `cols` (the input dimension of a linear layer). The last block of
//! a row may be shorter, so widths that are not a multiple of the block size (so400m's MLP is
//! 4304 wide) need no padding. Each block gets one f16 scale:
//!
//! * **q8**: `scale = max|w| / 127`, `q = round(w / scale)` in `-127..=127`, stored as `i8`.
//! * **q4**: as GGML's Q4_0, the value of largest magnitude `m` maps to -8:
//!   `scale = m / -8`, `q = clamp(round(w / scale), -8, 7)`, stored as `q + 8` in a nibble,
//!   two per byte (even column in the low nibble). A row of odd width ends in a half-used byte.
//!
//! Dequantization is `w = q * scale` with the scale read back from f16, so what the file holds
//! is exactly what the model computes with.

use std::ops::Deref;
use std::sync::Arc;

use half::f16;

/// Immutable bytes that are either owned or a range of a shared buffer (the model file
/// itself, so loading a quantized model does not copy its weights).
#[derive(Debug, Clone)]
pub struct SharedBytes {
    buf: Arc<Vec<u8>>,
    start: usize,
    len: usize,
}

impl SharedBytes {
    /// A range of a shared buffer; `None` if it does not fit.
    pub fn slice(buf: Arc<Vec<u8>>, start: usize, len: usize) -> Option<Self> {
        (start.checked_add(len)? <= buf.len()).then_some(SharedBytes { buf, start, len })
    }
}

impl SharedBytes {
    /// `len` bytes from `offset` within these bytes (same buffer, no copy).
    pub fn sub(&self, offset: usize, len: usize) -> Option<Self> {
        (offset.checked_add(len)? <= self.len).then(|| SharedBytes {
            buf: self.buf.clone(),
            start: self.start + offset,
            len,
        })
    }
}

/// f32 values read in place from shared bytes (4-byte aligned, on a little-endian target), so
/// an f32 tensor of a model file is not copied.
#[derive(Debug, Clone)]
pub struct SharedF32(SharedBytes);

impl SharedF32 {
    /// The bytes as f32 values, if they are aligned and a whole number of values.
    pub fn new(bytes: SharedBytes) -> Option<Self> {
        (cfg!(target_endian = "little") && bytemuck::try_cast_slice::<u8, f32>(&bytes).is_ok())
            .then_some(SharedF32(bytes))
    }

    pub fn values(&self) -> &[f32] {
        // Checked in `new`; the shared buffer never moves.
        bytemuck::try_cast_slice(&self.0).unwrap_or_default()
    }

    /// Values `start..start + len`, still in place.
    pub fn sub(&self, start: usize, len: usize) -> Option<Self> {
        SharedF32::new(self.0.sub(start.checked_mul(4)?, len.checked_mul(4)?)?)
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(v: Vec<u8>) -> Self {
        let len = v.len();
        SharedBytes { buf: Arc::new(v), start: 0, len }
    }
}

impl Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[self.start..self.start + self.len]
    }
}

impl PartialEq<Vec<u8>> for SharedBytes {
    fn eq(&self, other: &Vec<u8>) -> bool {
        **self == other[..]
    }
}

/// Per-block scales as the file stores them: little-endian f16, shared with the file when the
/// matrix was loaded from one (widening them to f32 at load would add half the size of the
/// scales again: 24 MB for base q8). Read with [`Scales::get`] or [`Scales::decode`].
#[derive(Debug, Clone)]
pub struct Scales(SharedBytes);

impl Scales {
    /// Scales from f16 little-endian bytes (an even number of them).
    pub fn from_f16_bytes(bytes: SharedBytes) -> Option<Self> {
        bytes.len().is_multiple_of(2).then_some(Scales(bytes))
    }

    /// Scales from values that are already f16 (each is rounded to f16 if not).
    pub fn from_f32(values: &[f32]) -> Self {
        Scales(values.iter().flat_map(|v| f16::from_f32(*v).to_le_bytes()).collect::<Vec<u8>>().into())
    }

    pub fn len(&self) -> usize {
        self.0.len() / 2
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Scale `i` (panics past the end, as slice indexing does; callers check shapes first).
    #[inline]
    pub fn get(&self, i: usize) -> f32 {
        let b = &self.0[2 * i..2 * i + 2];
        f16::from_le_bytes([b[0], b[1]]).to_f32()
    }

    /// Scales `start..start + out.len()` widened into `out`.
    #[inline]
    pub fn decode(&self, start: usize, out: &mut [f32]) {
        let bytes = &self.0[2 * start..2 * (start + out.len())];
        for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            *o = f16::from_le_bytes([b[0], b[1]]).to_f32();
        }
    }

    /// All scales widened (for tests and for writing files).
    pub fn to_vec(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.len()];
        self.decode(0, &mut out);
        out
    }

    /// The stored f16 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Number of consecutive values along a row that share one scale.
pub const BLOCK: usize = 32;

/// The stored number formats for weight matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuantKind {
    /// 8-bit signed integers with one f16 scale per block.
    Q8,
    /// 4-bit signed integers (two per byte) with one f16 scale per block.
    Q4,
    /// IEEE half precision, no scales.
    F16,
}

impl QuantKind {
    /// Bytes used by one row of `cols` values (excluding scales).
    pub fn row_bytes(self, cols: usize) -> usize {
        match self {
            QuantKind::Q8 => cols,
            QuantKind::Q4 => cols.div_ceil(2),
            QuantKind::F16 => cols * 2,
        }
    }

    /// Number of scales per row of `cols` values.
    pub fn row_scales(self, cols: usize) -> usize {
        match self {
            QuantKind::Q8 | QuantKind::Q4 => cols.div_ceil(BLOCK),
            QuantKind::F16 => 0,
        }
    }
}

/// A quantized matrix: `rows x cols` values in `kind`'s encoding, row-major.
#[derive(Debug, Clone)]
///
/// Its parts are consistent by construction (built by [`QuantMatrix::quantize`] or checked by
/// [`QuantMatrix::from_parts`]); the fields are private to the crate so nothing outside can
/// break that.
pub struct QuantMatrix {
    pub(crate) kind: QuantKind,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    /// Encoded values: `rows * kind.row_bytes(cols)` bytes.
    pub(crate) data: SharedBytes,
    /// One f16 scale per block, `rows * kind.row_scales(cols)` of them.
    pub(crate) scales: Scales,
}

impl QuantMatrix {
    /// A matrix from its encoded parts, checked: `data` must hold `rows * kind.row_bytes(cols)`
    /// bytes and `scales` `rows * kind.row_scales(cols)` values.
    pub fn from_parts(
        kind: QuantKind,
        rows: usize,
        cols: usize,
        data: SharedBytes,
        scales: Scales,
    ) -> crate::error::Result<Self> {
        let bytes = rows.checked_mul(kind.row_bytes(cols));
        let n_scales = rows.checked_mul(kind.row_scales(cols));
        if bytes != Some(data.len()) || n_scales != Some(scales.len()) {
            return Err(crate::error::Error::Weights(format!(
                "a {kind:?} [{rows}, {cols}] matrix needs {} bytes and {} scales, got {} and {}",
                bytes.map_or("too many".to_string(), |b| b.to_string()),
                n_scales.map_or("too many".to_string(), |b| b.to_string()),
                data.len(),
                scales.len()
            )));
        }
        Ok(QuantMatrix { kind, rows, cols, data, scales })
    }

    pub fn kind(&self) -> QuantKind {
        self.kind
    }

    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// Quantizes a row-major f32 matrix.
    pub fn quantize(kind: QuantKind, values: &[f32], rows: usize, cols: usize) -> Self {
        debug_assert_eq!(values.len(), rows * cols);
        let mut data = Vec::with_capacity(rows * kind.row_bytes(cols));
        let mut scales = Vec::with_capacity(rows * kind.row_scales(cols));
        for row in values.chunks_exact(cols.max(1)).take(rows) {
            match kind {
                QuantKind::F16 => {
                    for v in row {
                        data.extend_from_slice(&f16::from_f32(*v).to_le_bytes());
                    }
                }
                QuantKind::Q8 => {
                    for block in row.chunks(BLOCK) {
                        let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
                        let scale = f16::from_f32(amax / 127.0).to_f32();
                        let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
                        scales.push(scale);
                        for v in block {
                            data.push((v * inv).round().clamp(-127.0, 127.0) as i8 as u8);
                        }
                    }
                }
                QuantKind::Q4 => {
                    let mut nibbles = Vec::with_capacity(cols + 1);
                    for block in row.chunks(BLOCK) {
                        let extreme = block.iter().fold(0f32, |m, v| if v.abs() > m.abs() { *v } else { m });
                        let scale = f16::from_f32(extreme / -8.0).to_f32();
                        let inv = if scale != 0.0 { 1.0 / scale } else { 0.0 };
                        scales.push(scale);
                        for v in block {
                            let q = (v * inv).round().clamp(-8.0, 7.0) as i32;
                            nibbles.push((q + 8) as u8);
                        }
                    }
                    if nibbles.len() % 2 == 1 {
                        nibbles.push(8); // zero, padding the last byte of an odd row
                    }
                    for pair in nibbles.chunks_exact(2) {
                        data.push(pair[0] | (pair[1] << 4));
                    }
                }
            }
        }
        QuantMatrix { kind, rows, cols, data: data.into(), scales: Scales::from_f32(&scales) }
    }

    /// Writes row `r` as f32 values into `out` (`out.len() == cols`).
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        let cols = self.cols;
        let bytes = &self.data[r * self.kind.row_bytes(cols)..(r + 1) * self.kind.row_bytes(cols)];
        let nscales = self.kind.row_scales(cols);
        let mut scales = vec![0f32; nscales];
        self.scales.decode(r * nscales, &mut scales);
        match self.kind {
            QuantKind::F16 => {
                for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                    *o = f16::from_le_bytes([b[0], b[1]]).to_f32();
                }
            }
            QuantKind::Q8 => {
                for ((o, q), s) in out.chunks_mut(BLOCK).zip(bytes.chunks(BLOCK)).zip(&scales) {
                    for (o, q) in o.iter_mut().zip(q) {
                        *o = (*q as i8) as f32 * s;
                    }
                }
            }
            QuantKind::Q4 => {
                for (c, o) in out.iter_mut().enumerate() {
                    let byte = bytes[c / 2];
                    let nibble = if c % 2 == 0 { byte & 0x0f } else { byte >> 4 };
                    *o = (nibble as i32 - 8) as f32 * scales[c / BLOCK];
                }
            }
        }
    }

    /// The whole matrix as row-major f32 values.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.rows * self.cols];
        if self.cols > 0 {
            for (r, row) in out.chunks_exact_mut(self.cols).enumerate() {
                self.dequantize_row(r, row);
            }
        }
        out
    }

    /// Bytes this matrix occupies in memory (shared file bytes included).
    pub fn memory_bytes(&self) -> usize {
        self.data.len() + self.scales.as_bytes().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols).map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.3).collect()
    }

    #[test]
    fn from_parts_checks_the_parts_against_the_shape() {
        let q = QuantMatrix::quantize(QuantKind::Q4, &ramp(3, 40), 3, 40);
        let (data, scales) = (q.data.clone(), q.scales.clone());
        let again = QuantMatrix::from_parts(QuantKind::Q4, 3, 40, data.clone(), scales.clone()).unwrap();
        assert_eq!(again.dequantize(), q.dequantize());
        assert_eq!(again.shape(), (3, 40));
        // One byte short, one scale too many, a shape whose size overflows.
        let short: SharedBytes = data[..data.len() - 1].to_vec().into();
        assert!(matches!(
            QuantMatrix::from_parts(QuantKind::Q4, 3, 40, short, scales.clone()),
            Err(crate::Error::Weights(_))
        ));
        let mut more = scales.to_vec();
        more.push(1.0);
        let more = Scales::from_f32(&more);
        assert!(QuantMatrix::from_parts(QuantKind::Q4, 3, 40, data.clone(), more).is_err());
        assert!(QuantMatrix::from_parts(QuantKind::Q8, usize::MAX, 40, data, scales).is_err());
    }

    #[test]
    fn q8_hand_computed_block() {
        // One block whose largest magnitude is 1.27: scale is 0.01 (as f16), values are
        // multiples of the scale and round-trip to within half a step.
        let values = [1.27f32, -0.635, 0.0, 0.004];
        let q = QuantMatrix::quantize(QuantKind::Q8, &values, 1, 4);
        let scale = f16::from_f32(0.01).to_f32();
        assert_eq!(q.scales.to_vec(), vec![scale]);
        let expected: Vec<u8> = values.iter().map(|v| ((v / scale).round() as i8) as u8).collect();
        assert_eq!(q.data, expected);
        assert_eq!(q.data[0] as i8, 127);
        for (a, b) in q.dequantize().iter().zip(values) {
            assert!((a - b).abs() <= scale / 2.0 + 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn q4_maps_extreme_to_minus_eight() {
        let values = [-0.8f32, 0.7, 0.1, -0.05, 0.0];
        let q = QuantMatrix::quantize(QuantKind::Q4, &values, 1, 5);
        let scale = f16::from_f32(0.1).to_f32();
        assert_eq!(q.scales.to_vec(), vec![scale]);
        // -0.8/0.1 = -8 -> 0; 0.7/0.1 = 7 -> 15; 1 -> 9; -0.5 rounds away to -1 -> 7; 0 -> 8
        assert_eq!(q.data, vec![15 << 4, 9 | (7 << 4), 8 | (8 << 4)]);
        let d = q.dequantize();
        assert!((d[0] + 0.8).abs() < 1e-3 && (d[1] - 0.7).abs() < 1e-3);
    }

    #[test]
    fn ragged_widths_round_trip() {
        // 4304 is so400m's MLP width: 134.5 blocks of 32.
        for &(rows, cols) in &[(3usize, 4304usize), (2, 33), (5, 1), (1, 31)] {
            let values = ramp(rows, cols);
            for kind in [QuantKind::Q8, QuantKind::Q4, QuantKind::F16] {
                let q = QuantMatrix::quantize(kind, &values, rows, cols);
                assert_eq!(q.data.len(), rows * kind.row_bytes(cols));
                assert_eq!(q.scales.len(), rows * kind.row_scales(cols));
                let d = q.dequantize();
                let step = match kind {
                    QuantKind::Q8 => 0.3 / 127.0,
                    QuantKind::Q4 => 0.3 / 7.0,
                    QuantKind::F16 => 1e-3,
                };
                for (a, b) in d.iter().zip(&values) {
                    assert!((a - b).abs() <= step, "{kind:?} {rows}x{cols}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn zero_block_is_exact() {
        let q = QuantMatrix::quantize(QuantKind::Q8, &[0.0; 40], 1, 40);
        assert!(q.dequantize().iter().all(|v| *v == 0.0));
        let q = QuantMatrix::quantize(QuantKind::Q4, &[0.0; 40], 1, 40);
        assert!(q.dequantize().iter().all(|v| *v == 0.0));
    }
}
