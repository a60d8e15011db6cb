//! wasm relaxed SIMD: `i32x4.relaxed_dot_i8x16_i7x16_add` (VNNI where the CPU has it,
//! `pmaddubsw` + `pmaddwd` elsewhere). Its second operand is the activations as unsigned
//! 7-bit values (`q + 64` in `1..=127`), where every engine must give the exact sum; the
//! `+64` is taken back by the panel's per-block column sums.

use core::arch::wasm32::*;

use super::{tile_inputs_fit, Geometry, Microkernel, Panel, ACT_ZERO, KG, MR, NR};

pub struct Relaxed;

impl Microkernel for Relaxed {
    type A = u8;
    const OFFSETS: bool = true;
    const NAME: &'static str = "wasm-relaxed-simd";

    fn encode(q: i32) -> u8 {
        (q + ACT_ZERO) as u8
    }

    fn tile(&self, a: &[u8], sa: &[f32], panel: &Panel, geo: Geometry, out: &mut [f32; MR * NR]) {
        const _: () = assert!(NR == 8 && KG == 4 && MR == 4);
        let (kp, nb) = (geo.kp(), geo.blocks);
        if !tile_inputs_fit(a, sa, panel, geo) {
            return; // unreachable: the driver sizes every buffer from `geo`
        }
        let ap = a.as_ptr();
        let wp = panel.w.as_ptr();
        let mut accf = [[f32x4_splat(0.0); 2]; MR];
        // SAFETY: every pointer below stays inside the slices checked above.
        unsafe {
            for b in 0..nb {
                let (g0, g1) = geo.block_groups(b);
                let op = panel.offsets.as_ptr().add(b * NR) as *const v128;
                let off = [v128_load(op), v128_load(op.add(1))];
                let mut acc = [off; MR];
                for g in g0..g1 {
                    let w0 = v128_load(wp.add(g * NR * KG) as *const v128);
                    let w1 = v128_load(wp.add(g * NR * KG + 16) as *const v128);
                    for (i, acc) in acc.iter_mut().enumerate() {
                        let x = v128_load32_splat(ap.add(i * kp + g * KG) as *const u32);
                        acc[0] = i32x4_relaxed_dot_i8x16_i7x16_add(w0, x, acc[0]);
                        acc[1] = i32x4_relaxed_dot_i8x16_i7x16_add(w1, x, acc[1]);
                    }
                }
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
    }
}
