//! The CPU reference's sgemm gives matrixmultiply's bits. On a CPU with AVX-512F, or with AVX2
//! and FMA, it runs its own tiles (8 x 48 or 4 x 24, B packed in panels), which must sum
//! every element in matrixmultiply's order: the CPU trainer's, the kNN's and the GPU tests'
//! oracle bits depend on it. Elsewhere it is matrixmultiply itself, and these tests only check
//! the dispatch (each prints which sgemm it checked).

mod common;

use aeclust::reference::{
    columns_grouped_by_zeros, gemm, gemm_packed_skipping_zeros_into, gemm_skipping_zeros_into,
    rows_grouped_by_zeros, sgemm_name, PackedB, CHAIN_DEPTH,
};
use common::{rng, uniform};

/// matrixmultiply's C = op(A) op(B) for row-major operands.
fn matrixmultiply_gemm(
    trans_a: bool,
    trans_b: bool,
    a: &[f32],
    b: &[f32],
    (m, n, k): (usize, usize, usize),
) -> Vec<f32> {
    let mut c = vec![f32::NAN; m * n];
    let (rsa, csa) = if trans_a { (1, m) } else { (k, 1) };
    let (rsb, csb) = if trans_b { (1, k) } else { (n, 1) };
    // SAFETY: the strides address exactly a (m x k), b (k x n) and c (m x n).
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa as isize,
            csa as isize,
            b.as_ptr(),
            rsb as isize,
            csb as isize,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
    c
}

fn same_bits(x: f32, y: f32) -> bool {
    x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
}

/// Fails, naming the first element whose bits differ, unless `ours` and `theirs` agree.
fn assert_same_bits(ours: &[f32], theirs: &[f32], case: &str) {
    if let Some(i) = ours
        .iter()
        .zip(theirs)
        .position(|(x, y)| !same_bits(*x, *y))
    {
        panic!(
            "{case}: element {i} is {} here, {} there",
            ours[i], theirs[i]
        );
    }
}

#[test]
fn gemm_gives_matrixmultiplys_bits_on_every_edge_of_its_tiles() {
    eprintln!("checking {}", sgemm_name());
    let mut rng = rng(17);
    // Rows around the 4- and 8-row tiles; columns around the 24- and 48-column tiles, 8- and
    // 16-lane vectors and 480-column blocks; depths around 8- and 16-step transposes and the
    // chains' 256-step blocks.
    let rows = [1, 3, 4, 5, 7, 8, 9, 17, 130];
    let cols = [1, 16, 23, 24, 25, 47, 48, 49, 95, 481, 1000];
    let depths = [1, 15, 17, CHAIN_DEPTH, CHAIN_DEPTH + 1, 3 * CHAIN_DEPTH - 5];
    for &m in &rows {
        for &n in &cols {
            for &k in &depths {
                // Mixed magnitudes and signs, so that the order of the sums shows in the bits.
                let a: Vec<f32> = uniform(&mut rng, m * k, -1.0, 1.0)
                    .iter()
                    .enumerate()
                    .map(|(i, v)| v * [1.0, 1e3, 1e-3][i % 3])
                    .collect();
                let b = uniform(&mut rng, k * n, -1.0, 1.0);
                for (trans_a, trans_b) in
                    [(false, false), (true, false), (false, true), (true, true)]
                {
                    let ours = gemm(trans_a, trans_b, &a, &b, (m, n, k));
                    let theirs = matrixmultiply_gemm(trans_a, trans_b, &a, &b, (m, n, k));
                    let case = format!("m {m} n {n} k {k} trans_a {trans_a} trans_b {trans_b}");
                    assert_same_bits(&ours, &theirs, &format!("{case}, ours vs matrixmultiply"));
                }
            }
        }
    }
}

#[test]
fn gemm_carries_infinities_and_nans_where_matrixmultiply_does() {
    eprintln!("checking {}", sgemm_name());
    let mut rng = rng(18);
    let (m, n, k) = (11, 97, 300);
    let mut a = uniform(&mut rng, m * k, -1.0, 1.0);
    let mut b = uniform(&mut rng, k * n, -1.0, 1.0);
    a[5] = f32::INFINITY;
    a[m * k - 1] = f32::NEG_INFINITY;
    b[3 * n + 50] = f32::NAN;
    b[k * n - 1] = f32::MAX;
    for (trans_a, trans_b) in [(false, false), (true, false), (false, true), (true, true)] {
        let ours = gemm(trans_a, trans_b, &a, &b, (m, n, k));
        let theirs = matrixmultiply_gemm(trans_a, trans_b, &a, &b, (m, n, k));
        assert!(ours.iter().any(|x| x.is_nan()) && ours.iter().any(|x| x.is_infinite()));
        assert_same_bits(
            &ours,
            &theirs,
            &format!("trans_a {trans_a} trans_b {trans_b}"),
        );
    }
}

#[test]
fn gemm_skipping_zeros_gives_gemms_bits_where_a_is_mostly_zero() {
    eprintln!("checking {}", sgemm_name());
    let mut rng = rng(19);
    // Depths around the 8-step and 64-step words of the live-step masks as well.
    let rows = [1, 3, 4, 5, 7, 8, 9, 17, 130];
    let cols = [24, 25, 47, 95, 481];
    let depths = [
        1,
        7,
        8,
        9,
        63,
        65,
        CHAIN_DEPTH,
        CHAIN_DEPTH + 1,
        3 * CHAIN_DEPTH - 5,
    ];
    for &m in &rows {
        for &n in &cols {
            for &k in &depths {
                // ReLU-like: most values zero (some -0), whole dead steps and rows, and a NaN
                // and an infinity, which count as live.
                let mut a: Vec<f32> = uniform(&mut rng, m * k, -1.0, 1.0)
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let (row, step) = (i / k, i % k);
                        if step % 5 == 0 || row % 3 == 1 || v < -0.4 {
                            0.0
                        } else if v < 0.0 {
                            -0.0
                        } else {
                            v * [1.0, 1e3, 1e-3][i % 3]
                        }
                    })
                    .collect();
                if m * k > 40 {
                    a[m * k / 2 + 1] = f32::NAN;
                    a[m * k / 3 + 2] = f32::NEG_INFINITY;
                }
                let b = uniform(&mut rng, k * n, -1.0, 1.0);
                for (trans_a, trans_b) in
                    [(false, false), (true, false), (false, true), (true, true)]
                {
                    // op(A)'s rows in order, and grouped as the trainer groups them.
                    let grouped = match trans_a {
                        false => rows_grouped_by_zeros(&a, k),
                        true => columns_grouped_by_zeros(&a, m),
                    };
                    let dense = gemm(trans_a, trans_b, &a, &b, (m, n, k));
                    for order in [None, Some(&grouped[..])] {
                        let mut skipping = vec![f32::NAN; m * n];
                        let a = (&a[..], trans_a, order);
                        gemm_skipping_zeros_into(a, (&b, trans_b), (m, n, k), &mut skipping);
                        let case = format!(
                            "m {m} n {n} k {k} trans_a {trans_a} trans_b {trans_b} rows {order:?}"
                        );
                        assert_same_bits(&skipping, &dense, &format!("{case}, skipping vs not"));
                    }
                }
            }
        }
    }
}

#[test]
fn gemm_skipping_zeros_writes_zeros_for_an_all_zero_a() {
    let (m, n, k) = (9, 50, 300);
    let b = uniform(&mut rng(20), k * n, -1.0, 1.0);
    let mut c = vec![f32::NAN; m * n];
    let a = vec![-0.0; m * k];
    gemm_skipping_zeros_into((&a, false, None), (&b, false), (m, n, k), &mut c);
    assert!(c.iter().all(|x| x.to_bits() == 0), "every element is +0");
}

#[test]
fn gemm_with_b_packed_ahead_and_rows_regrouped_gives_the_same_bits_and_follows_a_repack() {
    eprintln!("checking {}", sgemm_name());
    let mut rng = rng(21);
    // Columns below a tile (not packed: B is read as it is), around the 24- and 48-column
    // panels and the 480-column blocks; depths around the chains' 256-step blocks, whose
    // packed blocks of odd sizes start a whole line apart. A's rows in their own order, in
    // reverse, and grouped by their zeros (9 rows: a last group of one).
    let cols = [10, 24, 25, 49, 481, 1000];
    let depths = [1, 17, CHAIN_DEPTH, CHAIN_DEPTH + 1, 3 * CHAIN_DEPTH - 5];
    let m = 9;
    for &n in &cols {
        for &k in &depths {
            let a: Vec<f32> = uniform(&mut rng, m * k, -1.0, 1.0)
                .iter()
                .map(|&v| if v < 0.0 { 0.0 } else { v })
                .collect();
            let first = uniform(&mut rng, k * n, -1.0, 1.0);
            let second = uniform(&mut rng, k * n, -1e3, 1e3);
            let reverse: Vec<u32> = (0..m as u32).rev().collect();
            let grouped = rows_grouped_by_zeros(&a, k);
            for trans_b in [false, true] {
                let mut packed = PackedB::new(trans_b, &first, (k, n));
                for (b, when) in [(&first, "packed"), (&second, "repacked")] {
                    if when == "repacked" {
                        packed.repack(b);
                    }
                    let mut plain = vec![f32::NAN; m * n];
                    let (plain_a, plain_b) = ((&a[..], false, None), (&b[..], trans_b));
                    gemm_skipping_zeros_into(plain_a, plain_b, (m, n, k), &mut plain);
                    for order in [None, Some(&reverse[..]), Some(&grouped[..])] {
                        let mut ahead = vec![f32::NAN; m * n];
                        let (a, b) = ((&a[..], order), (&b[..], &packed));
                        gemm_packed_skipping_zeros_into(a, b, (m, n, k), &mut ahead);
                        let case =
                            format!("n {n} k {k} trans_b {trans_b}, B {when}, rows {order:?}");
                        assert_same_bits(&ahead, &plain, &format!("{case} vs plain"));
                    }
                }
            }
        }
    }
}

#[test]
#[should_panic(expected = "packed for another shape")]
fn gemm_refuses_b_packed_for_another_shape() {
    let (m, n, k) = (4, 30, 40);
    let (a, b) = (vec![1.0; m * k], vec![1.0; k * n]);
    let packed = PackedB::new(true, &b, (n, k));
    let mut c = vec![0.0; m * n];
    gemm_packed_skipping_zeros_into((&a, None), (&b, &packed), (m, n, k), &mut c);
}

#[test]
#[should_panic(expected = "out of their windows of 16")]
fn gemm_refuses_a_transposed_a_order_that_moves_rows_out_of_their_window() {
    let (m, n, k) = (20, 30, 40);
    let (a, b) = (vec![1.0; k * m], vec![1.0; k * n]);
    // Rows 15 and 16 swapped: a permutation, but across the first window's edge.
    let order: Vec<u32> = (0..m as u32)
        .map(|i| match i {
            15 => 16,
            16 => 15,
            i => i,
        })
        .collect();
    let mut c = vec![0.0; m * n];
    gemm_skipping_zeros_into((&a, true, Some(&order)), (&b, false), (m, n, k), &mut c);
}

#[test]
fn gemm_refuses_a_row_order_that_is_not_one_of_its_rows() {
    let (m, n, k) = (4, 30, 40);
    let (a, b) = (vec![1.0; m * k], vec![1.0; k * n]);
    let packed = PackedB::new(false, &b, (k, n));
    for order in [
        &[0, 1, 2][..],
        &[0, 1, 2, 2],
        &[0, 1, 2, 4],
        &[3, 2, 1, 0, 0],
    ] {
        let result = std::panic::catch_unwind(|| {
            let mut c = vec![0.0; m * n];
            gemm_packed_skipping_zeros_into((&a, Some(order)), (&b, &packed), (m, n, k), &mut c);
        });
        assert!(result.is_err(), "row order {order:?} was taken");
    }
}
