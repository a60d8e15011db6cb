//! wasm simd128 (every engine with wasm SIMD): weights widened to i16 in registers and
//! multiplied with `i32x4.dot_i16x8_s` against activations stored as i16. With groups of four
//! `k` per column, each dot leaves two partial sums per column; they are folded once per block.
//! The tile runs as two halves of four columns so that its accumulators fit in 16 registers.

use core::arch::wasm32::*;

use super::{each_group, tile_inputs_fit, Geometry, Microkernel, Panel, KG, MR, NR};

pub struct Simd128;

impl Microkernel for Simd128 {
    type A = i16;
    const NAME: &'static str = "wasm-simd128";

    fn encode(q: i32) -> i16 {
        q as i16
    }

    fn tile(&self, a: &[i16], sa: &[f32], panel: &Panel, geo: Geometry, out: &mut [f32; MR * NR]) {
        const _: () = assert!(NR == 8 && KG == 4 && MR == 4);
        let (kp, nb) = (geo.kp(), geo.blocks);
        if !tile_inputs_fit(a, sa, panel, geo, MR) {
            return; // unreachable: the driver sizes every buffer from `geo`
        }
        let ap = a.as_ptr();
        let wp = panel.w.as_ptr();
        // SAFETY: every pointer below stays inside the slices checked above.
        unsafe {
            for half in 0..2 {
                let mut accf = [f32x4_splat(0.0); MR];
                for b in 0..nb {
                    let (g0, g1) = geo.block_groups(b);
                    let mut acc = [[i32x4_splat(0); 2]; MR];
                    let step = |acc: &mut [[v128; 2]; MR], g: usize| {
                        let w = v128_load(wp.add(g * NR * KG + half * 16) as *const v128);
                        let (w01, w23) = (i16x8_extend_low_i8x16(w), i16x8_extend_high_i8x16(w));
                        for (i, acc) in acc.iter_mut().enumerate() {
                            let x = v128_load64_splat(ap.add(i * kp + g * KG) as *const u64);
                            acc[0] = i32x4_add(acc[0], i32x4_dot_i16x8(w01, x));
                            acc[1] = i32x4_add(acc[1], i32x4_dot_i16x8(w23, x));
                        }
                    };
                    each_group(g0, g1, |g| step(&mut acc, g));
                    let sw = v128_load(panel.scales.as_ptr().add(b * NR + half * 4) as *const v128);
                    for i in 0..MR {
                        // [c0 c0' c1 c1'] + [c2 c2' c3 c3'] -> [c0 c1 c2 c3]
                        let even = i32x4_shuffle::<0, 2, 4, 6>(acc[i][0], acc[i][1]);
                        let odd = i32x4_shuffle::<1, 3, 5, 7>(acc[i][0], acc[i][1]);
                        let d = f32x4_convert_i32x4(i32x4_add(even, odd));
                        let t = f32x4_mul(d, f32x4_mul(f32x4_splat(sa[i * nb + b]), sw));
                        accf[i] = f32x4_add(accf[i], t);
                    }
                }
                for (i, v) in accf.iter().enumerate() {
                    v128_store(out.as_mut_ptr().add(i * NR + half * 4) as *mut v128, *v);
                }
            }
        }
    }
}
