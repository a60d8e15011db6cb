//! The q8 product's driver, written once for every microkernel: activations quantized once,
//! weight panels packed per thread, tiles checked and handed to the kernel (see the module
//! docs of [`crate::kernels`]).

use std::marker::PhantomData;

use rayon::prelude::*;

use super::{ActPrecision, ACT_ZERO, GROUPS_PER_BLOCK, KG, MR, NR};
use crate::error::{Error, Result};
use crate::quant::{QuantMatrix, BLOCK};

/// The block structure of the inner dimension `k`, padded to whole groups of [`KG`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub k: usize,
    pub blocks: usize,
    pub groups: usize,
}

impl Geometry {
    pub fn new(k: usize) -> Self {
        Geometry { k, blocks: k.div_ceil(BLOCK), groups: k.div_ceil(KG) }
    }

    /// Padded row length of packed activations.
    pub fn kp(&self) -> usize {
        self.groups * KG
    }

    /// The groups of block `b`: `start..end`.
    pub fn block_groups(&self, b: usize) -> (usize, usize) {
        (b * GROUPS_PER_BLOCK, ((b + 1) * GROUPS_PER_BLOCK).min(self.groups))
    }
}

/// Rows of `x` quantized per block: values in the kernel's own encoding, `[rows][kp]`, and one
/// f32 scale per block, `[rows][blocks]`. Rows are padded with zeros to a multiple of the
/// kernel's tile height.
pub(crate) struct Activations<T> {
    pub values: Vec<T>,
    pub scales: Vec<f32>,
    pub rows: usize,
}

/// Quantizes the rows of `x` (`m x k`, row-major) as the module docs say, encoding each
/// quantized value `q` with `encode` (padding is `encode(0)`).
pub(crate) fn quantize_activations<T: Copy + Send + Sync>(
    x: &[f32],
    m: usize,
    geo: Geometry,
    precision: ActPrecision,
    tile_rows: usize,
    encode: impl Fn(i32) -> T + Sync,
) -> Activations<T> {
    let act_max = precision.max() as f32;
    let (k, kp, nb) = (geo.k, geo.kp(), geo.blocks);
    let tile_rows = tile_rows.max(1);
    let rows = m.div_ceil(tile_rows) * tile_rows;
    let zero = encode(0);
    let mut values = vec![zero; rows * kp];
    let mut scales = vec![0f32; rows * nb];
    let rows_of = |v: &mut [T], s: &mut [f32], src: &[f32]| {
        for ((block, dst), scale) in src.chunks(BLOCK).zip(v.chunks_mut(BLOCK)).zip(s.iter_mut()) {
            let amax = max_abs(block);
            let (sa, inv) = if amax > 0.0 { (amax / act_max, act_max / amax) } else { (0.0, 0.0) };
            *scale = sa;
            let q = |v: f32| encode(round_ties_even((v * inv).clamp(-act_max, act_max)) as i32);
            match (<&[f32; BLOCK]>::try_from(block), <&mut [T; BLOCK]>::try_from(&mut *dst)) {
                // Whole blocks as fixed-size arrays: a loop the compiler vectorizes.
                (Ok(block), Ok(dst)) => dst.iter_mut().zip(block).for_each(|(d, v)| *d = q(*v)),
                _ => dst.iter_mut().zip(block).for_each(|(d, v)| *d = q(*v)),
            }
        }
    };
    if kp == 0 {
        return Activations { values, scales, rows };
    }
    values[..m * kp]
        .par_chunks_mut(kp)
        .zip(scales[..m * nb].par_chunks_mut(nb))
        .zip(x.par_chunks(k))
        .for_each(|((v, s), src)| rows_of(v, s, src));
    Activations { values, scales, rows }
}

/// `max |v|` over `xs`, in eight interleaved lanes (so it vectorizes; the order does not
/// matter for a maximum).
#[inline(always)]
fn max_abs(xs: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let mut chunks = xs.chunks_exact(8);
    for c in &mut chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a = a.max(v.abs());
        }
    }
    let tail = chunks.remainder().iter().fold(0f32, |m, v| m.max(v.abs()));
    acc.into_iter().fold(tail, f32::max)
}

/// Rounds half to even for `|y| < 2^22` with two additions (no libm call, vectorizes).
#[inline(always)]
fn round_ties_even(y: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: adding it leaves no fraction bits
    (y + MAGIC) - MAGIC
}

/// One panel of [`NR`] output columns, repacked for the microkernels.
pub(crate) struct Panel {
    /// `[groups][NR][KG]` weights, i8 stored as bytes (columns past the matrix are zero).
    pub w: Vec<u8>,
    /// `[blocks][NR]` weight scales.
    pub scales: Vec<f32>,
    /// `[blocks][NR]`: `-ACT_ZERO * Σ w` over the block, the correction for unsigned activations.
    pub offsets: Vec<i32>,
}

impl Panel {
    fn new(geo: Geometry) -> Self {
        Panel {
            w: vec![0; geo.groups * NR * KG],
            scales: vec![0.0; geo.blocks * NR],
            offsets: vec![0; geo.blocks * NR],
        }
    }

    /// Packs columns `col0..col0 + NR` of `w` (rows of the stored matrix); the column sums
    /// only when the kernel needs them.
    fn pack(&mut self, w: &QuantMatrix, col0: usize, geo: Geometry, offsets: bool) {
        let (k, nb) = (geo.k, geo.blocks);
        let full = k / KG;
        for j in 0..NR {
            let c = col0 + j;
            if c >= w.rows {
                for g in 0..geo.groups {
                    self.w[(g * NR + j) * KG..(g * NR + j + 1) * KG].fill(0);
                }
                self.scales[j..].iter_mut().step_by(NR).for_each(|s| *s = 0.0);
                self.offsets[j..].iter_mut().step_by(NR).for_each(|s| *s = 0);
                continue;
            }
            let row = &w.data[c * k..(c + 1) * k];
            for (g, src) in row.chunks_exact(KG).enumerate() {
                let d = (g * NR + j) * KG;
                self.w[d..d + KG].copy_from_slice(src);
            }
            if full < geo.groups {
                let d = (full * NR + j) * KG;
                let tail = &row[full * KG..];
                self.w[d..d + KG].fill(0);
                self.w[d..d + tail.len()].copy_from_slice(tail);
            }
            for (b, d) in self.scales[j..].iter_mut().step_by(NR).enumerate() {
                *d = w.scales.get(c * nb + b);
            }
            if offsets {
                for (b, block) in row.chunks(BLOCK).enumerate() {
                    let sum: i32 = block.iter().map(|v| *v as i8 as i32).sum();
                    self.offsets[b * NR + j] = -ACT_ZERO * sum;
                }
            }
        }
    }
}

/// One tile's inputs for kernel `K`, checked: `a` holds [`Microkernel::ROWS`] rows of
/// [`Geometry::kp`] values, `sa` as many rows of [`Geometry::blocks`] scales, and the panel
/// `groups * NR * KG` weights and `blocks * NR` scales and offsets. Only [`TileInputs::new`]
/// makes one, so a kernel may read those ranges through raw pointers without checking again.
/// Also gives the block structure kernels loop over: `whole` blocks of [`GROUPS_PER_BLOCK`]
/// groups, then block `whole` with `short_groups` groups when `k` is not a multiple of the
/// block size.
pub(crate) struct TileInputs<'a, K: Microkernel> {
    pub a: &'a [K::A],
    pub sa: &'a [f32],
    pub panel: &'a Panel,
    pub geo: Geometry,
    /// `geo.kp()`: the row stride of `a`.
    pub kp: usize,
    /// `geo.blocks`: the row stride of `sa`.
    pub nb: usize,
    /// Private: no tile is made but by `new`.
    checked: PhantomData<K>,
}

impl<'a, K: Microkernel> TileInputs<'a, K> {
    /// The inputs of the tile at row `r`, or an error when a length disagrees with `geo`.
    /// Inlined, with the error out of line: it runs once per tile, in the product's hot path.
    #[inline(always)]
    fn new(act: &'a Activations<K::A>, r: usize, panel: &'a Panel, geo: Geometry) -> Result<Self> {
        let (kp, nb) = (geo.kp(), geo.blocks);
        let (a, sa) = (act.values.get(r * kp..(r + K::ROWS) * kp), act.scales.get(r * nb..(r + K::ROWS) * nb));
        let panel_fits =
            panel.w.len() >= geo.groups * NR * KG && panel.scales.len() >= nb * NR && panel.offsets.len() >= nb * NR;
        match (a, sa) {
            (Some(a), Some(sa)) if panel_fits => Ok(TileInputs { a, sa, panel, geo, kp, nb, checked: PhantomData }),
            _ => Err(misfit(r, act.rows, geo.k, K::NAME)),
        }
    }
}

#[cold]
#[inline(never)]
fn misfit(r: usize, rows: usize, k: usize, kernel: &str) -> Error {
    Error::Input(format!("internal: q8 tile at row {r} of {rows} does not fit k = {k} ({kernel} kernel)"))
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
impl<K: Microkernel> TileInputs<'_, K> {
    /// The blocks of all [`GROUPS_PER_BLOCK`] groups: `0..whole_blocks()`.
    pub fn whole_blocks(&self) -> usize {
        self.geo.groups / GROUPS_PER_BLOCK
    }

    /// Groups of block [`TileInputs::whole_blocks`], the last, when `k` is not a multiple of
    /// the block size (else 0).
    pub fn short_groups(&self) -> usize {
        self.geo.groups % GROUPS_PER_BLOCK
    }
}

/// A register-tiled microkernel: a [`Self::ROWS`] x [`NR`] tile of `x W^T` (without bias) from
/// checked inputs ([`TileInputs`]), written to the first `ROWS * NR` outputs.
pub(crate) trait Microkernel: Sync + Sized {
    /// How the kernel wants quantized activations stored.
    type A: Copy + Send + Sync;
    /// Rows per tile, at most [`MR`].
    const ROWS: usize = MR;
    /// Activations are 7-bit values stored as `q + ACT_ZERO`: the kernel takes
    /// [`ActPrecision::Int7`] only and reads [`Panel::offsets`].
    const UNSIGNED_INT7: bool = false;
    /// The name [`super::KernelId::name`] reports.
    const NAME: &'static str;
    fn encode(q: i32) -> Self::A;
    fn tile(&self, t: &TileInputs<'_, Self>, out: &mut [f32; MR * NR]);
}

/// Work to do with whichever microkernel a [`super::KernelId`] names.
pub(crate) trait WithKernel {
    type Out;
    fn run<K: Microkernel>(self, kernel: &K) -> Self::Out;
}

/// One q8 product, shapes already checked.
pub(crate) struct Product<'a> {
    pub x: &'a [f32],
    pub m: usize,
    pub w: &'a QuantMatrix,
    pub bias: Option<&'a [f32]>,
    pub precision: ActPrecision,
}

impl WithKernel for Product<'_> {
    type Out = Result<Vec<f32>>;
    fn run<K: Microkernel>(self, kernel: &K) -> Result<Vec<f32>> {
        let Product { x, m, w, bias, precision } = self;
        let geo = Geometry::new(w.cols);
        let n = w.rows;
        const { assert!(K::ROWS >= 1 && K::ROWS <= MR) };
        let act = quantize_activations(x, m, geo, precision, K::ROWS, K::encode);
        let mut out = vec![0f32; m * n];
        if m == 0 || n == 0 {
            return Ok(out);
        }
        by_column_ranges(m, n, &mut out, |range, part| columns(kernel, &act, m, w, bias, geo, range, part))?;
        Ok(out)
    }
}

/// Fills `out` (`m x n` row-major) by output columns: with several threads, one contiguous
/// range of [`NR`]-column panels per thread, each computed by `fill((c0, c1), part)` into its
/// own `m x (c1 - c0)` buffer and copied into place; with one, `fill((0, n), out)` directly.
/// Each thread then prepares (packs) only its own panels. The first error of any range is
/// returned.
pub(crate) fn by_column_ranges(
    m: usize,
    n: usize,
    out: &mut [f32],
    fill: impl Fn((usize, usize), &mut [f32]) -> Result<()> + Sync,
) -> Result<()> {
    let panels = n.div_ceil(NR);
    let threads = rayon::current_num_threads().clamp(1, panels.max(1));
    if threads == 1 {
        return fill((0, n), out);
    }
    let per = panels.div_ceil(threads) * NR;
    let parts: Vec<(usize, usize, Vec<f32>)> = (0..threads)
        .into_par_iter()
        .map(|t| {
            let (c0, c1) = ((t * per).min(n), ((t + 1) * per).min(n));
            let mut part = vec![0f32; m * (c1 - c0)];
            fill((c0, c1), &mut part)?;
            Ok((c0, c1, part))
        })
        .collect::<Result<_>>()?;
    for (c0, c1, part) in parts {
        if c1 > c0 {
            for (dst, src) in out.chunks_exact_mut(n).zip(part.chunks_exact(c1 - c0)) {
                dst[c0..c1].copy_from_slice(src);
            }
        }
    }
    Ok(())
}

/// Output columns `c0..c1` (`c0` a multiple of [`NR`]) of `x W^T + b` for all `m` rows, into
/// `out` as `m x (c1 - c0)` row-major.
#[allow(clippy::too_many_arguments)]
fn columns<K: Microkernel>(
    kernel: &K,
    act: &Activations<K::A>,
    m: usize,
    w: &QuantMatrix,
    bias: Option<&[f32]>,
    geo: Geometry,
    (c0, c1): (usize, usize),
    out: &mut [f32],
) -> Result<()> {
    let width = c1 - c0;
    let mut panel = Panel::new(geo);
    let mut tile = [0f32; MR * NR];
    for col0 in (c0..c1).step_by(NR) {
        panel.pack(w, col0, geo, K::UNSIGNED_INT7);
        let cols = NR.min(c1 - col0);
        for r in (0..m).step_by(K::ROWS) {
            kernel.tile(&TileInputs::new(act, r, &panel, geo)?, &mut tile);
            for i in 0..K::ROWS.min(m - r) {
                let at = (r + i) * width + col0 - c0;
                let (dst, src) = (&mut out[at..at + cols], &tile[i * NR..i * NR + cols]);
                match bias {
                    Some(b) => dst.iter_mut().zip(src).zip(&b[col0..]).for_each(|((d, s), b)| *d = s + b),
                    None => dst.copy_from_slice(src),
                }
            }
        }
    }
    Ok(())
}
