//! wasm relaxed SIMD. The second operand of the relaxed dot products is the activations as
//! unsigned 7-bit values (`q + 64` in `1..=127`), where every engine must give the exact sum;
//! the `+64` is taken back by the panel's per-block column sums.
//!
//! Engines lower `i32x4.relaxed_dot_i8x16_i7x16_add` to one instruction where the CPU has one
//! (VNNI `vpdpbusd`, Arm `sdot`); on x86 without VNNI V8 emits `pmaddubsw`, `pmaddwd` against
//! a vector of ones and `paddd`, plus the instructions that build the ones. There
//! `i16x8.relaxed_dot_i8x16_i7x16` (`pmaddubsw` alone) followed by `i32x4.dot_i16x8_s` with the
//! ones kept in a register measured faster (a kernel lab at the 197 x 768 x 3072 shape on an
//! AMD EPYC without VNNI: median ~17.5 -> ~19.5 GMAC/s). [`one_step_dot`] tells the two kinds
//! of engine apart once, by a result that differs between them; both paths give the same sums
//! on our operands (`2 * 127 * 127` fits in i16, so `pmaddubsw` never saturates).

use core::arch::wasm32::*;
use std::sync::OnceLock;

use super::gemm::{Microkernel, TileInputs};
use super::{ACT_ZERO, GROUPS_PER_BLOCK, KG, MR, NR};

/// The relaxed-SIMD microkernel in one dot-product form: `ONE_STEP` (what VNNI and Arm engines
/// run) or the three-instruction form (see the module docs); [`super::runnable`] ranks the
/// engine's faster form first with [`one_step_dot`], tests run both.
///
/// The two-step form takes tiles of [`TWO_STEP_ROWS`]: with 4 rows, its accumulators, operands,
/// the vector of ones and the temporaries need more than the 15 vector registers V8 allocates on
/// x64, and it spilled an accumulator every group. With 3, one image took 0.88x the time
/// (Chromium 156, median of 20 paired runs, 17 faster). The one-step form needs neither the ones
/// nor the temporaries and keeps 4 rows.
pub struct Relaxed<const ONE_STEP: bool>;

/// Rows per tile of the two-step form.
const TWO_STEP_ROWS: usize = 3;

/// The one-step form, 4-row tiles.
impl Microkernel for Relaxed<true> {
    type A = u8;
    const ROWS: usize = MR;
    const UNSIGNED_INT7: bool = true;
    const NAME: &'static str = "wasm-relaxed-u7-4x8c4-dot";

    fn encode(q: i32) -> u8 {
        (q + ACT_ZERO) as u8
    }

    fn tile(&self, t: &TileInputs<'_, Self>, out: &mut [f32; MR * NR]) {
        tile::<true, MR>(t, out)
    }
}

/// The two-step form, 3-row tiles.
impl Microkernel for Relaxed<false> {
    type A = u8;
    const ROWS: usize = TWO_STEP_ROWS;
    const UNSIGNED_INT7: bool = true;
    const NAME: &'static str = "wasm-relaxed-u7-3x8c4-madd";

    fn encode(q: i32) -> u8 {
        (q + ACT_ZERO) as u8
    }

    fn tile(&self, t: &TileInputs<'_, Self>, out: &mut [f32; MR * NR]) {
        tile::<false, TWO_STEP_ROWS>(t, out)
    }
}

/// Whether this engine's `i32x4.relaxed_dot_i8x16_i7x16_add` is a single dot-product
/// instruction (it sums four products in i32) rather than `pmaddubsw`'s pairs saturated to i16.
/// Probed with operands outside the deterministic range, where the two differ: 255 x 127 summed
/// four times is 129540 with VNNI; `pmaddubsw` saturates each pair at 32767; Arm's signed
/// reading gives -508.
pub fn one_step_dot() -> bool {
    static ONE_STEP: OnceLock<bool> = OnceLock::new();
    *ONE_STEP.get_or_init(|| {
        let w = std::hint::black_box(i8x16_splat(127));
        let x = std::hint::black_box(u8x16_splat(255));
        let d = i32x4_relaxed_dot_i8x16_i7x16_add(w, x, i32x4_splat(0));
        i32x4_extract_lane::<0>(d) != 2 * 32767
    })
}

/// The `R x NR` tile (`R`: the kernel's rows), into the first `R * NR` outputs: the whole
/// blocks, each with a loop of constant trip count, then a short last block (`k` not a multiple
/// of 32) out of line. Kept in this shape because V8's code for it measured fastest (a closure
/// per group, or one loop for both kinds of block, ran 5-10 % slower in paired runs).
#[inline(always)]
fn tile<const ONE_STEP: bool, const R: usize>(t: &Tile<ONE_STEP>, out: &mut [f32; MR * NR])
where
    Relaxed<ONE_STEP>: Microkernel,
{
    // `R` is the rows `t` was checked for.
    const { assert!(NR == 8 && KG == 4 && R == <Relaxed<ONE_STEP> as Microkernel>::ROWS) };
    let mut accf = [[f32x4_splat(0.0); 2]; R];
    for b in 0..t.whole_blocks() {
        // SAFETY: `b < whole_blocks`: a whole block inside `t`, of `R` checked rows.
        unsafe { block::<ONE_STEP, R, true>(t, &mut accf, b, GROUPS_PER_BLOCK) };
    }
    if t.short_groups() > 0 {
        // SAFETY: block `whole_blocks` has `short_groups` groups, the last of `t`.
        unsafe { short_block::<ONE_STEP, R>(t, &mut accf, t.whole_blocks(), t.short_groups()) };
    }
    for (row, [lo, hi]) in out.chunks_exact_mut(NR).zip(accf) {
        // SAFETY: `row` holds the `NR` (8) floats written.
        unsafe {
            v128_store(row.as_mut_ptr() as *mut v128, lo);
            v128_store(row.as_mut_ptr().add(4) as *mut v128, hi);
        }
    }
}

type Tile<'a, const ONE_STEP: bool> = TileInputs<'a, Relaxed<ONE_STEP>>;

/// The last block when it is short, out of line so that the hot loop stays small.
///
/// # Safety
/// As [`block`].
#[inline(never)]
unsafe fn short_block<const ONE_STEP: bool, const R: usize>(
    t: &Tile<ONE_STEP>,
    accf: &mut [[v128; 2]; R],
    b: usize,
    groups: usize,
) where
    Relaxed<ONE_STEP>: Microkernel,
{
    // SAFETY: the caller keeps `block`'s contract.
    unsafe { block::<ONE_STEP, R, false>(t, accf, b, groups) }
}

/// Block `b` (`groups` groups; `WHOLE`: all [`GROUPS_PER_BLOCK`], a constant the compiler
/// unrolls) of the tile: integer dot products from the panel's offsets, then `+= d * (sa * sw)`.
///
/// # Safety
/// `R` is the rows `t` was checked for, `b < t.nb`, and the groups read, `b * GROUPS_PER_BLOCK
/// .. b * GROUPS_PER_BLOCK + groups` (all [`GROUPS_PER_BLOCK`] when `WHOLE`), within
/// `t.geo.groups`: then every read is inside the ranges `t` checked ([`TileInputs`]).
#[inline(always)]
unsafe fn block<const ONE_STEP: bool, const R: usize, const WHOLE: bool>(
    t: &Tile<ONE_STEP>,
    accf: &mut [[v128; 2]; R],
    b: usize,
    groups: usize,
) where
    Relaxed<ONE_STEP>: Microkernel,
{
    let (ap, wp, kp) = (t.a.as_ptr(), t.panel.w.as_ptr(), t.kp);
    let ones = i16x8_splat(1);
    // SAFETY: `b < nb`: the block's `NR` offsets.
    let off = unsafe {
        let op = t.panel.offsets.as_ptr().add(b * NR) as *const v128;
        [v128_load(op), v128_load(op.add(1))]
    };
    let mut acc = [off; R];
    let g0 = b * GROUPS_PER_BLOCK;
    for gg in 0..if WHOLE { GROUPS_PER_BLOCK } else { groups } {
        let g = g0 + gg;
        // SAFETY: group `g` is in the panel: its `NR * KG` (32) bytes.
        let (w0, w1) = unsafe {
            (v128_load(wp.add(g * NR * KG) as *const v128), v128_load(wp.add(g * NR * KG + 16) as *const v128))
        };
        for (i, acc) in acc.iter_mut().enumerate() {
            // SAFETY: row `i < R`, the `KG` bytes of group `g` (`g * KG + KG <= kp`).
            let x = unsafe { v128_load32_splat(ap.add(i * kp + g * KG) as *const u32) };
            if ONE_STEP {
                acc[0] = i32x4_relaxed_dot_i8x16_i7x16_add(w0, x, acc[0]);
                acc[1] = i32x4_relaxed_dot_i8x16_i7x16_add(w1, x, acc[1]);
            } else {
                acc[0] = i32x4_add(acc[0], i32x4_dot_i16x8(i16x8_relaxed_dot_i8x16_i7x16(w0, x), ones));
                acc[1] = i32x4_add(acc[1], i32x4_dot_i16x8(i16x8_relaxed_dot_i8x16_i7x16(w1, x), ones));
            }
        }
    }
    // SAFETY: `b < nb`: the block's `NR` scales.
    let sw = unsafe {
        let sp = t.panel.scales.as_ptr().add(b * NR) as *const v128;
        [v128_load(sp), v128_load(sp.add(1))]
    };
    for (i, (acc, accf)) in acc.iter().zip(accf.iter_mut()).enumerate() {
        // SAFETY: row `i < R`, block `b < nb`.
        let s = f32x4_splat(unsafe { *t.sa.as_ptr().add(i * t.nb + b) });
        for h in 0..2 {
            let d = f32x4_mul(f32x4_convert_i32x4(acc[h]), f32x4_mul(s, sw[h]));
            accf[h] = f32x4_add(accf[h], d);
        }
    }
}
