//! wasm simd128 (every engine with wasm SIMD): weights widened to i16 in registers and
//! multiplied with `i32x4.dot_i16x8_s` against activations stored as i16. With groups of four
//! `k` per column, each dot leaves two partial sums per column; they are folded once per block.
//! The tile runs as two halves of four columns so that its accumulators fit in 16 registers.

use core::arch::wasm32::*;

use super::{tile_inputs_fit, Geometry, Microkernel, Panel, GROUPS_PER_BLOCK, KG, MR, NR};

pub struct Simd128;

/// Rows per tile (see [`Microkernel::ROWS`]).
const ROWS: usize = MR;

impl Microkernel for Simd128 {
    type A = i16;
    const ROWS: usize = ROWS;
    const NAME: &'static str = "wasm-simd128";

    fn encode(q: i32) -> i16 {
        q as i16
    }

    fn tile(&self, a: &[i16], sa: &[f32], panel: &Panel, geo: Geometry, out: &mut [f32; MR * NR]) {
        const { assert!(NR == 8 && KG == 4 && ROWS <= MR) };
        if !tile_inputs_fit(a, sa, panel, geo, ROWS) {
            return; // unreachable: the driver sizes every buffer from `geo`
        }
        let t = Tile { a: a.as_ptr(), sa: sa.as_ptr(), panel, kp: geo.kp(), nb: geo.blocks };
        let whole = geo.groups / GROUPS_PER_BLOCK;
        // SAFETY: every pointer below stays inside the slices checked above.
        unsafe {
            for half in 0..2 {
                let mut accf = [f32x4_splat(0.0); ROWS];
                for b in 0..whole {
                    block::<true>(&t, &mut accf, half, b, GROUPS_PER_BLOCK);
                }
                if whole < t.nb {
                    let (g0, g1) = geo.block_groups(whole);
                    short_block(&t, &mut accf, half, whole, g1 - g0);
                }
                for (i, v) in accf.iter().enumerate() {
                    v128_store(out.as_mut_ptr().add(i * NR + half * 4) as *mut v128, *v);
                }
            }
        }
    }
}

/// A tile's inputs as raw pointers (checked in [`Simd128::tile`]).
struct Tile<'a> {
    a: *const i16,
    sa: *const f32,
    panel: &'a Panel,
    kp: usize,
    nb: usize,
}

/// The last block when it is short, out of line so that the hot loop stays small.
///
/// # Safety
/// As [`block`].
#[inline(never)]
unsafe fn short_block(t: &Tile, accf: &mut [v128; ROWS], half: usize, b: usize, groups: usize) {
    block::<false>(t, accf, half, b, groups)
}

/// Block `b` (`groups` groups; `WHOLE`: all [`GROUPS_PER_BLOCK`], a constant the compiler
/// unrolls) for columns `4 half..4 half + 4`: integer dot products, folded, then
/// `+= d * (sa * sw)`.
///
/// # Safety
/// The tile's inputs must have the lengths [`tile_inputs_fit`] checks.
#[inline(always)]
unsafe fn block<const WHOLE: bool>(t: &Tile, accf: &mut [v128; ROWS], half: usize, b: usize, groups: usize) {
    let wp = t.panel.w.as_ptr();
    let mut acc = [[i32x4_splat(0); 2]; ROWS];
    let g0 = b * GROUPS_PER_BLOCK;
    for gg in 0..if WHOLE { GROUPS_PER_BLOCK } else { groups } {
        let g = g0 + gg;
        let w = v128_load(wp.add(g * NR * KG + half * 16) as *const v128);
        let (w01, w23) = (i16x8_extend_low_i8x16(w), i16x8_extend_high_i8x16(w));
        for (i, [lo, hi]) in acc.iter_mut().enumerate() {
            let x = v128_load64_splat(t.a.add(i * t.kp + g * KG) as *const u64);
            *lo = i32x4_add(*lo, i32x4_dot_i16x8(w01, x));
            *hi = i32x4_add(*hi, i32x4_dot_i16x8(w23, x));
        }
    }
    let sw = v128_load(t.panel.scales.as_ptr().add(b * NR + half * 4) as *const v128);
    for (i, ([lo, hi], accf)) in acc.iter().zip(accf.iter_mut()).enumerate() {
        // [c0 c0' c1 c1'] + [c2 c2' c3 c3'] -> [c0 c1 c2 c3]
        let even = i32x4_shuffle::<0, 2, 4, 6>(*lo, *hi);
        let odd = i32x4_shuffle::<1, 3, 5, 7>(*lo, *hi);
        let d = f32x4_convert_i32x4(i32x4_add(even, odd));
        *accf = f32x4_add(*accf, f32x4_mul(d, f32x4_mul(f32x4_splat(*t.sa.add(i * t.nb + b)), sw)));
    }
}
