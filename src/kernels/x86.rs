//! x86-64 microkernels, chosen at run time when the CPU has AVX2.
//! - 7-bit activations: stored unsigned (`q + 64`), so `vpmaddubsw` (u8 x i8 pairs, which
//!   saturates at i16) cannot overflow: `2 * 127 * 128 < 32767`; the `+64` is taken back by
//!   the panel's per-block column sums.
//! - 16-bit activations: weights widened to i16, `vpmaddwd`; each column's sum is left in two
//!   lanes and folded once per block.

use std::arch::x86_64::*;

use super::{tile_inputs_fit, ActPrecision, Geometry, Microkernel, Panel, WithKernel, ACT_ZERO, KG, MR, NR};

const _: () = assert!(NR == 8 && KG == 4 && MR == 4);

struct Avx2U7;

impl Microkernel for Avx2U7 {
    type A = u8;
    const OFFSETS: bool = true;
    const NAME: &'static str = "avx2-u7";

    fn encode(q: i32) -> u8 {
        (q + ACT_ZERO) as u8
    }

    fn tile(&self, a: &[u8], sa: &[f32], panel: &Panel, geo: Geometry, out: &mut [f32; MR * NR]) {
        if tile_inputs_fit(a, sa, panel, geo, MR) {
            // SAFETY: only used after `is_x86_feature_detected!("avx2")`; lengths checked.
            unsafe { tile_u7(a, sa, panel, geo, out) }
        }
    }
}

#[target_feature(enable = "avx2")]
unsafe fn tile_u7(a: &[u8], sa: &[f32], panel: &Panel, geo: Geometry, out: &mut [f32; MR * NR]) {
    let (kp, nb) = (geo.kp(), geo.blocks);
    let ones = _mm256_set1_epi16(1);
    let mut accf = [_mm256_setzero_ps(); MR];
    let (ap, wp) = (a.as_ptr(), panel.w.as_ptr());
    for b in 0..nb {
        let (g0, g1) = geo.block_groups(b);
        let off = _mm256_loadu_si256(panel.offsets.as_ptr().add(b * NR) as *const __m256i);
        let mut acc = [off; MR];
        for g in g0..g1 {
            let w = _mm256_loadu_si256(wp.add(g * NR * KG) as *const __m256i);
            for (i, acc) in acc.iter_mut().enumerate() {
                let x = _mm256_set1_epi32((ap.add(i * kp + g * KG) as *const i32).read_unaligned());
                *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w), ones));
            }
        }
        scale_block(&mut accf, &acc, sa, panel, b, nb);
    }
    store(&accf, out);
}

struct Avx2I16;

impl Microkernel for Avx2I16 {
    type A = i16;
    const NAME: &'static str = "avx2-i16";

    fn encode(q: i32) -> i16 {
        q as i16
    }

    fn tile(&self, a: &[i16], sa: &[f32], panel: &Panel, geo: Geometry, out: &mut [f32; MR * NR]) {
        if tile_inputs_fit(a, sa, panel, geo, MR) {
            // SAFETY: only used after `is_x86_feature_detected!("avx2")`; lengths checked.
            unsafe { tile_i16(a, sa, panel, geo, out) }
        }
    }
}

#[target_feature(enable = "avx2")]
unsafe fn tile_i16(a: &[i16], sa: &[f32], panel: &Panel, geo: Geometry, out: &mut [f32; MR * NR]) {
    let (kp, nb) = (geo.kp(), geo.blocks);
    let mut accf = [_mm256_setzero_ps(); MR];
    let (ap, wp) = (a.as_ptr(), panel.w.as_ptr());
    for b in 0..nb {
        let (g0, g1) = geo.block_groups(b);
        // Per row: columns 0-3 and 4-7, each column's sum split over two adjacent lanes.
        let mut acc = [[_mm256_setzero_si256(); 2]; MR];
        for g in g0..g1 {
            let w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(wp.add(g * NR * KG) as *const __m128i));
            let w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(wp.add(g * NR * KG + 16) as *const __m128i));
            for (i, acc) in acc.iter_mut().enumerate() {
                let x = _mm256_set1_epi64x((ap.add(i * kp + g * KG) as *const i64).read_unaligned());
                acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(w0, x));
                acc[1] = _mm256_add_epi32(acc[1], _mm256_madd_epi16(w1, x));
            }
        }
        // hadd -> [c0 c1 c4 c5 | c2 c3 c6 c7]; 64-bit lanes reordered 0,2,1,3 -> c0..c7.
        let folded = acc.map(|[lo, hi]| _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(lo, hi)));
        scale_block(&mut accf, &folded, sa, panel, b, nb);
    }
    store(&accf, out);
}

/// `accf += (d as f32) * (sa * sw)` for one block, in the order the reference uses.
#[target_feature(enable = "avx2")]
unsafe fn scale_block(accf: &mut [__m256; MR], d: &[__m256i; MR], sa: &[f32], panel: &Panel, b: usize, nb: usize) {
    let sw = _mm256_loadu_ps(panel.scales.as_ptr().add(b * NR));
    for i in 0..MR {
        let s = _mm256_mul_ps(_mm256_set1_ps(sa[i * nb + b]), sw);
        accf[i] = _mm256_add_ps(accf[i], _mm256_mul_ps(_mm256_cvtepi32_ps(d[i]), s));
    }
}

#[target_feature(enable = "avx2")]
unsafe fn store(accf: &[__m256; MR], out: &mut [f32; MR * NR]) {
    for (i, v) in accf.iter().enumerate() {
        _mm256_storeu_ps(out.as_mut_ptr().add(i * NR), *v);
    }
}

pub fn has_avx2() -> bool {
    is_x86_feature_detected!("avx2")
}

/// Runs `work` with the AVX2 kernel for `precision`; only after [`has_avx2`].
pub(super) fn dispatch<W: WithKernel>(precision: ActPrecision, work: W) -> W::Out {
    match precision {
        ActPrecision::Int7 => work.run(&Avx2U7),
        ActPrecision::Int16 => work.run(&Avx2I16),
    }
}
