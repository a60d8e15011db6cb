//! A small f32 matrix product for attention (`q kᵀ` and `p v` per head), on strided views so
//! that heads are read in place from the `[tokens, heads * head_dim]` projections; and
//! [`linear`], `x Wᵀ + b` for f32 weights read in place from the model file.
//!
//! One register tile of [`MR`] x [`NR`] outputs is accumulated over the whole inner dimension
//! with plain arrays the compiler turns into SIMD (wasm simd128, SSE natively): per step one
//! row of `B` (two 4-lane vectors) and [`MR`] broadcast values of `A`. Each output is the sum
//! over `p` in order, `c += a[i][p] * b[p][j]`, a multiply then an add (no fused multiply-add),
//! so every build gives the same bits. Edge tiles are computed on zero-padded copies.

/// Rows per tile.
const MR: usize = 4;
/// Columns per tile.
const NR: usize = 8;
// `linear` takes its column ranges from the q8 products' split, which cuts at their panels.
const _: () = assert!(NR == super::NR);

/// A row-major matrix view: `rows x cols` values, row `r` starting at `r * stride`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub stride: usize,
}

impl<'a> View<'a> {
    /// Whether every row fits in `data` (`stride >= cols`).
    fn fits(&self) -> bool {
        self.rows == 0
            || (self.stride >= self.cols
                && (self.rows - 1).checked_mul(self.stride).and_then(|s| s.checked_add(self.cols))
                    <= Some(self.data.len()))
    }

    fn row(&self, r: usize) -> &'a [f32] {
        &self.data[r * self.stride..r * self.stride + self.cols]
    }
}

/// `C = A B` into `c` (`a.rows x b.cols`, row stride `ldc`); `None` if the shapes disagree or a
/// view does not fit its slice.
pub fn matmul(a: View<'_>, b: View<'_>, c: &mut [f32], ldc: usize) -> Option<()> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let c_fits = m == 0 || (ldc >= n && (m - 1).checked_mul(ldc)?.checked_add(n)? <= c.len());
    if b.rows != k || !a.fits() || !b.fits() || !c_fits {
        return None;
    }
    // Zero-padded copies for edge tiles: `[k][NR]` columns of B, `[MR][k]` rows of A.
    let mut bpad = Vec::new();
    let mut apad = Vec::new();
    for j0 in (0..n).step_by(NR) {
        let cols = NR.min(n - j0);
        let panel: View<'_> = if cols == NR {
            View { data: &b.data[j0..], rows: k, cols: NR, stride: b.stride }
        } else {
            bpad.clear();
            bpad.resize(k * NR, 0.0);
            for p in 0..k {
                bpad[p * NR..p * NR + cols].copy_from_slice(&b.row(p)[j0..j0 + cols]);
            }
            View { data: &bpad, rows: k, cols: NR, stride: NR }
        };
        for i0 in (0..m).step_by(MR) {
            let rows = MR.min(m - i0);
            let block: View<'_> = if rows == MR {
                View { data: &a.data[i0 * a.stride..], rows: MR, cols: k, stride: a.stride }
            } else {
                apad.clear();
                apad.resize(MR * k, 0.0);
                for i in 0..rows {
                    apad[i * k..(i + 1) * k].copy_from_slice(a.row(i0 + i));
                }
                View { data: &apad, rows: MR, cols: k, stride: k }
            };
            let tile = tile(block, panel)?;
            for (i, row) in tile.iter().enumerate().take(rows) {
                let at = (i0 + i) * ldc + j0;
                c[at..at + cols].copy_from_slice(&row[..cols]);
            }
        }
    }
    Some(())
}

/// `y = x Wᵀ + b` for `x` (`m x k`) and an f32 weight `w` (`n x k`, row-major as a linear
/// layer stores it), `m x n` row-major; `None` if the lengths disagree with the shape.
///
/// From [`MR`] rows up, each panel of [`NR`] rows of `W` is transposed into a `[k][NR]` buffer
/// and run through [`matmul`] (so each output is the in-order sum, as there); panels are split
/// across threads as the q8 products split theirs ([`super::by_column_ranges`]). Fewer rows (the pooling head's single probe) take dot products in
/// [`LANES`] interleaved partial sums, a fixed order on every build.
pub fn linear(x: &[f32], m: usize, w: &[f32], n: usize, k: usize, bias: Option<&[f32]>) -> Option<Vec<f32>> {
    use rayon::prelude::*;
    if Some(x.len()) != m.checked_mul(k) || Some(w.len()) != n.checked_mul(k) || bias.is_some_and(|b| b.len() != n) {
        return None;
    }
    let mut out = vec![0f32; m.checked_mul(n)?];
    if m == 0 || n == 0 {
        return Some(out);
    }
    if m < MR || k == 0 {
        for (xr, yr) in x.chunks_exact(k.max(1)).zip(out.chunks_exact_mut(n)) {
            yr.par_iter_mut().zip(w.par_chunks(k.max(1))).for_each(|(y, wr)| *y = dot(xr, wr));
        }
    } else {
        let a = View { data: x, rows: m, cols: k, stride: k };
        let ranges = super::by_column_ranges(m, n, &mut out, |(c0, c1), part| {
            let mut panel = vec![0f32; k * NR];
            for j0 in (c0..c1).step_by(NR) {
                let cols = NR.min(c1 - j0);
                for (j, wr) in w[j0 * k..(j0 + cols) * k].chunks_exact(k).enumerate() {
                    for (p, v) in wr.iter().enumerate() {
                        panel[p * NR + j] = *v;
                    }
                }
                let b = View { data: &panel, rows: k, cols, stride: NR };
                // Shapes are consistent by construction; `matmul` checks them again.
                matmul(a, b, &mut part[j0 - c0..], c1 - c0)
                    .ok_or_else(|| crate::Error::Input("internal: f32 linear panel does not fit".into()))?;
            }
            Ok(())
        });
        ranges.ok()?;
    }
    if let Some(b) = bias {
        out.chunks_exact_mut(n).for_each(|row| row.iter_mut().zip(b).for_each(|(y, b)| *y += b));
    }
    Some(out)
}

/// Partial sums per output in [`linear`]'s dot products.
const LANES: usize = 8;

/// `Σ a·b` over [`LANES`] interleaved partial sums (lane `i` takes every `LANES`-th product
/// from `i`), then the lanes in order, then the tail.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).fold(0.0, |s, (x, y)| s + x * y);
    for (x, y) in ca.zip(cb) {
        for ((s, x), y) in acc.iter_mut().zip(x).zip(y) {
            *s += x * y;
        }
    }
    acc.into_iter().fold(0.0, |s, v| s + v) + tail
}

/// One `MR x NR` tile: `a` is `MR x k`, `b` is `k x NR` (both checked by the caller; `None`
/// if not).
#[inline(always)]
fn tile(a: View<'_>, b: View<'_>) -> Option<[[f32; NR]; MR]> {
    let k = a.cols;
    let mut acc = [[0f32; NR]; MR];
    // Rows cut to exactly `k` values, so the loop below needs no bounds checks.
    let rows: [&[f32]; MR] = std::array::from_fn(|i| a.row(i));
    if rows.iter().any(|r| r.len() != k) {
        return None;
    }
    for (p, bp) in b.data.chunks(b.stride).take(k).enumerate() {
        let bp = bp.first_chunk::<NR>()?;
        for (acc, row) in acc.iter_mut().zip(&rows) {
            let x = row[p];
            for (c, w) in acc.iter_mut().zip(bp) {
                *c += x * w;
            }
        }
    }
    Some(acc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::bench::pseudo_random as values;

    #[test]
    fn matches_a_plain_triple_loop_on_strided_views_and_edges() {
        for (m, k, n) in [(1, 1, 1), (4, 64, 8), (5, 3, 13), (196, 64, 196), (7, 196, 64), (0, 4, 4), (3, 0, 5)] {
            let (lda, ldb, ldc) = (k + 3, n + 5, n + 2);
            let a = values(m * lda, 1);
            let b = values(k * ldb, 2);
            let mut c = vec![f32::NAN; m * ldc];
            let av = View { data: &a, rows: m, cols: k, stride: lda };
            let bv = View { data: &b, rows: k, cols: n, stride: ldb };
            matmul(av, bv, &mut c, ldc).expect("shapes agree");
            for i in 0..m {
                for j in 0..n {
                    // Same order of operations as the kernel: exact equality.
                    let want = (0..k).fold(0f32, |s, p| s + a[i * lda + p] * b[p * ldb + j]);
                    assert_eq!(c[i * ldc + j], want, "({m}x{k}x{n}) at {i},{j}");
                }
                assert!(c[i * ldc + n..(i + 1) * ldc].iter().all(|v| v.is_nan()), "wrote past the row");
            }
        }
    }

    #[test]
    fn linear_matches_the_definition_in_f64() {
        // Rows below MR take dot products, from MR up the transposed panels; ragged n and k.
        for (m, k, n) in [(1, 768, 37), (3, 33, 9), (4, 64, 8), (197, 70, 21), (5, 1, 3), (2, 0, 4), (0, 5, 5)] {
            let x = values(m * k, 3);
            let w = values(n * k, 4);
            let bias = values(n, 5);
            let y = linear(&x, m, &w, n, k, Some(&bias)).expect("shapes agree");
            for i in 0..m {
                for j in 0..n {
                    let want = (0..k).map(|p| x[i * k + p] as f64 * w[j * k + p] as f64).sum::<f64>() + bias[j] as f64;
                    let got = y[i * n + j];
                    // f32 sums of k products of values in [-1, 1]: within k ulps of 1.
                    assert!(
                        (got as f64 - want).abs() <= 1e-6 * (k as f64 + 1.0),
                        "({m}x{k}x{n}) at {i},{j}: {got} vs {want}"
                    );
                }
            }
            if m >= MR {
                // Exactly the in-order sum, as `matmul` (the panel path).
                for (i, j) in [(0, 0), (m - 1, n - 1)] {
                    let want = (0..k).fold(0f32, |s, p| s + x[i * k + p] * w[j * k + p]) + bias[j];
                    assert_eq!(y[i * n + j], want);
                }
            }
        }
        assert!(linear(&[0.0; 6], 2, &[0.0; 6], 2, 3, Some(&[0.0; 3])).is_none(), "bias of the wrong length");
        assert!(linear(&[0.0; 5], 2, &[0.0; 6], 2, 3, None).is_none(), "x of the wrong length");
    }

    #[test]
    fn refuses_views_that_do_not_fit() {
        let a = vec![0f32; 10];
        let mut c = vec![0f32; 16];
        let v = |rows, cols, stride| View { data: &a, rows, cols, stride };
        assert!(matmul(v(2, 5, 5), v(5, 2, 2), &mut c, 2).is_some());
        assert!(matmul(v(3, 5, 5), v(5, 2, 2), &mut c, 2).is_none(), "A past its slice");
        assert!(matmul(v(2, 5, 5), v(4, 2, 2), &mut c, 2).is_none(), "inner dimensions differ");
        assert!(matmul(v(2, 5, 4), v(5, 2, 2), &mut c, 2).is_none(), "stride below width");
        assert!(matmul(v(2, 5, 5), v(5, 2, 2), &mut c[..3], 2).is_none(), "C too small");
    }
}
