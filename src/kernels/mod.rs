//! The matrix products under the model's linear layers and attention: int8 products for q8
//! weights (this module, [`gemm`] and one file per instruction set) and f32 products for
//! attention and f32 weights ([`f32`]).
//!
//! ## The q8 arithmetic (one definition, every kernel)
//! `y = x W^T + b` with `W` kept in the file's 8-bit blocks, never expanded to f32:
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
//! returns bit-identical results to [`reference::matmul`]; the tests run every kernel this
//! build and CPU can run ([`runnable`]) against it, and check it against f32.
//!
//! ## Which kernel runs: a table, decided once
//! Each microkernel is a [`KernelId`]: its name says its instruction set, activation encoding
//! and tile geometry (`wasm-relaxed-u7-3x8c4-madd`: relaxed SIMD, 7-bit activations stored
//! unsigned, 3 rows x 8 columns per tile, groups of 4 `k`, the `pmaddubsw` form). [`runnable`]
//! lists the kernels this build and CPU run correctly, fastest first; it is worked out once
//! (compile-time target features, plus the run-time AVX2 detection and the relaxed-SIMD engine
//! probe), and [`selected`] takes the first one that accepts a precision. [`q8_matmul`] uses
//! that; [`q8_matmul_with`] runs any runnable kernel (tests, benchmarks).
//!
//! ## How the work is laid out
//! GEMM as BLIS does it ([`gemm`]): for each panel of [`NR`] output columns the weights are
//! repacked (`[k/4][NR][4]` bytes, plus per-block scales and column sums) into a buffer that
//! stays in L1, then every tile of rows (the kernel's rows, at most [`MR`]) runs a
//! register-tiled microkernel over it. Packing costs one pass over the weights per call, `1/M`
//! of the multiply-adds. Threads (rayon; one in a single-threaded wasm build) each take a
//! contiguous range of panels, so no panel is packed twice; the activations are quantized
//! once, rows in parallel, before the products start.
//!
//! ## Adding a kernel
//! One file per instruction set implementing [`gemm::Microkernel`] over a checked
//! [`gemm::TileInputs`]; one [`KernelId`] variant (name, and where it ranks in [`runnable`]);
//! nothing else changes. The shared cases in `tests/common/kernel_cases.rs` then run it.

use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::quant::{QuantKind, QuantMatrix, BLOCK};

pub mod bench;
pub mod f32;
mod gemm;
pub mod reference;

mod portable;
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
mod wasm_relaxed;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm_simd128;
#[cfg(target_arch = "x86_64")]
mod x86;

pub(crate) use gemm::by_column_ranges;
use gemm::{Microkernel, Product, WithKernel};

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
/// Most rows of `x` any microkernel tile takes.
pub const MR: usize = 4;
/// Output columns per packed weight panel and microkernel tile.
pub const NR: usize = 8;
/// Consecutive `k` values packed together for one column (one 32-bit lane of a dot product).
pub const KG: usize = 4;
pub(crate) const GROUPS_PER_BLOCK: usize = BLOCK / KG;

/// One q8 microkernel. Which variants exist depends on the build's target; which of those run
/// on this CPU or engine, and in what order of preference, is [`runnable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KernelId {
    /// Plain Rust, any target; i16 activations (either precision).
    Portable,
    /// x86-64 AVX2, 7-bit activations stored unsigned, `vpmaddubsw` + `vpmaddwd`.
    #[cfg(target_arch = "x86_64")]
    Avx2U7,
    /// x86-64 AVX2, i16 activations (either precision), weights widened, `vpmaddwd`.
    #[cfg(target_arch = "x86_64")]
    Avx2I16,
    /// wasm simd128, i16 activations (either precision), `i32x4.dot_i16x8_s`.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    WasmSimd128I16,
    /// wasm relaxed SIMD, one `i32x4.relaxed_dot_i8x16_i7x16_add` per step: what engines on
    /// VNNI and Arm `sdot` CPUs run as one instruction.
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    WasmRelaxedDot,
    /// wasm relaxed SIMD, `i16x8.relaxed_dot_i8x16_i7x16` + `i32x4.dot_i16x8_s`: faster where
    /// the one-step form is emulated (x86 without VNNI), in 3-row tiles.
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    WasmRelaxedMadd,
}

/// What a kernel is, fixed by its type (known without running it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelSpec {
    /// Instruction set, activation encoding (`i16`, or `u7` for 7-bit values stored as
    /// `q + 64`), tile `rows x columns`, `c` + the `k` values per lane, and the form.
    pub name: &'static str,
    /// Rows of `x` per tile (at most [`MR`]).
    pub rows: usize,
    /// Whether it takes 7-bit activations only (the `u7` kernels).
    pub int7_only: bool,
}

fn spec<K: Microkernel>() -> KernelSpec {
    KernelSpec { name: K::NAME, rows: K::ROWS, int7_only: K::UNSIGNED_INT7 }
}

impl KernelId {
    pub fn spec(self) -> KernelSpec {
        match self {
            KernelId::Portable => spec::<portable::Portable>(),
            #[cfg(target_arch = "x86_64")]
            KernelId::Avx2U7 => spec::<x86::Avx2U7>(),
            #[cfg(target_arch = "x86_64")]
            KernelId::Avx2I16 => spec::<x86::Avx2I16>(),
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            KernelId::WasmSimd128I16 => spec::<wasm_simd128::Simd128>(),
            #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
            KernelId::WasmRelaxedDot => spec::<wasm_relaxed::Relaxed<true>>(),
            #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
            KernelId::WasmRelaxedMadd => spec::<wasm_relaxed::Relaxed<false>>(),
        }
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Whether the kernel takes activations of this precision.
    pub fn accepts(self, precision: ActPrecision) -> bool {
        precision == ActPrecision::Int7 || !self.spec().int7_only
    }

    /// Runs `work` with this kernel; an error when this CPU cannot run it (an AVX2 kernel
    /// without AVX2: those kernels exist only once AVX2 was detected).
    fn run<W: WithKernel>(self, work: W) -> Result<W::Out> {
        Ok(match self {
            KernelId::Portable => work.run(&portable::Portable),
            #[cfg(target_arch = "x86_64")]
            KernelId::Avx2U7 => work.run(&x86::Avx2U7::detect().ok_or_else(|| self.unsupported())?),
            #[cfg(target_arch = "x86_64")]
            KernelId::Avx2I16 => work.run(&x86::Avx2I16::detect().ok_or_else(|| self.unsupported())?),
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            KernelId::WasmSimd128I16 => work.run(&wasm_simd128::Simd128),
            #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
            KernelId::WasmRelaxedDot => work.run(&wasm_relaxed::Relaxed::<true>),
            #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
            KernelId::WasmRelaxedMadd => work.run(&wasm_relaxed::Relaxed::<false>),
        })
    }

    #[cfg(target_arch = "x86_64")]
    fn unsupported(self) -> Error {
        Error::Input(format!("the {} kernel cannot run on this CPU (it has no AVX2)", self.name()))
    }
}

impl std::fmt::Display for KernelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The kernels this build and CPU run correctly, fastest first: decided once, from the
/// build's target features, AVX2 detection and the relaxed-SIMD probe.
pub fn runnable() -> &'static [KernelId] {
    static TABLE: OnceLock<Vec<KernelId>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = Vec::new();
        #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
        table.extend(match wasm_relaxed::one_step_dot() {
            true => [KernelId::WasmRelaxedDot, KernelId::WasmRelaxedMadd],
            false => [KernelId::WasmRelaxedMadd, KernelId::WasmRelaxedDot],
        });
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        table.push(KernelId::WasmSimd128I16);
        #[cfg(target_arch = "x86_64")]
        if x86::Avx2U7::detect().is_some() {
            table.extend([KernelId::Avx2U7, KernelId::Avx2I16]);
        }
        table.push(KernelId::Portable);
        table
    })
}

/// The kernel [`q8_matmul`] uses for `precision`: the first of [`runnable`] that accepts it.
pub fn selected(precision: ActPrecision) -> KernelId {
    runnable().iter().copied().find(|k| k.accepts(precision)).unwrap_or(KernelId::Portable)
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
    q8_matmul_with(selected(precision), x, m, w, bias, precision)
}

/// [`q8_matmul`] with a given kernel (for tests and benchmarks: every kernel of [`runnable`]
/// gives the same bits). An error for a kernel that does not take `precision` or cannot run
/// on this CPU.
pub fn q8_matmul_with(
    kernel: KernelId,
    x: &[f32],
    m: usize,
    w: &QuantMatrix,
    bias: Option<&[f32]>,
    precision: ActPrecision,
) -> Result<Vec<f32>> {
    check(x, m, w, bias)?;
    if !kernel.accepts(precision) {
        return Err(Error::Input(format!(
            "the {kernel} kernel takes 7-bit activations only, not {}",
            precision.name()
        )));
    }
    kernel.run(Product { x, m, w, bias, precision })?
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_the_tile_geometry() {
        for &k in runnable() {
            let spec = k.spec();
            assert!(spec.name.contains(&format!("-{}x{NR}c{KG}", spec.rows)), "{spec:?}");
            assert!(spec.rows >= 1 && spec.rows <= MR);
            assert_eq!(spec.int7_only, spec.name.contains("-u7-"), "{spec:?}");
        }
    }

    #[test]
    fn every_precision_has_a_kernel_that_takes_it() {
        for p in [ActPrecision::Int7, ActPrecision::Int16] {
            assert!(selected(p).accepts(p));
            assert_eq!(Some(&selected(p)), runnable().iter().find(|k| k.accepts(p)));
        }
        assert!(runnable().contains(&KernelId::Portable));
    }
}
