//! The q8 product written as plainly as possible, for tests: every kernel must match it bit
//! for bit (see the module docs of [`crate::kernels`] for the arithmetic).

use super::gemm::{quantize_activations, Geometry};
use super::ActPrecision;
use crate::quant::{QuantMatrix, BLOCK};

/// `y = x W^T + b`, `m x n` row-major, one output at a time.
pub fn matmul(x: &[f32], m: usize, w: &QuantMatrix, bias: Option<&[f32]>, precision: ActPrecision) -> Vec<f32> {
    let (n, k) = (w.rows, w.cols);
    let geo = Geometry::new(k);
    let (kp, nb) = (geo.kp(), geo.blocks);
    let act = quantize_activations(x, m, geo, precision, 1, |q| q);
    let mut out = vec![0f32; m * n];
    for r in 0..m {
        for c in 0..n {
            let mut acc = 0f32;
            for b in 0..nb {
                let range = b * BLOCK..((b + 1) * BLOCK).min(k);
                let dot: i32 = range.map(|i| act.values[r * kp + i] * w.data[c * k + i] as i8 as i32).sum();
                acc += dot as f32 * (act.scales[r * nb + b] * w.scales.get(c * nb + b));
            }
            out[r * n + c] = match bias {
                Some(bias) => acc + bias[c],
                None => acc,
            };
        }
    }
    out
}
