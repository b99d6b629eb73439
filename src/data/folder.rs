//! A folder of images, searched recursively and decoded in parallel.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Context, Result};
use image::imageops::FilterType;
use image::{DynamicImage, GenericImageView};
use rayon::prelude::*;

use super::Dataset;

/// File endings read as images (case-insensitive); other files are skipped and counted.
pub const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "jfif"];

/// What a folder holds: explicit train and test parts, or one pool.
pub enum Loaded {
    TrainTest(Dataset, Dataset),
    Pool(Dataset),
}

/// Top-level folder names that mark the held-out part.
const TEST_NAMES: [&str; 2] = ["test", "val"];

/// Every file below `dir` (not through linked folders), sorted by path, so that the order is
/// the same on every machine.
fn files_below(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .with_context(|| format!("cannot read {}", current.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read {}", current.display()))?;
            let path = entry.path();
            // Linked folders are not followed, so a link cycle cannot loop.
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
            } else if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Reads the folder at `dir`: with `train/` and `test/` (or `val/`) at its top, those are the
/// parts; the subfolders under them (or under `dir`) are the classes.
pub fn load(
    dir: &Path,
    resize: Option<(u32, u32)>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Loaded> {
    let test = TEST_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_dir());
    let train = dir.join("train");
    let (images, skipped) = match (&test, train.is_dir()) {
        (Some(test), true) => {
            let (train_files, skipped_train) = image_files(&train)?;
            let (test_files, skipped_test) = image_files(test)?;
            let classes = class_names(&[(&train, &train_files), (test, &test_files)]);
            let all: Vec<(&Path, PathBuf)> = train_files
                .into_iter()
                .map(|f| (train.as_path(), f))
                .chain(test_files.into_iter().map(|f| (test.as_path(), f)))
                .collect();
            let decoded = decode_all(dir, &all, &classes, resize, progress)?;
            let train_count = all
                .iter()
                .filter(|(root, _)| *root == train.as_path())
                .count();
            let everything = (0..decoded.count).collect::<Vec<_>>();
            let (train_part, test_part) = everything.split_at(train_count);
            return finish(
                Loaded::TrainTest(decoded.select(train_part), decoded.select(test_part)),
                skipped_train + skipped_test,
            );
        }
        _ => image_files(dir)?,
    };
    let classes = class_names(&[(dir, &images)]);
    let all: Vec<(&Path, PathBuf)> = images.into_iter().map(|f| (dir, f)).collect();
    let pool = decode_all(dir, &all, &classes, resize, progress)?;
    finish(Loaded::Pool(pool), skipped)
}

fn finish(loaded: Loaded, skipped: usize) -> Result<Loaded> {
    if skipped > 0 {
        eprintln!("notice: skipped {skipped} files that are not images");
    }
    Ok(loaded)
}

/// The image files below `dir` and how many other files there are.
fn image_files(dir: &Path) -> Result<(Vec<PathBuf>, usize)> {
    let files = files_below(dir)?;
    let total = files.len();
    let images: Vec<PathBuf> = files.into_iter().filter(|f| is_image(f)).collect();
    if images.is_empty() {
        bail!(
            "{}: no images found (looked for {} files)",
            dir.display(),
            IMAGE_EXTENSIONS.join(", ")
        );
    }
    let skipped = total - images.len();
    Ok((images, skipped))
}

/// The class of a file: the first folder below its root, if it is in one.
fn class_of(root: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(root).ok()?;
    let mut parts = relative.components();
    let first = parts.next()?;
    parts.next()?;
    Some(first.as_os_str().to_string_lossy().into_owned())
}

/// The sorted class names when every image sits in a subfolder, else none.
fn class_names(parts: &[(&Path, &Vec<PathBuf>)]) -> Option<Vec<String>> {
    let mut names = Vec::new();
    for (root, files) in parts {
        for file in files.iter() {
            names.push(class_of(root, file)?);
        }
    }
    names.sort();
    names.dedup();
    Some(names)
}

/// Decodes `files` (root, path) in parallel into one dataset; every image must have the size
/// of the first (after `resize`), and is grayscale or RGB as the first is.
fn decode_all(
    dir: &Path,
    files: &[(&Path, PathBuf)],
    classes: &Option<Vec<String>>,
    resize: Option<(u32, u32)>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Dataset> {
    if classes.as_ref().is_some_and(|c| c.len() > 256) {
        bail!("{}: more than 256 class folders", dir.display());
    }
    let done = AtomicUsize::new(0);
    let decoded: Vec<DynamicImage> = files
        .par_iter()
        .map(|(_, path)| {
            let image = image::open(path)
                .with_context(|| format!("cannot read the image {}", path.display()))?;
            let image = match resize {
                Some((w, h)) => image.resize_exact(w, h, FilterType::Triangle),
                None => image,
            };
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, files.len());
            Ok(image)
        })
        .collect::<Result<_>>()?;
    let (width, height) = decoded[0].dimensions();
    let colour = decoded.iter().any(|image| image.color().has_color());
    let channels = if colour { 3 } else { 1 };
    let mut pixels = Vec::with_capacity(files.len() * (width * height) as usize * channels);
    for (image, (_, path)) in decoded.iter().zip(files) {
        if image.dimensions() != (width, height) {
            bail!(
                "{} is {}x{}, but {} is {width}x{height}: give --resize WxH to bring every \
                 image to one size",
                path.display(),
                image.width(),
                image.height(),
                files[0].1.display()
            );
        }
        if colour {
            pixels.extend_from_slice(image.to_rgb8().as_raw());
        } else {
            pixels.extend_from_slice(image.to_luma8().as_raw());
        }
    }
    let labels = classes.as_ref().map(|classes| {
        files
            .iter()
            .map(|(root, file)| {
                let class = class_of(root, file).expect("every image has a class");
                classes.binary_search(&class).expect("a known class") as u8
            })
            .collect()
    });
    let names = files
        .iter()
        .map(|(_, file)| {
            file.strip_prefix(dir)
                .unwrap_or(file)
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    Ok(Dataset {
        count: files.len(),
        rows: height as usize,
        cols: width as usize,
        channels,
        pixels,
        labels,
        classes: classes.clone().unwrap_or_default(),
        names: Some(names),
    })
}
