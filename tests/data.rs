//! The IDX reader: round trips and every kind of broken file.

mod common;

use std::path::Path;

use aeclust::data::idx::{
    encode_images, encode_labels, parse_images, parse_labels, read_images, read_labels,
};
use aeclust::data::{load_dir, Split};
use proptest::prelude::*;

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
    let labels = train.labels.as_ref().unwrap();
    assert!(labels.iter().all(|&l| l < 10));
    // MNIST's first training label is a 5.
    assert_eq!(labels[0], 5);
    assert_eq!((train.channels, train.classes.len()), (1, 10));
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

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn images_round_trip_and_every_truncation_fails(
        count in 1usize..20,
        rows in 1usize..9,
        cols in 1usize..9,
        seed in any::<u8>(),
        cut in 0.0f64..1.0,
        gz in any::<bool>(),
    ) {
        let pixels: Vec<u8> = (0..count * rows * cols).map(|i| (i as u8).wrapping_mul(seed)).collect();
        let raw = encode_images(count, rows, cols, &pixels);
        let file = if gz { gzip(&raw) } else { raw.clone() };
        let images = parse_images(&file, "x").unwrap();
        prop_assert_eq!((images.count, images.rows, images.cols), (count, rows, cols));
        prop_assert_eq!(images.pixels, pixels);
        let short = &raw[..((raw.len() as f64 * cut) as usize)];
        let short = if gz { gzip(short) } else { short.to_vec() };
        prop_assert!(parse_images(&short, "x").is_err());
        let mut long = raw.clone();
        long.push(0);
        prop_assert!(parse_images(&long, "x").is_err());
    }

    #[test]
    fn labels_round_trip(labels in proptest::collection::vec(any::<u8>(), 0..50)) {
        prop_assert_eq!(parse_labels(&encode_labels(&labels), "x").unwrap(), labels);
    }

    #[test]
    fn arbitrary_bytes_give_an_error_or_consistent_images(
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
        header in 0usize..4,
    ) {
        // Half the cases start with a real header so that the parser gets past the magic.
        let mut file = [0x0000_0803u32, 2, 2, 2][..header]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect::<Vec<u8>>();
        file.extend(bytes);
        for file in [file.clone(), gzip(&file)] {
            if let Ok(images) = parse_images(&file, "x") {
                prop_assert_eq!(images.pixels.len(), images.count * images.rows * images.cols);
            }
            let _ = parse_labels(&file, "x");
        }
    }
}
