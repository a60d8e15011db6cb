//! wasm relaxed SIMD. The second operand of the relaxed dot products is the activations as
//! unsigned 7-bit values (`q + 64` in `1..=127`), where every engine must give the exact sum;
//! the `+64` is taken back by the panel's per-block column sums.
//!
//! Engines lower `i32x4.relaxed_dot_i8x16_i7x16_add` to one instruction where the CPU has one
//! (VNNI `vpdpbusd`, Arm `sdot`); on x86 without VNNI V8 emits `pmaddubsw`, `pmaddwd` against
//! a vector of ones and `paddd`, plus the instructions that build the ones. There
//! `i16x8.relaxed_dot_i8x16_i7x16` (`pmaddubsw` alone) followed by `i32x4.dot_i16x8_s` with the
//! ones kept in a register measured faster (a kernel lab at the 197 x 768 x 3072 shape on this
//! AMD EPYC: median ~17.5 -> ~19.5 GMAC/s). [`one_step_dot`] tells the two kinds of engine
//! apart once, by a result that differs between them; both paths give the same sums on our
//! operands (`2 * 127 * 127` fits in i16, so `pmaddubsw` never saturates).

use core::arch::wasm32::*;
use std::sync::OnceLock;

use super::{each_group, tile_inputs_fit, Geometry, Microkernel, Panel, ACT_ZERO, KG, MR, NR};

/// The relaxed-SIMD microkernel: `None` picks the dot-product form for this engine (see
/// [`one_step_dot`]); `Some(one_step)` forces one, for tests that check both on one machine.
pub struct Relaxed(pub Option<bool>);

impl Microkernel for Relaxed {
    type A = u8;
    const OFFSETS: bool = true;
    const NAME: &'static str = "wasm-relaxed-simd";

    fn encode(q: i32) -> u8 {
        (q + ACT_ZERO) as u8
    }

    fn tile(&self, a: &[u8], sa: &[f32], panel: &Panel, geo: Geometry, out: &mut [f32; MR * NR]) {
        if !tile_inputs_fit(a, sa, panel, geo) {
            return; // unreachable: the driver sizes every buffer from `geo`
        }
        // SAFETY: lengths checked above.
        unsafe {
            if self.0.unwrap_or_else(one_step_dot) {
                tile::<true>(a, sa, panel, geo, out)
            } else {
                tile::<false>(a, sa, panel, geo, out)
            }
        }
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

/// The `MR x NR` tile. `ONE_STEP`: `relaxed_dot_add` per 16 products; otherwise the
/// three-instruction form (see the module docs). Full blocks run unrolled ([`each_group`]).
///
/// # Safety
/// The inputs must have the lengths [`tile_inputs_fit`] checks.
#[inline(always)]
unsafe fn tile<const ONE_STEP: bool>(a: &[u8], sa: &[f32], panel: &Panel, geo: Geometry, out: &mut [f32; MR * NR]) {
    const _: () = assert!(NR == 8 && KG == 4 && MR == 4);
    let (kp, nb) = (geo.kp(), geo.blocks);
    let ap = a.as_ptr();
    let wp = panel.w.as_ptr();
    let ones = i16x8_splat(1);
    let mut accf = [[f32x4_splat(0.0); 2]; MR];
    let step = |acc: &mut [[v128; 2]; MR], g: usize| {
        let w0 = v128_load(wp.add(g * NR * KG) as *const v128);
        let w1 = v128_load(wp.add(g * NR * KG + 16) as *const v128);
        for (i, acc) in acc.iter_mut().enumerate() {
            let x = v128_load32_splat(ap.add(i * kp + g * KG) as *const u32);
            if ONE_STEP {
                acc[0] = i32x4_relaxed_dot_i8x16_i7x16_add(w0, x, acc[0]);
                acc[1] = i32x4_relaxed_dot_i8x16_i7x16_add(w1, x, acc[1]);
            } else {
                acc[0] = i32x4_add(acc[0], i32x4_dot_i16x8(i16x8_relaxed_dot_i8x16_i7x16(w0, x), ones));
                acc[1] = i32x4_add(acc[1], i32x4_dot_i16x8(i16x8_relaxed_dot_i8x16_i7x16(w1, x), ones));
            }
        }
    };
    for b in 0..nb {
        let (g0, g1) = geo.block_groups(b);
        let op = panel.offsets.as_ptr().add(b * NR) as *const v128;
        let off = [v128_load(op), v128_load(op.add(1))];
        let mut acc = [off; MR];
        each_group(g0, g1, |g| step(&mut acc, g));
        let sp = panel.scales.as_ptr().add(b * NR) as *const v128;
        let sw = [v128_load(sp), v128_load(sp.add(1))];
        for i in 0..MR {
            let s = f32x4_splat(sa[i * nb + b]);
            for h in 0..2 {
                let t = f32x4_mul(f32x4_convert_i32x4(acc[i][h]), f32x4_mul(s, sw[h]));
                accf[i][h] = f32x4_add(accf[i][h], t);
            }
        }
    }
    for (i, row) in accf.iter().enumerate() {
        v128_store(out.as_mut_ptr().add(i * NR) as *mut v128, row[0]);
        v128_store(out.as_mut_ptr().add(i * NR + 4) as *mut v128, row[1]);
    }
}
