//! Users' data generated for the tests: folders of pictures and NumPy arrays.

use std::path::Path;

use rand::Rng;

/// Writes `images` (each `w` x `h` x `channels` bytes) as PNGs under `dir`, the i-th at
/// `path_of(i)`.
pub fn write_pngs(
    dir: &Path,
    images: &[Vec<u8>],
    (w, h, channels): (u32, u32, usize),
    path_of: impl Fn(usize) -> String,
) {
    let colour = if channels == 3 {
        image::ExtendedColorType::Rgb8
    } else {
        image::ExtendedColorType::L8
    };
    for (i, pixels) in images.iter().enumerate() {
        let path = dir.join(path_of(i));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        image::save_buffer(&path, pixels, w, h, colour).unwrap();
    }
}

/// `count` images of `side` x `side` x `channels` bytes in `classes` classes: class c is a
/// bright band at a place of its own, plus noise, so that the classes can be told apart.
pub fn banded(
    count: usize,
    side: usize,
    channels: usize,
    classes: usize,
) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut rng = super::rng(3);
    let labels: Vec<u8> = (0..count).map(|i| (i % classes) as u8).collect();
    let images = labels
        .iter()
        .map(|&c| {
            (0..side * side * channels)
                .map(|e| {
                    let row = e / (side * channels);
                    let channel = e % channels;
                    let band = row * classes / side == c as usize;
                    let base: u8 = if band { 200 } else { 20 };
                    // Colour images differ per channel, so a sheet of them is not gray.
                    base.saturating_add((channel * 25) as u8)
                        .saturating_add(rng.random_range(0..30))
                })
                .collect()
        })
        .collect();
    (images, labels)
}

pub fn write_npy<T: npyz::AutoSerialize + Copy>(path: &Path, shape: &[u64], values: &[T]) {
    use npyz::WriterBuilder;
    let mut bytes = Vec::new();
    let mut writer = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut bytes)
        .begin_nd()
        .unwrap();
    writer.extend(values.iter().copied()).unwrap();
    writer.finish().unwrap();
    std::fs::write(path, bytes).unwrap();
}
