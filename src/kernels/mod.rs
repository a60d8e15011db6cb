//! Int8 matrix products for q8 linear layers: `y = x W^T + b` with `W` kept in the file's
//! 8-bit blocks, never expanded to f32.
//!
//! ## The arithmetic (one definition, every kernel)
//! - `W` is the q8 matrix as stored (see [`crate::quant`]): rows are output columns, each cut
//!   into blocks of [`BLOCK`] values with one scale `sw`.
//! - Each row of `x` is quantized on the fly with the same blocks: `sa = max|x| / A`,
//!   `q = round(x / sa)` (half to even) in `-A..=A`, where the layer's [`ActPrecision`] sets `A`:
//!   **7 bits** (`A = 63`) where speed matters (the vision tower: the relaxed-SIMD dot product,
//!   whose second operand must be in `0..=127`, takes `q + 64` and stays exact on every
//!   engine), **16 bits** (`A = 32767`) where accuracy does and rows are few (the text tower,
//!   which 7-bit activations moved measurably: tiny-fixture text cosine 0.99962 vs 0.99995).
//! - Per block, the integer dot product `d = Σ q·w` is exact in i32; then, in f32 and in this
//!   order, `acc += (d as f32) * (sa * sw)`; finally `y = acc + bias`.
//!
//! Integer sums are exact and the float steps are the same in every kernel, so every kernel
//! (portable, AVX2, wasm simd128, wasm relaxed SIMD) returns bit-identical results to
//! [`reference::matmul`]; the tests check exactly that, and check the result against f32.
//!
//! ## How the work is laid out
//! GEMM as BLIS does it: for each panel of [`NR`] output columns the weights are repacked
//! (`[k/4][NR][4]` bytes, plus per-block scales and column sums) into a buffer that stays in
//! L1, then every tile of rows (the kernel's [`Microkernel::ROWS`], at most [`MR`]: 3 for the
//! relaxed-SIMD kernel's two-step form, whose 4-row tile spills in V8) runs a register-tiled
//! microkernel over it. Packing costs one pass over the weights per call, `1/M` of the
//! multiply-adds. Threads (rayon; one in a single-threaded wasm build) each take a contiguous
//! range of panels, so no panel is packed twice; the activations are quantized once, rows in
//! parallel, before the products start.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::quant::{QuantKind, QuantMatrix, BLOCK};

pub mod bench;
pub mod f32;
pub mod reference;

mod portable;
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
mod wasm_relaxed;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm_simd128;
#[cfg(target_arch = "x86_64")]
mod x86;

/// How finely a layer's input rows are quantized (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActPrecision {
    /// `-63..=63`: the fast kernels (relaxed SIMD, `vpmaddubsw`).
    #[default]
    Int7,
    /// `-32767..=32767`: i16 kernels (`i32x4.dot_i16x8_s`, `vpmaddwd`).
    Int16,
}

impl ActPrecision {
    /// Largest quantized activation magnitude.
    pub fn max(self) -> i32 {
        match self {
            ActPrecision::Int7 => 63,
            ActPrecision::Int16 => 32767,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ActPrecision::Int7 => "int7",
            ActPrecision::Int16 => "int16",
        }
    }
}

/// Offset that makes a 7-bit quantized activation unsigned (`q + 64` in `1..=127`).
pub const ACT_ZERO: i32 = 64;
/// Rows of `x` per microkernel tile: what most kernels take, and the most any takes (see
/// [`Microkernel::ROWS`]).
pub const MR: usize = 4;
/// Output columns per packed weight panel and microkernel tile.
pub const NR: usize = 8;
/// Consecutive `k` values packed together for one column (one 32-bit lane of a dot product).
pub const KG: usize = 4;
pub(crate) const GROUPS_PER_BLOCK: usize = BLOCK / KG;

/// The block structure of the inner dimension `k`, padded to whole groups of [`KG`].
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
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
pub struct Activations<T> {
    pub values: Vec<T>,
    pub scales: Vec<f32>,
    pub rows: usize,
}

/// Quantizes the rows of `x` (`m x k`, row-major) as the module docs say, encoding each
/// quantized value `q` with `encode` (padding is `encode(0)`).
pub fn quantize_activations<T: Copy + Send + Sync>(
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
pub struct Panel {
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

/// Whether the inputs of a tile of `rows` rows have the lengths `geo` implies (the SIMD kernels
/// check this once before reading through raw pointers; the driver always sizes them so).
pub(crate) fn tile_inputs_fit<T>(a: &[T], sa: &[f32], panel: &Panel, geo: Geometry, rows: usize) -> bool {
    let (kp, nb) = (geo.kp(), geo.blocks);
    a.len() >= rows * kp
        && sa.len() >= rows * nb
        && panel.w.len() >= geo.groups * NR * KG
        && panel.scales.len() >= nb * NR
        && panel.offsets.len() >= nb * NR
}

/// A tile's inputs as raw pointers for the wasm SIMD kernels, made only when their lengths fit
/// ([`tile_inputs_fit`]), with the block structure the kernels loop over: `whole` blocks of
/// [`GROUPS_PER_BLOCK`] groups, then block `whole` with `short_groups` groups when `k` is not a
/// multiple of the block size.
#[cfg(target_arch = "wasm32")]
pub(crate) struct TileInputs<'a, T> {
    pub a: *const T,
    pub sa: *const f32,
    pub panel: &'a Panel,
    pub kp: usize,
    pub nb: usize,
    pub whole: usize,
    pub short_groups: usize,
}

#[cfg(target_arch = "wasm32")]
impl<'a, T> TileInputs<'a, T> {
    pub fn new(a: &'a [T], sa: &'a [f32], panel: &'a Panel, geo: Geometry, rows: usize) -> Option<Self> {
        let whole = geo.groups / GROUPS_PER_BLOCK;
        tile_inputs_fit(a, sa, panel, geo, rows).then(|| TileInputs {
            a: a.as_ptr(),
            sa: sa.as_ptr(),
            panel,
            kp: geo.kp(),
            nb: geo.blocks,
            whole,
            short_groups: geo.groups - whole * GROUPS_PER_BLOCK,
        })
    }
}

/// A register-tiled microkernel: a [`Self::ROWS`] x [`NR`] tile of `x W^T` (without bias) from
/// `ROWS` rows of activations (`[ROWS][kp]`, scales `[ROWS][blocks]`) and one packed panel.
pub trait Microkernel: Sync {
    /// How the kernel wants quantized activations stored.
    type A: Copy + Send + Sync;
    /// Rows per tile, at most [`MR`]: the tile is written to the first `ROWS * NR` outputs.
    const ROWS: usize = MR;
    /// Whether the kernel reads [`Panel::offsets`] (unsigned activations).
    const OFFSETS: bool = false;
    /// Short name for `info()` and benchmarks.
    const NAME: &'static str;
    fn encode(q: i32) -> Self::A;
    fn tile(&self, a: &[Self::A], sa: &[f32], panel: &Panel, geo: Geometry, out: &mut [f32; MR * NR]);
}

/// `y = x W^T + b` for a q8 `W` with any microkernel; `x` is `m x k` row-major.
///
/// Output columns are split across threads by [`by_column_ranges`]; the activations are
/// quantized once and shared.
fn matmul_with<K: Microkernel>(
    kernel: &K,
    x: &[f32],
    m: usize,
    w: &QuantMatrix,
    bias: Option<&[f32]>,
    precision: ActPrecision,
) -> Vec<f32> {
    let geo = Geometry::new(w.cols);
    let n = w.rows;
    const { assert!(K::ROWS >= 1 && K::ROWS <= MR) };
    let act = quantize_activations(x, m, geo, precision, K::ROWS, K::encode);
    let mut out = vec![0f32; m * n];
    if m == 0 || n == 0 {
        return out;
    }
    by_column_ranges(m, n, &mut out, |range, part| columns(kernel, &act, m, w, bias, geo, range, part));
    out
}

/// Fills `out` (`m x n` row-major) by output columns: with several threads, one contiguous
/// range of [`NR`]-column panels per thread, each computed by `fill((c0, c1), part)` into its
/// own `m x (c1 - c0)` buffer and copied into place; with one, `fill((0, n), out)` directly.
/// Each thread then prepares (packs) only its own panels.
pub(crate) fn by_column_ranges(m: usize, n: usize, out: &mut [f32], fill: impl Fn((usize, usize), &mut [f32]) + Sync) {
    let panels = n.div_ceil(NR);
    let threads = rayon::current_num_threads().clamp(1, panels.max(1));
    if threads == 1 {
        fill((0, n), out);
        return;
    }
    let per = panels.div_ceil(threads) * NR;
    let parts: Vec<(usize, usize, Vec<f32>)> = (0..threads)
        .into_par_iter()
        .map(|t| {
            let (c0, c1) = ((t * per).min(n), ((t + 1) * per).min(n));
            let mut part = vec![0f32; m * (c1 - c0)];
            fill((c0, c1), &mut part);
            (c0, c1, part)
        })
        .collect();
    for (c0, c1, part) in parts {
        if c1 > c0 {
            for (dst, src) in out.chunks_exact_mut(n).zip(part.chunks_exact(c1 - c0)) {
                dst[c0..c1].copy_from_slice(src);
            }
        }
    }
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
) {
    let (kp, nb, width) = (geo.kp(), geo.blocks, c1 - c0);
    let mut panel = Panel::new(geo);
    let mut tile = [0f32; MR * NR];
    for col0 in (c0..c1).step_by(NR) {
        panel.pack(w, col0, geo, K::OFFSETS);
        let cols = NR.min(c1 - col0);
        for r in (0..m).step_by(K::ROWS) {
            let (a, sa) = (&act.values[r * kp..(r + K::ROWS) * kp], &act.scales[r * nb..(r + K::ROWS) * nb]);
            kernel.tile(a, sa, &panel, geo, &mut tile);
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
}

/// Work to do with whichever microkernel [`dispatch`] picks.
trait WithKernel {
    type Out;
    fn run<K: Microkernel>(self, kernel: &K) -> Self::Out;
}

/// Runs `work` with the fastest kernel this build and CPU have for `precision`: the one place
/// that decides it.
fn dispatch<W: WithKernel>(precision: ActPrecision, work: W) -> W::Out {
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    if precision == ActPrecision::Int7 {
        return with_relaxed(wasm_relaxed::one_step_dot(), work);
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return {
        let _ = precision;
        work.run(&wasm_simd128::Simd128)
    };
    #[cfg(target_arch = "x86_64")]
    if x86::has_avx2() {
        return x86::dispatch(precision, work);
    }
    #[allow(unreachable_code)]
    {
        let _ = precision;
        work.run(&portable::Portable)
    }
}

struct Name;

impl WithKernel for Name {
    type Out = &'static str;
    fn run<K: Microkernel>(self, _: &K) -> &'static str {
        K::NAME
    }
}

struct Product<'a> {
    x: &'a [f32],
    m: usize,
    w: &'a QuantMatrix,
    bias: Option<&'a [f32]>,
    precision: ActPrecision,
}

impl WithKernel for Product<'_> {
    type Out = Vec<f32>;
    fn run<K: Microkernel>(self, kernel: &K) -> Vec<f32> {
        matmul_with(kernel, self.x, self.m, self.w, self.bias, self.precision)
    }
}

/// Which microkernel this build and CPU use for `precision`.
pub fn kernel_name(precision: ActPrecision) -> &'static str {
    dispatch(precision, Name)
}

/// `y = x W^T + b` for a q8 matrix `W` (`[n, k]`) and `x` (`m x k`, row-major): `m x n`
/// row-major, with the fastest kernel this build and CPU have for `precision`.
pub fn q8_matmul(
    x: &[f32],
    m: usize,
    w: &QuantMatrix,
    bias: Option<&[f32]>,
    precision: ActPrecision,
) -> Result<Vec<f32>> {
    check(x, m, w, bias)?;
    Ok(dispatch(precision, Product { x, m, w, bias, precision }))
}

/// The relaxed-SIMD kernel with its dot-product form forced: `one_step` (what VNNI and Arm
/// engines run) or the two-step form (x86 without VNNI), so that a test on one machine checks
/// both against the reference. Int7 activations, as the kernel takes.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
pub fn q8_matmul_relaxed_form(
    x: &[f32],
    m: usize,
    w: &QuantMatrix,
    bias: Option<&[f32]>,
    one_step: bool,
) -> Result<Vec<f32>> {
    check(x, m, w, bias)?;
    Ok(with_relaxed(one_step, Product { x, m, w, bias, precision: ActPrecision::Int7 }))
}

/// Runs `work` with the relaxed-SIMD kernel in the given dot-product form.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
fn with_relaxed<W: WithKernel>(one_step: bool, work: W) -> W::Out {
    match one_step {
        true => work.run(&wasm_relaxed::Relaxed::<true>),
        false => work.run(&wasm_relaxed::Relaxed::<false>),
    }
}

/// Whether this engine's one-step relaxed dot product is a single instruction (see
/// `wasm_relaxed.rs`); reported by the tests.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
pub fn relaxed_one_step_dot() -> bool {
    wasm_relaxed::one_step_dot()
}

/// The portable kernel, whatever the build (for tests that compare kernels).
pub fn q8_matmul_portable(
    x: &[f32],
    m: usize,
    w: &QuantMatrix,
    bias: Option<&[f32]>,
    precision: ActPrecision,
) -> Result<Vec<f32>> {
    checked_product(&portable::Portable, x, m, w, bias, precision)
}

/// The product with one given kernel, after the shape checks.
fn checked_product<K: Microkernel>(
    kernel: &K,
    x: &[f32],
    m: usize,
    w: &QuantMatrix,
    bias: Option<&[f32]>,
    precision: ActPrecision,
) -> Result<Vec<f32>> {
    check(x, m, w, bias)?;
    Ok(Product { x, m, w, bias, precision }.run(kernel))
}

fn check(x: &[f32], m: usize, w: &QuantMatrix, bias: Option<&[f32]>) -> Result<()> {
    let ok = w.kind == QuantKind::Q8
        && Some(x.len()) == m.checked_mul(w.cols)
        && Some(w.data.len()) == w.rows.checked_mul(w.cols)
        && Some(w.scales.len()) == w.rows.checked_mul(w.cols.div_ceil(BLOCK))
        && bias.is_none_or(|b| b.len() == w.rows);
    if ok {
        Ok(())
    } else {
        Err(Error::Input(format!(
            "q8 product: {} values for {m} rows of a {:?} [{}, {}] matrix, bias {:?}",
            x.len(),
            w.kind,
            w.rows,
            w.cols,
            bias.map(<[f32]>::len)
        )))
    }
}
