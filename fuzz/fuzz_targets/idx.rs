//! The IDX reader on arbitrary bytes: an error or a dataset whose sizes agree, never a panic.
#![no_main]

use aeclust::data::idx::{parse_images, parse_labels};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(images) = parse_images(bytes, "fuzz") {
        assert_eq!(images.pixels.len(), images.count * images.rows * images.cols);
    }
    let _ = parse_labels(bytes, "fuzz");
});
