//! The binary against every kind of bad input: missing and broken data, model and .npy files,
//! flags that fit no run, outputs that cannot be written, resumes that contradict their file.
//! Each gets a one-line error and a non-zero exit, never a panic, before any work.

mod common;

use std::io::Write;
use std::path::Path;

use common::cli::{
    aeclust, assert_clean_failure, rewrite_model, s, text, tiny_dataset, tiny_model, train_tiny,
};

#[test]
fn missing_data_directory() {
    let out = aeclust(&["train", "--data", "/nonexistent/mnist"]);
    assert_clean_failure(&out, "does not exist");
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = tiny_dataset(dir.path());
    std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
    assert_clean_failure(&aeclust(&["train", "--data", &data]), "missing t10k-labels");
}

#[test]
fn wrong_magic_truncated_and_mismatched_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = tiny_dataset(dir.path());
    let images = dir.path().join("train-images-idx3-ubyte");
    let labels = dir.path().join("train-labels-idx1-ubyte");
    let good_images = std::fs::read(&images).unwrap();
    let good_labels = std::fs::read(&labels).unwrap();

    std::fs::write(&images, &good_labels).unwrap();
    assert_clean_failure(
        &aeclust(&["train", "--data", &data]),
        "not an IDX file of images",
    );
    std::fs::write(&images, &good_images[..good_images.len() - 1]).unwrap();
    assert_clean_failure(&aeclust(&["train", "--data", &data]), "truncated");
    std::fs::write(&images, &good_images).unwrap();
    std::fs::write(&labels, &good_labels[..good_labels.len() - 1]).unwrap();
    assert_clean_failure(&aeclust(&["train", "--data", &data]), "truncated");
    std::fs::write(&labels, aeclust::data::idx::encode_labels(&[0; 7])).unwrap();
    assert_clean_failure(
        &aeclust(&["train", "--data", &data]),
        "7 labels for 8 images",
    );
}

#[test]
fn model_must_fit_the_images() {
    let dir = tempfile::tempdir().unwrap();
    let data = tiny_dataset(dir.path());
    // --layers must fit the images; without it, the recipe's ends follow them.
    let out = aeclust(&["train", "--data", &data, "--layers", "784,32,784"]);
    assert_clean_failure(&out, "images of 4x4 gray have 16");
    let out = aeclust(&["train", "--data", &data, "--epochs", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("[16, 128, 32, 128, 16]"));
    let out = aeclust(&["train", "--data", &data, "--layers", "16,x,16"]);
    assert_clean_failure(&out, "not a positive layer width");
}

#[test]
fn unwritable_report_fails_before_training() {
    let out = train_tiny(&["--report", "/nonexistent/r.json"]);
    assert_clean_failure(&out, "cannot write /nonexistent/r.json");
    assert!(!text(&out.stdout).contains("epoch"), "it trained first");
}

#[test]
fn unknown_adapter() {
    let out = train_tiny(&["--adapter", "no-such-gpu"]);
    assert_clean_failure(&out, "no adapter name contains");
}

#[test]
fn broken_data_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::write_idx_dataset(&data, 8, 8, 4, true);
    let images = data.join("train-images-idx3-ubyte.gz");
    let good = std::fs::read(&images).unwrap();
    let train = || aeclust(&["train", "--data", s(&data), "--layers", "16,4,16"]);

    std::fs::write(&images, b"").unwrap();
    assert_clean_failure(&train(), "empty file");
    let mut corrupt = good.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle..middle + 8].copy_from_slice(b"garbage!");
    std::fs::write(&images, &corrupt).unwrap();
    assert_clean_failure(&train(), "corrupt gzip stream");
    std::fs::write(&images, &good[..good.len() / 2]).unwrap();
    assert_clean_failure(&train(), "corrupt gzip stream");
    // A header that promises four billion images of 4 GB each, in 16 bytes.
    let mut huge = Vec::new();
    for v in [0x0803u32, u32::MAX, 65536, 65536] {
        huge.extend(v.to_be_bytes());
    }
    std::fs::write(&images, &huge).unwrap();
    assert_clean_failure(&train(), "truncated");
    let mut zero = Vec::new();
    for v in [0x0803u32, 0, 4, 4] {
        zero.extend(v.to_be_bytes());
    }
    std::fs::write(&images, &zero).unwrap();
    assert_clean_failure(&train(), "no images");
    let mut empty_images = Vec::new();
    for v in [0x0803u32, 4, 0, 0] {
        empty_images.extend(v.to_be_bytes());
    }
    std::fs::write(&images, &empty_images).unwrap();
    assert_clean_failure(&train(), "images of 0 x 0 pixels");
    // A file where the directory belongs.
    std::fs::write(&images, &good).unwrap();
    let file_as_data = aeclust(&["train", "--data", s(&images), "--layers", "16,4,16"]);
    assert_clean_failure(&file_as_data, "is a file; it takes a directory");
}

#[test]
fn idx_labels_beyond_the_digits_are_classes_and_255_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = tiny_model(dir.path());
    let labels = data.join("t10k-labels-idx1-ubyte");
    let good = std::fs::read(&labels).unwrap();
    let cluster = || {
        aeclust(&[
            "cluster",
            "--model",
            s(&model),
            "--data",
            s(&data),
            "--k",
            "3",
        ])
    };
    // EMNIST's letters are IDX files with 26 classes: a label above 9 is a class.
    let mut bytes = good.clone();
    bytes[8 + 5] = 42;
    std::fs::write(&labels, &bytes).unwrap();
    let out = cluster();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("   42"), "{}", text(&out.stdout));
    // 255 marks an image without a class, so it is no class index.
    bytes[8 + 5] = 255;
    std::fs::write(&labels, &bytes).unwrap();
    assert_clean_failure(&cluster(), "label 255 at 5 is not a class index 0 to 254");
}

#[test]
fn broken_model_files() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = tiny_model(dir.path());
    let broken = dir.path().join("broken.safetensors");
    let codes = dir.path().join("codes.npy");
    let encode = || {
        aeclust(&[
            "encode",
            "--model",
            s(&broken),
            "--data",
            s(&data),
            "--out",
            s(&codes),
        ])
    };
    std::fs::write(&broken, b"not a model").unwrap();
    assert_clean_failure(&encode(), "not a safetensors model file");
    let good = std::fs::read(&model).unwrap();
    std::fs::write(&broken, &good[..good.len() - 100]).unwrap();
    assert_clean_failure(&encode(), "not a safetensors model file");
    // Layers that do not chain: the second weight takes 5 inputs where the first gives 6.
    rewrite_model(&model, &broken, |_, tensors| {
        for (name, shape, data) in tensors.iter_mut() {
            if name == "encoder.1.weight" {
                *shape = vec![3, 5];
                data.truncate(15 * 4);
            }
        }
    });
    assert_clean_failure(&encode(), "encoder.1.weight has shape [3, 5]");
    rewrite_model(&model, &broken, |_, tensors| {
        for (name, _, data) in tensors.iter_mut() {
            if name == "decoder.0.bias" {
                data[..4].copy_from_slice(&f32::NAN.to_le_bytes());
            }
        }
    });
    assert_clean_failure(&encode(), "NaN");
    assert!(!codes.exists(), "a failed encode left an output file");
}

#[test]
fn broken_npy_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("codes.npy");
    let cluster = || aeclust(&["cluster", "--codes", s(&path), "--data", "/nonexistent"]);
    let npy = |descr: &str, shape: &str, data: &[u8]| {
        let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        let mut header = dict.into_bytes();
        while (11 + header.len()) % 64 != 0 {
            header.push(b' ');
        }
        header.push(b'\n');
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(b"\x93NUMPY\x01\x00").unwrap();
        file.write_all(&(header.len() as u16).to_le_bytes())
            .unwrap();
        file.write_all(&header).unwrap();
        file.write_all(data).unwrap();
    };
    npy("<f8", "(2, 2)", &[0; 32]);
    assert_clean_failure(&cluster(), "expected float32");
    npy("<f4", "(2, 2, 2)", &[0; 32]);
    assert_clean_failure(&cluster(), "expected a 2-D matrix");
    npy("<f4", "(4,)", &[0; 16]);
    assert_clean_failure(&cluster(), "expected a 2-D matrix");
    npy("<f4", "(1000000000, 1000000)", &[0; 16]);
    assert_clean_failure(&cluster(), "truncated");
    let mut nan = vec![0u8; 40];
    nan[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    npy("<f4", "(10, 1)", &nan);
    assert_clean_failure(&cluster(), "NaN");
    std::fs::write(&path, b"PK\x03\x04 a zip file").unwrap();
    assert_clean_failure(&cluster(), "not a .npy file");
}

#[test]
fn nonsense_flags() {
    let dir = tempfile::tempdir().unwrap();
    let codes = dir.path().join("codes.npy");
    aeclust::npy::write_matrix(&codes, &[0.5; 40], 20, 2).unwrap();
    let cluster = |flags: &[&str]| {
        let mut args = vec!["cluster", "--codes", s(&codes), "--data", "/nonexistent"];
        args.extend_from_slice(flags);
        aeclust(&args)
    };
    assert_clean_failure(&cluster(&["--k", "0"]), "--k must be between 1");
    assert_clean_failure(
        &cluster(&["--k", "21"]),
        "--k 21 is more than the 20 points to cluster",
    );
    assert_clean_failure(&cluster(&["--n-init", "0"]), "--n-init");
    assert_clean_failure(&cluster(&["--max-iter", "0"]), "--max-iter");
    assert_clean_failure(
        &cluster(&["--max-iter", "4294967296"]),
        "--max-iter must be at most 4294967295",
    );
    assert_clean_failure(&cluster(&["--tol", "-1"]), "--tol");
    assert_clean_failure(&cluster(&["--tol", "NaN"]), "--tol");
    assert_clean_failure(&cluster(&["--max-binding-mib", "0"]), "--max-binding-mib");

    let data = dir.path().join("data");
    common::write_idx_dataset(&data, 8, 8, 4, false);
    let train = |flags: &[&str]| {
        let mut args = vec!["train", "--data", s(&data)];
        args.extend_from_slice(flags);
        aeclust(&args)
    };
    for layers in ["16,4,15", "15,4,16", "16", "16,,16", "16,-4,16"] {
        let out = train(&["--layers", layers]);
        let stderr = text(&out.stderr);
        assert!(
            !out.status.success() && !stderr.contains("panicked"),
            "{layers}: {stderr}"
        );
    }
    assert_clean_failure(&train(&["--layers", "16,4,15"]), "image size 16");
    assert_clean_failure(&train(&["--lr", "-0.1"]), "--lr must be a positive number");
    assert_clean_failure(&train(&["--lr", "inf"]), "--lr must be a positive number");
    assert_clean_failure(&train(&["--checkpoint-every", "1"]), "needs --model-out");
    // Buffers beyond the device's limits: a clear error before anything is allocated.
    let wide = train(&["--layers", "16,20000,16", "--max-binding-mib", "1"]);
    assert_clean_failure(&wide, "allows (1 MiB)");
    // Past the kernels' domain: refused by the flag check, whatever the device.
    let wider = train(&["--layers", "16,300000,16"]);
    assert_clean_failure(&wider, "a layer's width is at most 32768");
    assert_clean_failure(&train(&["--batch", "40000"]), "--batch is at most 32768");
    // Training flags that fit no run.
    let run = |flag: &str, value: &str| train_tiny(&[flag, value]);
    assert_clean_failure(&run("--epochs", "0"), "--epochs");
    assert_clean_failure(&run("--batch", "0"), "--batch");
    assert_clean_failure(&run("--lr", "0"), "--lr");
    assert_clean_failure(&run("--lr", "NaN"), "--lr");
    assert_clean_failure(&run("--limit", "0"), "--limit");
}

#[test]
fn unwritable_outputs_fail_before_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = tiny_model(dir.path());
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, b"x").unwrap();
    let inside = not_a_dir.join("codes.npy");
    let out = aeclust(&[
        "encode",
        "--model",
        s(&model),
        "--data",
        s(&data),
        "--out",
        s(&inside),
    ]);
    assert_clean_failure(&out, "cannot write");
    let out = aeclust(&["run", "--data", s(&data), "--out", s(&not_a_dir)]);
    assert_clean_failure(&out, "exists and is not a directory");
}

#[test]
fn resume_checks_the_file_and_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = tiny_model(dir.path());
    let resume = |file: &Path, extra: &[&str]| {
        let args = [
            &[
                "train",
                "--data",
                s(&data),
                "--model",
                s(file),
                "--epochs",
                "1",
            ][..],
            extra,
        ]
        .concat();
        aeclust(&args)
    };
    // Flags that say something else than the file are refused, naming the flag.
    for (flags, says) in [
        (
            &["--layers", "16,8,3,8,16"][..],
            "--layers 16,8,3,8,16 conflicts with",
        ),
        (&["--loss", "mse"][..], "--loss mse conflicts with"),
        (&["--batch", "7"][..], "at batch 7 take 10 an epoch"),
        (
            &["--limit", "10"][..],
            "but 10 samples at batch 32 take 1 an epoch",
        ),
        (&["--seed", "5"][..], "--seed 5 conflicts with"),
    ] {
        assert_clean_failure(&resume(&model, flags), says);
    }
    assert!(resume(&model, &["--lr", "0.0005"]).status.success());

    // Hostile counters: refused at once, before any work, and nothing is saved.
    for (key, value, says) in [
        (
            "aeclust.epochs",
            "18446744073709551615",
            "aeclust.epochs is",
        ),
        ("aeclust.epochs", "0", "aeclust.epochs is 0"),
        ("aeclust.adam_step", "0", "fewer than the"),
        ("aeclust.adam_step", "-3", "bad aeclust.adam_step"),
    ] {
        let file = dir.path().join("hostile.safetensors");
        rewrite_model(&model, &file, |meta, _| {
            meta.insert(key.into(), value.into());
        });
        let before = std::fs::read(&file).unwrap();
        let out_path = dir.path().join("out.safetensors");
        let start = std::time::Instant::now();
        let out = aeclust(&[
            "train",
            "--data",
            s(&data),
            "--model",
            s(&file),
            "--epochs",
            "18446744073709551615",
        ]);
        assert_clean_failure(&out, "--epochs must be between");
        let out = resume(&file, &["--model-out", s(&out_path)]);
        assert_clean_failure(&out, says);
        assert!(
            start.elapsed().as_secs() < 20,
            "{key}={value} took too long"
        );
        assert!(!out_path.exists(), "{key}={value}: a model was saved");
        assert_eq!(std::fs::read(&file).unwrap(), before);
    }
    // A damaged optimizer state is named as such, not as divergence.
    let file = dir.path().join("damaged.safetensors");
    rewrite_model(&model, &file, |_, tensors| {
        for (name, _, data) in tensors.iter_mut() {
            if name.starts_with("adam.v.") {
                data[..4].copy_from_slice(&(-1.0f32).to_le_bytes());
            }
        }
    });
    assert_clean_failure(&resume(&file, &[]), "the optimizer state is damaged");

    // Weights only, as exported from PyTorch: encode and cluster take it, train says what
    // is missing to resume.
    let weights = dir.path().join("weights.safetensors");
    rewrite_model(&model, &weights, |meta, tensors| {
        meta.clear();
        tensors.retain(|(name, _, _)| !name.starts_with("adam."));
    });
    let codes = dir.path().join("codes.npy");
    let out = aeclust(&[
        "encode",
        "--model",
        s(&weights),
        "--data",
        s(&data),
        "--out",
        s(&codes),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = aeclust(&[
        "cluster",
        "--model",
        s(&weights),
        "--data",
        s(&data),
        "--k",
        "3",
        "--n-init",
        "1",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_clean_failure(&resume(&weights, &[]), "has no optimizer state");
}

#[test]
fn fine_tuning_flags_that_fit_no_run() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = tiny_model(dir.path());
    let codes = dir.path().join("codes.npy");
    common::corpus::write_npy(&codes, &[32, 3], &[0.5f32; 96]);
    let cluster = |extra: &[&str]| {
        let mut args = vec!["cluster", "--data", s(&data), "--k", "3"];
        args.extend_from_slice(extra);
        aeclust(&args)
    };
    let with_model = ["--model", s(&model)];
    let cases: [(Vec<&str>, &str); 8] = [
        (
            vec!["--codes", s(&codes), "--fine-tune", "2"],
            "--fine-tune needs --model",
        ),
        (
            [&with_model[..], &["--fine-tuned-out", "f.safetensors"]].concat(),
            "needs --fine-tune",
        ),
        (
            [
                &with_model[..],
                &["--fine-tune", "2", "--clustering-out", "c.safetensors"],
            ]
            .concat(),
            "needs --fine-tuned-out",
        ),
        (
            [
                &with_model[..],
                &["--fine-tune", "2", "--fine-tune-move", "4"],
            ]
            .concat(),
            "smaller than the images",
        ),
        (
            [
                &with_model[..],
                &["--fine-tune", "2", "--fine-tune-lr", "0"],
            ]
            .concat(),
            "--fine-tune-lr must be a positive",
        ),
        (
            [
                &with_model[..],
                &["--fine-tune", "2", "--fine-tune-lr", "NaN"],
            ]
            .concat(),
            "--fine-tune-lr must be a positive",
        ),
        (
            [
                &with_model[..],
                &["--fine-tune", "2", "--fine-tune-turn", "181"],
            ]
            .concat(),
            "--fine-tune-turn must be between 0 and 180",
        ),
        (
            [
                &with_model[..],
                &["--fine-tune", "2", "--fine-tune-keep", "1.5"],
            ]
            .concat(),
            "--fine-tune-keep must be between 0 and 1",
        ),
    ];
    for (args, needle) in cases {
        let out = cluster(&args);
        assert_clean_failure(&out, needle);
    }
    // An output that is the model itself is refused like any other.
    let out = cluster(
        &[
            &with_model[..],
            &["--fine-tune", "2", "--fine-tuned-out", s(&model)],
        ]
        .concat(),
    );
    assert!(!out.status.success());
    assert!(std::fs::metadata(&model).unwrap().len() > 0);
}
