//! A clustering kept as a file and new images placed in it (`aeclust assign`): the images
//! clustered get their clusters back, an image's answer does not depend on the batch it came
//! with, the GPU gives the CPU's labels, and a clustering refuses another model's codes.

mod common;

use std::path::{Path, PathBuf};

use common::cli::{aeclust, assert_clean_failure, s, text};

/// `run` on the bundled digits on the CPU into `dir/name`, with `extra` flags.
fn run_digits(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let args = [
        &["run", "--data", "data/digits", "--out", s(&out), "--quiet"][..],
        &["--backend", "cpu", "--n-init", "2"],
        extra,
    ]
    .concat();
    let result = aeclust(&args);
    assert!(result.status.success(), "{}", text(&result.stderr));
    out
}

/// `assign` of `data` with the model and clustering of the run in `out`, into `csv`.
fn assign(out: &Path, data: &Path, csv: &Path, backend: &str) -> String {
    let clustering = out.join("clustering.safetensors");
    let model = out.join("model.safetensors");
    let result = aeclust(&[
        "assign",
        "--clustering",
        s(&clustering),
        "--model",
        s(&model),
        "--data",
        s(data),
        "--out",
        s(csv),
        "--backend",
        backend,
    ]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    std::fs::read_to_string(csv).unwrap()
}

fn labels(csv: &str) -> Vec<String> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .collect()
}

/// A folder with the digits of classes 3 and 7 only, under the same names.
fn subset(dir: &Path) -> PathBuf {
    let sub = dir.join("subset");
    for class in ["3", "7"] {
        std::fs::create_dir_all(sub.join(class)).unwrap();
        for entry in std::fs::read_dir(Path::new("data/digits").join(class)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), sub.join(class).join(entry.file_name())).unwrap();
        }
    }
    sub
}

/// The lines of `all` whose image is in `some`, which must be exactly `some`'s lines.
fn assert_rows_independent_of_the_batch(all: &str, some: &str) {
    for line in some.lines().skip(1) {
        let image = line.split(',').next().unwrap();
        let whole = all
            .lines()
            .find(|l| l.split(',').next() == Some(image))
            .unwrap_or_else(|| panic!("{image} missing"));
        assert_eq!(line, whole, "the row of {image} depends on its batch");
    }
}

#[test]
fn the_clustered_images_get_their_clusters_back_in_any_batch() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_digits(dir.path(), "plain", &[]);
    let digits = Path::new("data/digits");
    let all = assign(&out, digits, &dir.path().join("all.csv"), "cpu");
    // Without an embedding, assigning is the clustering's last step: the same bytes.
    let clustered = std::fs::read_to_string(out.join("assignments.csv")).unwrap();
    assert_eq!(all, clustered);
    let some = assign(
        &out,
        &subset(dir.path()),
        &dir.path().join("some.csv"),
        "cpu",
    );
    assert_eq!(some.lines().count() - 1, 183 + 179);
    assert_rows_independent_of_the_batch(&all, &some);
}

#[test]
fn through_umap_new_points_are_placed_one_by_one_and_agree_with_the_clustering() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_digits(dir.path(), "umap", &["--embed", "umap"]);
    assert!(out.join("embedding.npy").is_file());
    let (values, n, dims) = aeclust::npy::read_matrix(&out.join("embedding.npy")).unwrap();
    assert_eq!((n, dims, values.len()), (1797, 10, 17970));
    let digits = Path::new("data/digits");
    let all = assign(&out, digits, &dir.path().join("all.csv"), "cpu");
    let clustered = std::fs::read_to_string(out.join("assignments.csv")).unwrap();
    let (placed, fitted) = (labels(&all), labels(&clustered));
    let same = placed.iter().zip(&fitted).filter(|(a, b)| a == b).count();
    // 1795 of 1797 (0.9989) on the development machine.
    assert!(same as f64 / 1797.0 >= 0.99, "{same} of 1797 agree");
    let some = assign(
        &out,
        &subset(dir.path()),
        &dir.path().join("some.csv"),
        "cpu",
    );
    assert_rows_independent_of_the_batch(&all, &some);
    // Twice the same bytes.
    assert_eq!(
        assign(&out, digits, &dir.path().join("again.csv"), "cpu"),
        all
    );
}

#[test]
fn the_gpu_assigns_the_cpus_labels() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_digits(dir.path(), "plain", &["--k", "12"]);
    let codes = out.join("codes.npy");
    let clustering = out.join("clustering.safetensors");
    let by = |backend: &str| {
        let csv = dir.path().join(format!("{backend}.csv"));
        let args = [
            "assign",
            "--clustering",
            s(&clustering),
            "--codes",
            s(&codes),
        ];
        let result = aeclust(&[&args[..], &["--out", s(&csv), "--backend", backend]].concat());
        assert!(result.status.success(), "{}", text(&result.stderr));
        std::fs::read_to_string(csv).unwrap()
    };
    // From the same codes, the kernel and its twin give the same labels.
    assert_eq!(labels(&by("gpu")), labels(&by("cpu")));
    // From the images, each device encodes them itself (sums in other orders).
    let digits = Path::new("data/digits");
    let gpu = assign(&out, digits, &dir.path().join("g.csv"), "gpu");
    let cpu = assign(&out, digits, &dir.path().join("c.csv"), "cpu");
    let same = labels(&gpu)
        .iter()
        .zip(&labels(&cpu))
        .filter(|(a, b)| a == b)
        .count();
    assert!(same >= 1790, "{same} of 1797");
}

#[test]
fn a_clustering_refuses_another_models_codes_and_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_digits(dir.path(), "first", &[]);
    let other = run_digits(dir.path(), "second", &["--seed", "1"]);
    let csv = dir.path().join("a.csv");
    let clustering = out.join("clustering.safetensors");
    let with_model = |model: &Path, clustering: &Path| {
        aeclust(&[
            "assign",
            "--clustering",
            s(clustering),
            "--model",
            s(model),
            "--data",
            "data/digits",
            "--out",
            s(&csv),
            "--backend",
            "cpu",
        ])
    };
    assert_clean_failure(
        &with_model(&other.join("model.safetensors"), &clustering),
        "made from the codes of another model",
    );
    assert_clean_failure(
        &with_model(
            &out.join("model.safetensors"),
            &out.join("model.safetensors"),
        ),
        "is not a clustering file",
    );
    assert!(!csv.exists());
}

#[test]
fn a_clustering_from_codes_takes_codes_and_a_damaged_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_digits(dir.path(), "plain", &[]);
    let codes = out.join("codes.npy");
    let from_codes = dir.path().join("from-codes.safetensors");
    let args = [
        "cluster",
        "--codes",
        s(&codes),
        "--k",
        "5",
        "--clustering-out",
        s(&from_codes),
    ];
    let result = aeclust(&[&args[..], &["--backend", "cpu"]].concat());
    assert!(result.status.success(), "{}", text(&result.stderr));
    // It cannot tell which model its codes came from, so it takes no model.
    let csv = dir.path().join("a.csv");
    let with_model = aeclust(&[
        "assign",
        "--clustering",
        s(&from_codes),
        "--model",
        s(&out.join("model.safetensors")),
        "--data",
        "data/digits",
        "--out",
        s(&csv),
        "--backend",
        "cpu",
    ]);
    assert_clean_failure(&with_model, "give the codes to assign with --codes");
    // A scale that does not fit the centroids (every distance would underflow).
    let damaged = dir.path().join("damaged.safetensors");
    common::cli::rewrite_model(&out.join("clustering.safetensors"), &damaged, |meta, _| {
        meta.insert("aeclust.kmeans_scale_exponent".into(), "128".into());
    });
    let args = [
        "assign",
        "--clustering",
        s(&damaged),
        "--codes",
        s(&codes),
        "--out",
        s(&csv),
    ];
    assert_clean_failure(&aeclust(&args), "the clustering is damaged");
    assert!(!csv.exists());
}
