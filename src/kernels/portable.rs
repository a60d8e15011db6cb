//! The microkernel in plain Rust, for any target and either activation precision (i16 values).

use super::gemm::{Microkernel, TileInputs};
use super::{KG, MR, NR};

pub struct Portable;

impl Microkernel for Portable {
    type A = i16;
    const NAME: &'static str = "portable-i16-4x8c4";

    fn encode(q: i32) -> i16 {
        q as i16
    }

    /// Signed activations: no column-sum correction needed.
    fn tile(&self, t: &TileInputs<'_, Self>, out: &mut [f32; MR * NR]) {
        let (kp, nb, panel) = (t.kp, t.nb, t.panel);
        let mut accf = [[0f32; NR]; MR];
        for b in 0..nb {
            let (g0, g1) = t.geo.block_groups(b);
            let mut acc = [[0i32; NR]; MR];
            for g in g0..g1 {
                let w = &panel.w[g * NR * KG..(g + 1) * NR * KG];
                for (i, acc) in acc.iter_mut().enumerate() {
                    let x = &t.a[i * kp + g * KG..i * kp + g * KG + KG];
                    for (j, acc) in acc.iter_mut().enumerate() {
                        let wj = &w[j * KG..j * KG + KG];
                        *acc += (0..KG).map(|u| x[u] as i32 * wj[u] as i8 as i32).sum::<i32>();
                    }
                }
            }
            for i in 0..MR {
                for j in 0..NR {
                    accf[i][j] += acc[i][j] as f32 * (t.sa[i * nb + b] * panel.scales[b * NR + j]);
                }
            }
        }
        for i in 0..MR {
            out[i * NR..(i + 1) * NR].copy_from_slice(&accf[i]);
        }
    }
}
