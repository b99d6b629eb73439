//! The IDX reader: round trips and every kind of broken file.

mod common;

use std::path::Path;

use aeclust::data::idx::{encode_images, encode_labels, read_images, read_labels};
use aeclust::data::{load_dir, Split};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn round_trip_raw_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    common::write_idx_dataset(&dir.path().join("raw"), 12, 5, 3, false);
    common::write_idx_dataset(&dir.path().join("gz"), 12, 5, 3, true);
    let raw = load_dir(&dir.path().join("raw"), Split::Train).unwrap();
    let gz = load_dir(&dir.path().join("gz"), Split::Train).unwrap();
    assert_eq!((raw.count, raw.rows, raw.cols), (12, 3, 3));
    assert_eq!(raw.pixels, gz.pixels);
    assert_eq!(raw.labels, gz.labels);
    let test = load_dir(&dir.path().join("gz"), Split::Test).unwrap();
    assert_eq!(test.count, 5);
    assert_eq!(test.pixels.len(), 5 * 9);
}

#[test]
fn bundled_mnist_has_the_expected_shape() {
    let train = load_dir(Path::new("data/mnist"), Split::Train).unwrap();
    let test = load_dir(Path::new("data/mnist"), Split::Test).unwrap();
    assert_eq!((train.count, train.rows, train.cols), (60_000, 28, 28));
    assert_eq!(test.count, 10_000);
    assert!(train.labels.iter().all(|&l| l < 10));
    // MNIST's first training label is a 5.
    assert_eq!(train.labels[0], 5);
}

fn error_of(result: Result<impl Sized, impl std::fmt::Display>) -> String {
    match result {
        Ok(_) => panic!("a broken file was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn broken_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let images = encode_images(2, 2, 2, &[1, 2, 3, 4, 5, 6, 7, 8]);
    let labels = encode_labels(&[1, 2]);

    let e = error_of(read_images(&write(d, "labels-as-images", &labels)));
    assert!(e.contains("not an IDX file of images"), "{e}");
    let e = error_of(read_images(&write(
        d,
        "truncated",
        &images[..images.len() - 3],
    )));
    assert!(e.contains("truncated"), "{e}");
    let e = error_of(read_images(&write(d, "short-header", &images[..6])));
    assert!(e.contains("truncated"), "{e}");
    let mut long = images.clone();
    long.push(0);
    let e = error_of(read_images(&write(d, "trailing", &long)));
    assert!(e.contains("after the data"), "{e}");
    let e = error_of(read_images(&write(d, "empty", &[])));
    assert!(e.contains("empty"), "{e}");
    let e = error_of(read_images(&write(
        d,
        "bad.gz",
        &[0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5],
    )));
    assert!(e.contains("corrupt gzip"), "{e}");
    let e = error_of(read_labels(&d.join("missing")));
    assert!(e.contains("cannot read"), "{e}");
    let e = error_of(read_images(&write(
        d,
        "no-images",
        &encode_images(0, 28, 28, &[]),
    )));
    assert!(e.contains("no images"), "{e}");
}

#[test]
fn label_count_must_match() {
    let dir = tempfile::tempdir().unwrap();
    common::write_idx_dataset(dir.path(), 4, 4, 2, false);
    std::fs::write(
        dir.path().join("train-labels-idx1-ubyte"),
        encode_labels(&[1, 2, 3]),
    )
    .unwrap();
    let e = error_of(load_dir(dir.path(), Split::Train));
    assert!(e.contains("3 labels for 4 images"), "{e}");
}
