//! The microkernel in plain Rust, for any target and either activation precision (i16 values).

use super::{Geometry, Microkernel, Panel, KG, MR, NR};

pub struct Portable;

impl Microkernel for Portable {
    type A = i16;
    const NAME: &'static str = "portable";

    fn encode(q: i32) -> i16 {
        q as i16
    }

    fn tile(&self, a: &[i16], sa: &[f32], panel: &Panel, geo: Geometry, out: &mut [f32; MR * NR]) {
        tile(a, sa, panel, geo, out)
    }
}

/// Signed activations: no column-sum correction needed.
pub fn tile(a: &[i16], sa: &[f32], panel: &Panel, geo: Geometry, out: &mut [f32; MR * NR]) {
    let (kp, nb) = (geo.kp(), geo.blocks);
    let mut accf = [[0f32; NR]; MR];
    for b in 0..nb {
        let (g0, g1) = geo.block_groups(b);
        let mut acc = [[0i32; NR]; MR];
        for g in g0..g1 {
            let w: &[u8; NR * KG] = panel.w[g * NR * KG..(g + 1) * NR * KG].try_into().unwrap_or(&[0; NR * KG]);
            for (i, acc) in acc.iter_mut().enumerate() {
                let x = &a[i * kp + g * KG..i * kp + g * KG + KG];
                for (j, acc) in acc.iter_mut().enumerate() {
                    let wj = &w[j * KG..j * KG + KG];
                    *acc += (0..KG).map(|t| x[t] as i32 * wj[t] as i8 as i32).sum::<i32>();
                }
            }
        }
        for i in 0..MR {
            for j in 0..NR {
                accf[i][j] += acc[i][j] as f32 * (sa[i * nb + b] * panel.scales[b * NR + j]);
            }
        }
    }
    for i in 0..MR {
        out[i * NR..(i + 1) * NR].copy_from_slice(&accf[i]);
    }
}
