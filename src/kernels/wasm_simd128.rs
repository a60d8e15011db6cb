//! wasm simd128 (every engine with wasm SIMD): weights widened to i16 in registers and
//! multiplied with `i32x4.dot_i16x8_s` against activations stored as i16. With groups of four
//! `k` per column, each dot leaves two partial sums per column; they are folded once per block.
//! The tile runs as two halves of four columns so that its accumulators fit in 16 registers.

use core::arch::wasm32::*;

use super::gemm::{Microkernel, TileInputs};
use super::{GROUPS_PER_BLOCK, KG, MR, NR};

pub struct Simd128;

/// Rows per tile (see [`Microkernel::ROWS`]).
const ROWS: usize = MR;

impl Microkernel for Simd128 {
    type A = i16;
    const ROWS: usize = ROWS;
    const NAME: &'static str = "wasm-simd128-i16-4x8c4";

    fn encode(q: i32) -> i16 {
        q as i16
    }

    fn tile(&self, t: &Tile, out: &mut [f32; MR * NR]) {
        const { assert!(NR == 8 && KG == 4 && ROWS <= MR) };
        for half in 0..2 {
            let mut accf = [f32x4_splat(0.0); ROWS];
            for b in 0..t.whole_blocks() {
                // SAFETY: `b < whole_blocks`: a whole block inside `t`; `half < 2`.
                unsafe { block::<true>(t, &mut accf, half, b, GROUPS_PER_BLOCK) };
            }
            if t.short_groups() > 0 {
                // SAFETY: block `whole_blocks` has `short_groups` groups, the last of `t`; `half < 2`.
                unsafe { short_block(t, &mut accf, half, t.whole_blocks(), t.short_groups()) };
            }
            for (row, v) in out.chunks_exact_mut(NR).zip(accf) {
                // SAFETY: `row[4 half..4 half + 4]` holds the four floats written.
                unsafe { v128_store(row.as_mut_ptr().add(half * 4) as *mut v128, v) };
            }
        }
    }
}

type Tile<'a> = TileInputs<'a, Simd128>;

/// The last block when it is short, out of line so that the hot loop stays small.
///
/// # Safety
/// As [`block`].
#[inline(never)]
unsafe fn short_block(t: &Tile, accf: &mut [v128; ROWS], half: usize, b: usize, groups: usize) {
    // SAFETY: the caller keeps `block`'s contract.
    unsafe { block::<false>(t, accf, half, b, groups) }
}

/// Block `b` (`groups` groups; `WHOLE`: all [`GROUPS_PER_BLOCK`], a constant the compiler
/// unrolls) for columns `4 half..4 half + 4`: integer dot products, folded, then
/// `+= d * (sa * sw)`.
///
/// # Safety
/// `b < t.nb`, `half < 2`, and the groups read, `b * GROUPS_PER_BLOCK ..
/// b * GROUPS_PER_BLOCK + groups` (all [`GROUPS_PER_BLOCK`] when `WHOLE`), within
/// `t.geo.groups`: then every read is inside the ranges `t` checked ([`TileInputs`]).
#[inline(always)]
unsafe fn block<const WHOLE: bool>(t: &Tile, accf: &mut [v128; ROWS], half: usize, b: usize, groups: usize) {
    let (ap, wp) = (t.a.as_ptr(), t.panel.w.as_ptr());
    let mut acc = [[i32x4_splat(0); 2]; ROWS];
    let g0 = b * GROUPS_PER_BLOCK;
    for gg in 0..if WHOLE { GROUPS_PER_BLOCK } else { groups } {
        let g = g0 + gg;
        // SAFETY: group `g` is in the panel; 16 of its `NR * KG` bytes from `16 half`.
        let w = unsafe { v128_load(wp.add(g * NR * KG + half * 16) as *const v128) };
        let (w01, w23) = (i16x8_extend_low_i8x16(w), i16x8_extend_high_i8x16(w));
        for (i, [lo, hi]) in acc.iter_mut().enumerate() {
            // SAFETY: row `i < ROWS`, `KG` i16 values of group `g < groups` (`g * KG + KG <= kp`).
            let x = unsafe { v128_load64_splat(ap.add(i * t.kp + g * KG) as *const u64) };
            *lo = i32x4_add(*lo, i32x4_dot_i16x8(w01, x));
            *hi = i32x4_add(*hi, i32x4_dot_i16x8(w23, x));
        }
    }
    // SAFETY: `b < nb`: four of the block's `NR` scales from `4 half`.
    let sw = unsafe { v128_load(t.panel.scales.as_ptr().add(b * NR + half * 4) as *const v128) };
    for (i, ([lo, hi], accf)) in acc.iter().zip(accf.iter_mut()).enumerate() {
        // [c0 c0' c1 c1'] + [c2 c2' c3 c3'] -> [c0 c1 c2 c3]
        let even = i32x4_shuffle::<0, 2, 4, 6>(*lo, *hi);
        let odd = i32x4_shuffle::<1, 3, 5, 7>(*lo, *hi);
        let d = f32x4_convert_i32x4(i32x4_add(even, odd));
        // SAFETY: row `i < ROWS`, block `b < nb`.
        let sa = unsafe { *t.sa.as_ptr().add(i * t.nb + b) };
        *accf = f32x4_add(*accf, f32x4_mul(d, f32x4_mul(f32x4_splat(sa), sw)));
    }
}
