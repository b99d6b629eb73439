//! Every WGSL entry point against its CPU twin in `aeclust::reference`, on awkward shapes.

mod common;

use aeclust::domain::MATMUL_MAX_K;
use aeclust::gpu::buffers::{
    pad_matrix, padded, read_f32, storage, storage_bytes, storage_init, unpad_matrix,
};
use aeclust::gpu::kernels::{
    run, AdamBuffers, AdamCoefficients, Epilogue, GatherSource, ImageChunk, ImageMoves, Kernels,
    LossBuffers, LossFunction, Matmul, MatmulDims, MatmulKind, MatmulOperands, MatmulVariant,
    StepParams,
};
use aeclust::gpu::GpuContext;
use aeclust::optim::AdamConfig;
use aeclust::reference;
use aeclust::reference::gather::{gather_moved, ImageMove};
use common::{assert_close, for_each_gpu, one_step, rng, uniform};
use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// (m, n, k) of op(A) (m x k) times op(B) (k x n), unpadded.
const SHAPES: [(usize, usize, usize); 6] = [
    (1, 1, 1),
    (7, 33, 31),
    (31, 7, 785),
    (33, 785, 7),
    (785, 31, 33),
    (64, 128, 32),
];

/// The CPU answer for one matmul kind.
fn expected(
    kind: MatmulKind,
    a: &[f32],
    b: &[f32],
    aux: &[f32],
    (m, n, k): (usize, usize, usize),
) -> Vec<f32> {
    let (trans_a, trans_b) = kind.transposes();
    let mut c = reference::gemm(trans_a, trans_b, a, b, (m, n, k));
    match kind.epilogue() {
        Epilogue::None => {}
        Epilogue::Bias => reference::add_bias(&mut c, aux),
        Epilogue::BiasRelu => {
            reference::add_bias(&mut c, aux);
            reference::relu(&mut c);
        }
        Epilogue::BiasSigmoid => {
            reference::add_bias(&mut c, aux);
            c.iter_mut().for_each(|x| *x = reference::sigmoid(*x));
        }
        Epilogue::ReluMask => reference::relu_mask(&mut c, aux),
    }
    c
}

/// One matmul of `kind` and `shape` with random operands against the CPU, including the
/// zero padding of C that the trainer relies on.
fn check_matmul(
    ctx: &GpuContext,
    matmul: &Matmul,
    kind: MatmulKind,
    shape: (usize, usize, usize),
    rng: &mut ChaCha8Rng,
) {
    let (m, n, k) = shape;
    let a = uniform(rng, m * k, -1.0, 1.0);
    let b = uniform(rng, k * n, -1.0, 1.0);
    let aux_rows = if kind.epilogue() == Epilogue::ReluMask {
        m
    } else {
        1
    };
    let aux = uniform(rng, aux_rows * n, -1.0, 1.0);
    let (a_rows, a_cols) = if kind.transposes().0 { (k, m) } else { (m, k) };
    let (b_rows, b_cols) = if kind.transposes().1 { (n, k) } else { (k, n) };
    let a_buf = storage_init(ctx, "a", &pad_matrix(&a, a_rows, a_cols)).unwrap();
    let b_buf = storage_init(ctx, "b", &pad_matrix(&b, b_rows, b_cols)).unwrap();
    let aux_buf = storage_init(ctx, "aux", &pad_matrix(&aux, aux_rows, n)).unwrap();
    let c_buf = storage(ctx, "c", padded(m) * padded(n)).unwrap();
    let dispatch = matmul.dispatch(
        ctx,
        kind,
        MatmulDims::new(padded(m), padded(n), padded(k)),
        MatmulOperands {
            a: a_buf.as_entire_binding(),
            b: b_buf.as_entire_binding(),
            aux: aux_buf.as_entire_binding(),
            c: c_buf.as_entire_binding(),
        },
    );
    run(ctx, &[&dispatch], 0).unwrap();
    let c_padded = read_f32(ctx, &c_buf, 0, padded(m) * padded(n)).unwrap();
    let want = expected(kind, &a, &b, &aux, shape);
    let what = format!("{} {kind:?} {shape:?}", matmul.variant);
    // f32 sums of k products of magnitude <= 1: error grows like sqrt(k) * 2^-24.
    assert_close(
        &what,
        &unpad_matrix(&c_padded, m, n),
        &want,
        2e-5 * (k as f32).sqrt(),
        1e-5,
    );
    if matches!(
        kind.epilogue(),
        Epilogue::None | Epilogue::ReluMask | Epilogue::Bias | Epilogue::BiasRelu
    ) {
        // Zero padding in, zero padding out: the invariant the trainer relies on.
        let stride = padded(n);
        let pad_sum: f32 = (0..padded(m))
            .flat_map(|r| (0..stride).map(move |c| (r, c)))
            .filter(|&(r, c)| {
                r >= m
                    && !(kind.epilogue() == Epilogue::Bias || kind.epilogue() == Epilogue::BiasRelu)
                    || c >= n
            })
            .map(|(r, c)| c_padded[r * stride + c].abs())
            .sum();
        assert_eq!(pad_sum, 0.0, "{what}: padding of C is not zero");
    }
}

fn check_matmul_variant(ctx: &GpuContext, matmul: &Matmul) {
    let mut rng = rng(7);
    for kind in MatmulKind::ALL {
        for shape in SHAPES {
            check_matmul(ctx, matmul, kind, shape, &mut rng);
        }
    }
}

#[test]
fn matmul_blocked_matches_cpu() {
    for_each_gpu(|gpu| {
        let ctx = &gpu.ctx;
        let matmul = Matmul::with_variant(ctx, MatmulVariant::Blocked).unwrap();
        check_matmul_variant(ctx, &matmul);
    });
}

#[test]
fn matmul_tiled_matches_cpu() {
    for_each_gpu(|gpu| {
        let ctx = &gpu.ctx;
        let matmul = Matmul::with_variant(ctx, MatmulVariant::Tiled).unwrap();
        check_matmul_variant(ctx, &matmul);
    });
}

#[test]
fn matmul_default_variant_matches_cpu() {
    for_each_gpu(|gpu| {
        let ctx = &gpu.ctx;
        // The subgroup variant on adapters with 8-wide subgroups (lavapipe).
        let matmul = Matmul::new(ctx).unwrap();
        assert_eq!(matmul.variant, MatmulVariant::for_adapter(ctx).name());
        check_matmul_variant(ctx, &matmul);
    });
}

/// Gathers `rows` images from position `first` of a shuffled order over `count` images of
/// `width` bytes, stored `per_chunk` images to a buffer, and compares with the CPU; with a
/// grid `(cols, channels)`, each image turned by any angle and moved by up to 4 pixels each
/// way (past small images).
fn check_gather(
    ctx: &GpuContext,
    kernels: &Kernels,
    (count, width, first, rows, rows_pad, per_chunk): (usize, usize, usize, usize, usize, usize),
    grid: Option<(usize, usize)>,
    rng: &mut ChaCha8Rng,
) {
    let pixels: Vec<u8> = (0..count * width).map(|_| rng.random()).collect();
    let chunks: Vec<ImageChunk> = pixels
        .chunks(per_chunk * width)
        .enumerate()
        .map(|(i, bytes)| ImageChunk {
            first: i * per_chunk,
            count: bytes.len() / width,
            pixels: storage_bytes(ctx, "pixels", bytes).unwrap(),
        })
        .collect();
    let mut order: Vec<u32> = (0..count as u32).collect();
    order.shuffle(rng);
    let steps = one_step(
        ctx,
        StepParams {
            first: first as u32,
            rows: rows as u32,
            loss_offset: 0,
            lr_t: 0.0,
        },
    );
    let order_buf = storage_init(ctx, "order", &order).unwrap();
    let stride = padded(width);
    let out = storage_init(ctx, "batch", &vec![f32::NAN; rows_pad * stride]).unwrap();
    let moves: Vec<u32> = (0..count)
        .flat_map(|_| {
            let degrees = rng.random_range(-180.0..180.0);
            ImageMove::new(degrees, rng.random_range(-4..=4), rng.random_range(-4..=4)).pack()
        })
        .collect();
    let moves_buf = storage_init(ctx, "moves", &moves).unwrap();
    let source = GatherSource {
        images: &chunks,
        order: &order_buf,
        moves: grid.map(|(cols, channels)| ImageMoves {
            moves: &moves_buf,
            cols,
            channels,
        }),
    };
    let dispatches = kernels
        .gather
        .dispatch(ctx, &steps, source, &out, width, rows_pad);
    assert_eq!(dispatches.len(), count.div_ceil(per_chunk));
    run(ctx, &dispatches.iter().collect::<Vec<_>>(), steps.offset(0)).unwrap();
    let got = read_f32(ctx, &out, 0, rows_pad * stride).unwrap();
    let batch = match grid {
        Some((cols, channels)) => {
            let shape = (width, cols, channels);
            gather_moved(&pixels, shape, &order, &moves, first, rows)
        }
        None => reference::gather(&pixels, width, &order, first, rows),
    };
    let mut want = pad_matrix(&batch, rows, width);
    want.resize(rows_pad * stride, 0.0);
    assert_eq!(
        got, want,
        "gather count {count} width {width} chunk {per_chunk} grid {grid:?}"
    );
}

#[test]
fn a_moved_image_is_its_pixels_shifted_or_turned_with_zeros_coming_in() {
    // A 3 x 2 image of 2 channels: values 1..=12, row by row.
    let image: Vec<u8> = (1..=12).collect();
    let moved = |degrees, down, right| {
        let packed = ImageMove::new(degrees, down, right).pack();
        let got = gather_moved(&image, (12, 2, 2), &[0], &packed, 0, 1);
        got.iter()
            .map(|v| (v * 255.0).round() as u8)
            .collect::<Vec<_>>()
    };
    assert_eq!(moved(0.0, 0, 0), image);
    assert_eq!(moved(0.0, 1, 0), [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(moved(0.0, 0, -1), [3, 4, 0, 0, 7, 8, 0, 0, 11, 12, 0, 0]);
    assert_eq!(moved(0.0, -2, 1), [0, 0, 9, 10, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(moved(0.0, 3, 0), [0; 12]);
    // Half a turn about the centre reverses the pixels (each keeps its channels), a whole
    // turn and the smallest ones change nothing.
    assert_eq!(moved(180.0, 0, 0), [11, 12, 9, 10, 7, 8, 5, 6, 3, 4, 1, 2]);
    for degrees in [360.0, 0.5, -0.5] {
        assert_eq!(moved(degrees, 0, 0), image);
    }
    // A quarter turn of a 3 x 3 image: its rows become its columns.
    let square: Vec<u8> = (1..=9).collect();
    let packed = ImageMove::new(90.0, 0, 0).pack();
    let got = gather_moved(&square, (9, 3, 1), &[0], &packed, 0, 1);
    let got: Vec<u8> = got.iter().map(|v| (v * 255.0).round() as u8).collect();
    assert_eq!(got, [7, 4, 1, 8, 5, 2, 9, 6, 3]);
}

#[test]
fn gather_scales_and_zero_pads_across_image_chunks() {
    for_each_gpu(|gpu| {
        let (ctx, kernels) = (&gpu.ctx, &gpu.kernels);
        let mut rng = rng(3);
        // (images, width, first, rows, padded rows, images per chunk)
        for case in [
            (5, 7, 1, 3, 32, 5),
            (40, 785, 3, 33, 64, 40),
            (9, 1, 0, 9, 32, 9),
            (40, 13, 2, 30, 32, 7),
            (64, 3, 0, 64, 64, 1),
            // One image: the unused moves slot holds a one-word order.
            (1, 39, 0, 1, 32, 1),
        ] {
            check_gather(ctx, kernels, case, None, &mut rng);
        }
        // (images, width, first, rows, padded rows, images per chunk), (columns, channels)
        for (case, grid) in [
            ((40, 784, 3, 33, 64, 40), (28, 1)),
            ((9, 12, 0, 9, 32, 4), (2, 2)),
            ((12, 48, 1, 11, 32, 12), (4, 3)),
            ((6, 1, 0, 6, 32, 6), (1, 1)),
        ] {
            check_gather(ctx, kernels, case, Some(grid), &mut rng);
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn matmul_any_shape(
        m in 1usize..80,
        n in 1usize..80,
        k in 1usize..300,
        kind in 0..MatmulKind::ALL.len(),
        seed in any::<u64>(),
    ) {
        for_each_gpu(|gpu| {
            let mut rng = rng(seed);
            check_matmul(&gpu.ctx, &gpu.kernels.matmul, MatmulKind::ALL[kind], (m, n, k), &mut rng);
        });
    }

    #[test]
    fn gather_any_shape(
        count in 1usize..200,
        width in 1usize..100,
        per_chunk in 1usize..200,
        start in 0.0f64..1.0,
        seed in any::<u64>(),
    ) {
        let first = ((count as f64 * start) as usize).min(count - 1);
        let rows = (count - first).min(64);
        let case = (count, width, first, rows, padded(rows), per_chunk.min(count));
        // A grid of cols x rows pixels whenever the width splits into at least two rows.
        let cols = (2..width).find(|c| width % c == 0 && width / c > 1);
        let grid = cols.filter(|_| seed % 2 == 0).map(|c| (c, 1));
        for_each_gpu(|gpu| check_gather(&gpu.ctx, &gpu.kernels, case, grid, &mut rng(seed)));
    }
}

/// Runs the `loss` kernel on `rows x width` outputs and targets padded to `rows_pad` rows
/// (with garbage past the valid rows); returns the padded gradient and the loss buffer, whose
/// valid losses start at `offset`.
fn run_loss(
    ctx: &GpuContext,
    kernels: &Kernels,
    loss: LossFunction,
    (logits, targets): (&[f32], &[f32]),
    (rows, width, rows_pad, offset): (usize, usize, usize, usize),
) -> (Vec<f32>, Vec<f32>) {
    let stride = padded(width);
    let mut logits_pad = pad_matrix(logits, rows, width);
    logits_pad.resize(rows_pad * stride, 3.0);
    let mut targets_pad = pad_matrix(targets, rows, width);
    targets_pad.resize(rows_pad * stride, 0.5);
    let steps = one_step(
        ctx,
        StepParams {
            first: 0,
            rows: rows as u32,
            loss_offset: offset as u32,
            lr_t: 0.0,
        },
    );
    let logit_buf = storage_init(ctx, "logits", &logits_pad).unwrap();
    let target_buf = storage_init(ctx, "targets", &targets_pad).unwrap();
    let grad_buf = storage_init(ctx, "grad", &vec![f32::NAN; rows_pad * stride]).unwrap();
    let loss_buf = storage(ctx, "losses", offset + rows + 1).unwrap();
    let buffers = LossBuffers {
        outputs: &logit_buf,
        targets: &target_buf,
        grad: &grad_buf,
        losses: &loss_buf,
    };
    let d = kernels
        .loss
        .dispatch(ctx, loss, &steps, buffers, width, rows_pad);
    run(ctx, &[&d], steps.offset(0)).unwrap();
    (
        read_f32(ctx, &grad_buf, 0, rows_pad * stride).unwrap(),
        read_f32(ctx, &loss_buf, 0, offset + rows + 1).unwrap(),
    )
}

#[test]
fn losses_match_cpu_and_ignore_padding() {
    for_each_gpu(|gpu| {
        let (ctx, kernels) = (&gpu.ctx, &gpu.kernels);
        let mut rng = rng(11);
        let shapes = [(1, 1, 32, 0), (7, 785, 32, 5), (33, 31, 64, 2)];
        for ((rows, width, rows_pad, offset), loss) in shapes.into_iter().flat_map(|shape| {
            [
                (shape, LossFunction::BceSigmoid),
                (shape, LossFunction::Mse),
            ]
        }) {
            let logits = uniform(&mut rng, rows * width, -9.0, 9.0);
            let targets = uniform(&mut rng, rows * width, 0.0, 1.0);
            let shape = (rows, width, rows_pad, offset);
            let (grad, losses) = run_loss(ctx, kernels, loss, (&logits, &targets), shape);
            let mut want_grad = vec![0.0; rows * width];
            let reference_loss = match loss {
                LossFunction::BceSigmoid => reference::bce_sigmoid,
                LossFunction::Mse => reference::mse,
            };
            let want_loss = reference_loss(&logits, &targets, width, rows, &mut want_grad);
            let mut want_grad_pad = pad_matrix(&want_grad, rows, width);
            want_grad_pad.resize(rows_pad * padded(width), 0.0);
            assert_close(&format!("{loss:?} grad"), &grad, &want_grad_pad, 1e-9, 1e-5);
            assert_close(
                &format!("{loss:?} losses"),
                &losses[offset..offset + rows],
                &want_loss,
                1e-6,
                1e-5,
            );
            assert_eq!(
                losses[offset + rows],
                0.0,
                "a loss was written past the valid rows"
            );
        }
    });
}

#[test]
fn losses_are_nan_in_a_row_with_a_non_finite_output() {
    for_each_gpu(|gpu| {
        let (ctx, kernels) = (&gpu.ctx, &gpu.kernels);
        let (rows, width) = (4, 70);
        let mut logits = vec![0.5; rows * width];
        logits[width + 3] = f32::NAN;
        logits[2 * width + 69] = f32::INFINITY;
        logits[3 * width] = f32::NEG_INFINITY;
        let targets = vec![0.25; rows * width];
        for loss in [LossFunction::BceSigmoid, LossFunction::Mse] {
            let shape = (rows, width, 32, 0);
            let (_, losses) = run_loss(ctx, kernels, loss, (&logits, &targets), shape);
            let mut grad = vec![0.0; rows * width];
            let want = match loss {
                LossFunction::BceSigmoid => {
                    reference::bce_sigmoid(&logits, &targets, width, rows, &mut grad)
                }
                LossFunction::Mse => reference::mse(&logits, &targets, width, rows, &mut grad),
            };
            for (row, (got, want)) in losses[..rows].iter().zip(&want).enumerate() {
                assert_eq!(
                    got.is_nan(),
                    row > 0,
                    "{loss:?} GPU loss of row {row}: {got}"
                );
                assert_eq!(
                    want.is_nan(),
                    row > 0,
                    "{loss:?} CPU loss of row {row}: {want}"
                );
            }
        }
    });
}

#[test]
fn bce_loss_hand_computed() {
    for_each_gpu(|gpu| {
        let (ctx, kernels) = (&gpu.ctx, &gpu.kernels);
        // One row, two outputs: logit 0 with target 1 (p = 0.5, loss ln 2), and logit 40 with
        // target 0 (p clipped to 1 - 1e-7 in f32, loss -ln(1.1920929e-7) = 15.942385).
        let width = 2;
        let logits = pad_matrix(&[0.0, 40.0], 1, width);
        let targets = pad_matrix(&[1.0, 0.0], 1, width);
        let steps = one_step(
            ctx,
            StepParams {
                first: 0,
                rows: 1,
                loss_offset: 0,
                lr_t: 0.0,
            },
        );
        let l = storage_init(ctx, "l", &logits).unwrap();
        let t = storage_init(ctx, "t", &targets).unwrap();
        let g = storage(ctx, "g", logits.len()).unwrap();
        let out = storage(ctx, "out", 1).unwrap();
        let buffers = LossBuffers {
            outputs: &l,
            targets: &t,
            grad: &g,
            losses: &out,
        };
        let d = kernels
            .loss
            .dispatch(ctx, LossFunction::BceSigmoid, &steps, buffers, width, 32);
        run(ctx, &[&d], 0).unwrap();
        let loss = read_f32(ctx, &out, 0, 1).unwrap()[0];
        let want = (std::f32::consts::LN_2 + 15.942385) / 2.0;
        assert!((loss - want).abs() < 1e-5, "loss {loss}, want {want}");
        let grad = read_f32(ctx, &g, 0, 2).unwrap();
        assert_close("hand grad", &grad, &[-0.25, 0.5], 1e-7, 1e-6);
    });
}

#[test]
fn matmul_at_the_longest_reduction_in_every_variant() {
    // K = MATMUL_MAX_K is the largest batch of a weight gradient; each invocation of every
    // variant then runs its longest K loop, which must stay inside the loop budget.
    for_each_gpu(|gpu| {
        let ctx = &gpu.ctx;
        let mut rng = rng(17);
        let mut variants = vec![MatmulVariant::Blocked, MatmulVariant::Tiled];
        if ctx.subgroup8 {
            variants.push(MatmulVariant::Subgroup8);
        }
        for variant in variants {
            let matmul = Matmul::with_variant(ctx, variant).unwrap();
            for kind in MatmulKind::ALL {
                check_matmul(ctx, &matmul, kind, (5, 7, MATMUL_MAX_K), &mut rng);
            }
        }
    });
}

#[test]
fn column_sums_match_cpu() {
    for_each_gpu(|gpu| {
        let (ctx, kernels) = (&gpu.ctx, &gpu.kernels);
        let mut rng = rng(5);
        // Up to the largest batch (MATMUL_MAX_K rows), one loop iteration per row.
        for (rows, cols) in [(1, 1), (7, 785), (33, 31), (64, 32), (MATMUL_MAX_K, 3)] {
            let m = uniform(&mut rng, rows * cols, -1.0, 1.0);
            let buf = storage_init(ctx, "m", &pad_matrix(&m, rows, cols)).unwrap();
            let sums = storage_init(ctx, "sums", &vec![f32::NAN; padded(cols)]).unwrap();
            let d = kernels.column_sums.dispatch(
                ctx,
                buf.as_entire_binding(),
                sums.as_entire_binding(),
                padded(rows),
                padded(cols),
            );
            run(ctx, &[&d], 0).unwrap();
            let got = read_f32(ctx, &sums, 0, padded(cols)).unwrap();
            let mut want = reference::column_sums(&m, cols);
            want.resize(padded(cols), 0.0);
            assert_close("column sums", &got, &want, 1e-5, 1e-5);
        }
    });
}

/// One Adam step on the GPU from `[params, grads, m, v]`; returns the new params, m and v.
fn run_adam(
    ctx: &GpuContext,
    kernels: &Kernels,
    config: &AdamConfig,
    state: [&[f32]; 4],
    lr_t: f32,
) -> ([Vec<f32>; 3], bool) {
    let count = state[0].len();
    let steps = one_step(
        ctx,
        StepParams {
            first: 0,
            rows: 0,
            loss_offset: 0,
            lr_t,
        },
    );
    let bufs = state.map(|x| storage_init(ctx, "adam", x).unwrap());
    let losses = storage_init(ctx, "losses", &[0.0f32]).unwrap();
    let buffers = AdamBuffers {
        params: &bufs[0],
        grads: &bufs[1],
        m: &bufs[2],
        v: &bufs[3],
        losses: &losses,
    };
    let coefficients = AdamCoefficients {
        beta1: config.beta1,
        beta2: config.beta2,
        epsilon: config.epsilon,
    };
    let d = kernels
        .adam
        .dispatch(ctx, &steps, coefficients, buffers, count);
    run(ctx, &[&d], 0).unwrap();
    let finite = !read_f32(ctx, &losses, 0, 1).unwrap()[0].is_nan();
    let [p, m, v] = [0, 2, 3].map(|i| read_f32(ctx, &bufs[i], 0, count).unwrap());
    ([p, m, v], finite)
}

#[test]
fn adam_matches_cpu() {
    for_each_gpu(|gpu| {
        let (ctx, kernels) = (&gpu.ctx, &gpu.kernels);
        let config = AdamConfig::default();
        let mut rng = rng(9);
        for count in [4, 1028, 300_000] {
            let p = uniform(&mut rng, count, -1.0, 1.0);
            let g = uniform(&mut rng, count, -0.1, 0.1);
            let m0 = uniform(&mut rng, count, -0.01, 0.01);
            let v0 = uniform(&mut rng, count, 0.0, 1e-4);
            let lr_t = config.lr_t(17);
            let ([gp, gm, gv], finite) = run_adam(ctx, kernels, &config, [&p, &g, &m0, &v0], lr_t);
            let (mut cp, mut cm, mut cv) = (p.clone(), m0.clone(), v0.clone());
            assert!(reference::adam(
                &mut cp, &g, &mut cm, &mut cv, &config, lr_t
            ));
            assert!(finite, "a finite step was marked as diverged");
            assert_close("adam params", &gp, &cp, 1e-7, 1e-6);
            assert_close("adam m", &gm, &cm, 1e-9, 1e-6);
            assert_close("adam v", &gv, &cv, 1e-12, 1e-5);
        }
    });
}

#[test]
fn adam_first_step_hand_computed() {
    for_each_gpu(|gpu| {
        let (ctx, kernels) = (&gpu.ctx, &gpu.kernels);
        let config = AdamConfig::default();
        // Step 1 with g = 0.5: m = 0.05, v = 0.00025, lr_t = 1e-3 * sqrt(0.001) / 0.1
        // (up to the f32 rounding of 0.999 and 0.9, as in Keras).
        let lr_t = config.lr_t(1);
        assert!((lr_t - 0.000_316_227_77).abs() < 5e-9, "lr_t {lr_t}");
        let grads = [0.5, -0.5, 0.0, 0.5];
        let state: [&[f32]; 4] = [&[1.0; 4], &grads, &[0.0; 4], &[0.0; 4]];
        let ([p, m, v], _) = run_adam(ctx, kernels, &config, state, lr_t);
        let step = 0.000_316_227_77 * 0.05 / (0.015_811_388 + 1e-7);
        assert_close(
            "params",
            &p,
            &[1.0 - step, 1.0 + step, 1.0, 1.0 - step],
            1e-7,
            0.0,
        );
        assert_close("m", &m, &[0.05, -0.05, 0.0, 0.05], 0.0, 1e-6);
        assert_close("v", &v, &[0.00025, 0.00025, 0.0, 0.00025], 0.0, 2e-5); // 1 - 0.999 is 0.99998713e-3 in f32
    });
}

#[test]
fn adam_marks_a_step_that_makes_a_weight_non_finite() {
    for_each_gpu(|gpu| {
        let (ctx, kernels) = (&gpu.ctx, &gpu.kernels);
        let config = AdamConfig::default();
        let lr_t = config.lr_t(1);
        // g^2 overflows v; a NaN gradient poisons everything.
        for bad in [1e30, f32::NAN] {
            let grads = [0.1, bad, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
            let state: [&[f32]; 4] = [&[1.0; 8], &grads, &[0.0; 8], &[0.0; 8]];
            let (_, finite) = run_adam(ctx, kernels, &config, state, lr_t);
            assert!(!finite, "gradient {bad} was not marked");
            let [mut p, mut m, mut v] = [state[0], state[2], state[3]].map(<[f32]>::to_vec);
            assert!(!reference::adam(
                &mut p, &grads, &mut m, &mut v, &config, lr_t
            ));
        }
    });
}
