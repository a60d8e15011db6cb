//! x86-64 microkernels for CPUs with AVX2 (detected at run time: a kernel value exists only
//! once [`Avx2U7::detect`] or [`Avx2I16::detect`] saw AVX2, which is what makes calling their
//! `#[target_feature]` code sound).
//! - 7-bit activations: stored unsigned (`q + 64`), so `vpmaddubsw` (u8 x i8 pairs, which
//!   saturates at i16) cannot overflow: `2 * 127 * 128 < 32767`; the `+64` is taken back by
//!   the panel's per-block column sums.
//! - 16-bit activations: weights widened to i16, `vpmaddwd`; each column's sum is left in two
//!   lanes and folded once per block.
//!
//! Pointer reads stay inside the ranges [`TileInputs`] checked: for `g < geo.groups`, the
//! panel's `NR * KG` bytes at `g * NR * KG`; for `i < MR` rows, `KG` activations at
//! `i * kp + g * KG` (`g * KG + KG <= kp`); for `b < nb`, `NR` offsets and scales at `b * NR`.

use std::arch::x86_64::*;

use super::gemm::{Microkernel, TileInputs};
use super::{ACT_ZERO, KG, MR, NR};

const _: () = assert!(NR == 8 && KG == 4 && MR == 4);

fn has_avx2() -> bool {
    is_x86_feature_detected!("avx2")
}

/// AVX2, 7-bit activations as `q + 64` (u8), `vpmaddubsw` + `vpmaddwd`.
pub struct Avx2U7 {
    /// Private: made only by `detect`.
    _avx2: (),
}

impl Avx2U7 {
    /// The kernel, if this CPU has AVX2.
    pub fn detect() -> Option<Self> {
        has_avx2().then_some(Avx2U7 { _avx2: () })
    }
}

impl Microkernel for Avx2U7 {
    type A = u8;
    const UNSIGNED_INT7: bool = true;
    const NAME: &'static str = "avx2-u7-4x8c4";

    fn encode(q: i32) -> u8 {
        (q + ACT_ZERO) as u8
    }

    fn tile(&self, t: &TileInputs<'_, Self>, out: &mut [f32; MR * NR]) {
        // SAFETY: `self` exists only on a CPU with AVX2 (`detect`).
        unsafe { tile_u7(t, out) }
    }
}

#[target_feature(enable = "avx2")]
fn tile_u7(t: &TileInputs<'_, Avx2U7>, out: &mut [f32; MR * NR]) {
    let (kp, nb, panel) = (t.kp, t.nb, t.panel);
    let ones = _mm256_set1_epi16(1);
    let mut accf = [_mm256_setzero_ps(); MR];
    let (ap, wp) = (t.a.as_ptr(), panel.w.as_ptr());
    for b in 0..nb {
        let (g0, g1) = t.geo.block_groups(b);
        // SAFETY: `b < nb` (module docs).
        let off = unsafe { _mm256_loadu_si256(panel.offsets.as_ptr().add(b * NR) as *const __m256i) };
        let mut acc = [off; MR];
        for g in g0..g1 {
            // SAFETY: `g < groups` (module docs).
            let w = unsafe { _mm256_loadu_si256(wp.add(g * NR * KG) as *const __m256i) };
            for (i, acc) in acc.iter_mut().enumerate() {
                // SAFETY: row `i < MR`, group `g < groups` (module docs).
                let x = _mm256_set1_epi32(unsafe { (ap.add(i * kp + g * KG) as *const i32).read_unaligned() });
                *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w), ones));
            }
        }
        scale_block(&mut accf, &acc, t, b);
    }
    store(&accf, out);
}

/// AVX2, i16 activations (either precision), weights widened, `vpmaddwd`.
pub struct Avx2I16 {
    /// Private: made only by `detect`.
    _avx2: (),
}

impl Avx2I16 {
    /// The kernel, if this CPU has AVX2.
    pub fn detect() -> Option<Self> {
        has_avx2().then_some(Avx2I16 { _avx2: () })
    }
}

impl Microkernel for Avx2I16 {
    type A = i16;
    const NAME: &'static str = "avx2-i16-4x8c4";

    fn encode(q: i32) -> i16 {
        q as i16
    }

    fn tile(&self, t: &TileInputs<'_, Self>, out: &mut [f32; MR * NR]) {
        // SAFETY: `self` exists only on a CPU with AVX2 (`detect`).
        unsafe { tile_i16(t, out) }
    }
}

#[target_feature(enable = "avx2")]
fn tile_i16(t: &TileInputs<'_, Avx2I16>, out: &mut [f32; MR * NR]) {
    let (kp, nb, panel) = (t.kp, t.nb, t.panel);
    let mut accf = [_mm256_setzero_ps(); MR];
    let (ap, wp) = (t.a.as_ptr(), panel.w.as_ptr());
    for b in 0..nb {
        let (g0, g1) = t.geo.block_groups(b);
        // Per row: columns 0-3 and 4-7, each column's sum split over two adjacent lanes.
        let mut acc = [[_mm256_setzero_si256(); 2]; MR];
        for g in g0..g1 {
            // SAFETY: `g < groups`: the two halves of the group's `NR * KG` bytes (module docs).
            let (w0, w1) = unsafe {
                (
                    _mm256_cvtepi8_epi16(_mm_loadu_si128(wp.add(g * NR * KG) as *const __m128i)),
                    _mm256_cvtepi8_epi16(_mm_loadu_si128(wp.add(g * NR * KG + 16) as *const __m128i)),
                )
            };
            for (i, acc) in acc.iter_mut().enumerate() {
                // SAFETY: row `i < MR`, group `g < groups`: `KG` i16 values (module docs).
                let x = _mm256_set1_epi64x(unsafe { (ap.add(i * kp + g * KG) as *const i64).read_unaligned() });
                acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(w0, x));
                acc[1] = _mm256_add_epi32(acc[1], _mm256_madd_epi16(w1, x));
            }
        }
        // hadd -> [c0 c1 c4 c5 | c2 c3 c6 c7]; 64-bit lanes reordered 0,2,1,3 -> c0..c7.
        let folded = acc.map(|[lo, hi]| _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(lo, hi)));
        scale_block(&mut accf, &folded, t, b);
    }
    store(&accf, out);
}

/// `accf += (d as f32) * (sa * sw)` for block `b < nb`, in the order the reference uses.
#[target_feature(enable = "avx2")]
fn scale_block(accf: &mut [__m256; MR], d: &[__m256i; MR], t: &TileInputs<'_, impl Microkernel>, b: usize) {
    // SAFETY: `b < nb` (module docs).
    let sw = unsafe { _mm256_loadu_ps(t.panel.scales.as_ptr().add(b * NR)) };
    for i in 0..MR {
        // SAFETY: row `i < MR`, block `b < nb` (module docs).
        let sa = unsafe { *t.sa.as_ptr().add(i * t.nb + b) };
        let s = _mm256_mul_ps(_mm256_set1_ps(sa), sw);
        accf[i] = _mm256_add_ps(accf[i], _mm256_mul_ps(_mm256_cvtepi32_ps(d[i]), s));
    }
}

#[target_feature(enable = "avx2")]
fn store(accf: &[__m256; MR], out: &mut [f32; MR * NR]) {
    for (v, row) in accf.iter().zip(out.chunks_exact_mut(NR)) {
        // SAFETY: `row` holds the `NR` (8) floats written.
        unsafe { _mm256_storeu_ps(row.as_mut_ptr(), *v) }
    }
}
