//! An image folder, read in two steps: [`survey`] lists it as people lay folders out (split
//! folders, class folders, loose images) and reads every image's size from its header;
//! [`decode`] then decodes the images in parallel, each straight into its place in one
//! buffer.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Context, Result};
use image::imageops::FilterType;
use image::{ImageDecoder, ImageFormat, ImageReader, Limits};
use rayon::prelude::*;

use super::complete::missing_end;
use super::names::escape;
use super::walk::{Entry, Skipped, Walker};
use super::{Dataset, Shape, NO_LABEL};
use crate::identity::{FileId, Inputs};

/// File endings read as images (case-insensitive); other files are left out and listed.
pub const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "jfif"];

/// Top-level folder names (any case) of the training part and of the held-out part.
const TRAIN_NAMES: [&str; 2] = ["train", "training"];
const HELD_NAMES: [&str; 5] = ["test", "testing", "val", "valid", "validation"];

/// The most classes: a label is a byte, and [`NO_LABEL`] marks an image without one.
pub const MAX_CLASSES: usize = NO_LABEL as usize;

pub const NOT_AN_IMAGE: &str = "not an image aeclust reads (PNG, JPEG, BMP, GIF, WebP)";
pub const BESIDE_SPLITS: &str = "beside the split folders (only train/, test/ and val/ are read)";

/// One image to decode.
struct ImageFile {
    path: PathBuf,
    name: String,
    label: u8,
    format: ImageFormat,
}

/// A folder surveyed: every image to read, in order, with its label.
pub struct FolderPlan {
    files: Vec<ImageFile>,
    /// With split folders, how many of the files (the first ones) are the training part.
    pub train_count: Option<usize>,
    /// Every image's shape once decoded (after `--resize`).
    pub shape: Shape,
    pub classes: Vec<String>,
    /// Whether any image has a class (the others get [`NO_LABEL`]).
    pub labelled: bool,
    resize: Option<(u32, u32)>,
    /// The most bytes one image may take while it decodes.
    decode_limit: u64,
}

/// What a survey found beside the plan.
pub struct FolderSurvey {
    pub plan: FolderPlan,
    pub skipped: Vec<Skipped>,
    pub notices: Vec<String>,
    pub inputs: Inputs,
}

impl FolderPlan {
    pub fn count(&self) -> usize {
        self.files.len()
    }
}

fn named(entry: &Entry, names: &[&str]) -> bool {
    entry.is_dir
        && entry
            .name
            .to_str()
            .is_some_and(|n| names.iter().any(|x| x.eq_ignore_ascii_case(n)))
}

/// The files below the folder whose entries are `entries`, each with its class: the first
/// folder it sits in, or none for a file among `entries`.
fn classed_files(walker: &mut Walker, entries: Vec<Entry>) -> Result<Vec<(Entry, Option<String>)>> {
    let mut files = Vec::new();
    for entry in entries {
        if !entry.is_dir {
            files.push((entry, None));
        } else if walker.enter(&entry) {
            let class = escape(&entry.name);
            for file in walker.files_below(&entry.path)? {
                files.push((file, Some(class.clone())));
            }
        }
    }
    files.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    Ok(files)
}

fn describe_dirs(entries: &[&Entry]) -> String {
    let names: Vec<String> = entries
        .iter()
        .map(|e| format!("{}/", escape(&e.name)))
        .collect();
    names.join(" and ")
}

/// Lists the folder at `dir` (leaving out the folders in `excluded`) and reads every image's
/// header. With `train/` and `test/` or `val/` at its top (any case) those are the parts
/// (`test/` and `val/` both held out); with one of them alone, that folder is the data; the
/// subfolders of the data are its classes.
pub fn survey(
    dir: &Path,
    resize: Option<(u32, u32)>,
    excluded: &[FileId],
    decode_limit: u64,
    val_fraction: f64,
) -> Result<FolderSurvey> {
    let mut walker = Walker::new(dir, excluded);
    let mut notices = Vec::new();
    let top = walker.entries(dir)?;
    let train_dirs: Vec<&Entry> = top.iter().filter(|e| named(e, &TRAIN_NAMES)).collect();
    let held_dirs: Vec<&Entry> = top.iter().filter(|e| named(e, &HELD_NAMES)).collect();
    let mut parts: Vec<Vec<(Entry, Option<String>)>> = Vec::new();
    if train_dirs.is_empty() && held_dirs.is_empty() {
        parts.push(classed_files(&mut walker, top)?);
    } else {
        let mut left_out = Vec::new();
        for entry in &top {
            if named(entry, &TRAIN_NAMES) || named(entry, &HELD_NAMES) {
                continue;
            }
            left_out.push(format!(
                "{}{}",
                escape(&entry.name),
                if entry.is_dir { "/" } else { "" }
            ));
            if !entry.is_dir {
                walker.skip_file(&entry.path, BESIDE_SPLITS);
            } else if walker.enter(entry) {
                walker.skip_all(&entry.path, BESIDE_SPLITS)?;
            }
        }
        if !left_out.is_empty() {
            notices.push(format!(
                "read only the split folders of {}; left out {} beside them",
                dir.display(),
                shorten(&left_out)
            ));
        }
        for group in [&train_dirs, &held_dirs] {
            let mut files = Vec::new();
            for entry in group.iter() {
                if walker.enter(entry) {
                    let entries = walker.entries(&entry.path)?;
                    files.extend(classed_files(&mut walker, entries)?);
                }
            }
            files.sort_by(|a, b| a.0.path.cmp(&b.0.path));
            parts.push(files);
        }
        let fraction = format!("{}%", val_fraction * 100.0);
        match (train_dirs.is_empty(), held_dirs.is_empty()) {
            (false, false) => {
                notices.push(format!(
                    "{} is the training part, {} held out",
                    describe_dirs(&train_dirs),
                    describe_dirs(&held_dirs)
                ));
            }
            (false, true) => notices.push(format!(
                "{} holds {} and no test/ or val/: {fraction} of its images are held out for \
                 validation (--val-fraction)",
                dir.display(),
                describe_dirs(&train_dirs)
            )),
            _ => notices.push(format!(
                "{} holds {} and no train/: {fraction} of its images are held out for \
                 validation (--val-fraction), the rest trained on",
                dir.display(),
                describe_dirs(&held_dirs)
            )),
        }
        if train_dirs.is_empty() || held_dirs.is_empty() {
            let mut all: Vec<_> = parts.drain(..).flatten().collect();
            all.sort_by(|a, b| a.0.path.cmp(&b.0.path));
            parts = vec![all];
        }
    }
    let parts: Vec<Vec<(PathBuf, Option<String>, FileId)>> = parts
        .iter()
        .map(|part| images_only(&mut walker, part))
        .collect();
    let train_count = (parts.len() == 2).then(|| parts[0].len());
    let files = parts.concat();
    if let Some(name) = walker.outputs_left_out.first() {
        notices.push(format!(
            "left out {name}/ and any other aeclust output folder inside {}",
            dir.display()
        ));
    }
    if files.is_empty() {
        bail!(
            "{}: no images found (looked for {} files{})",
            dir.display(),
            IMAGE_EXTENSIONS.join(", "),
            if walker.skipped.is_empty() {
                String::new()
            } else {
                format!("; {} files left out", walker.skipped.len())
            }
        );
    }
    if train_count.is_some_and(|t| t == 0 || t == files.len()) {
        bail!(
            "{}: one of the split folders holds no images; give a folder with images in both \
             train/ and test/ (or val/), or in neither",
            dir.display()
        );
    }
    let mut classes: Vec<String> = files.iter().filter_map(|f| f.1.clone()).collect();
    classes.sort();
    classes.dedup();
    if classes.len() > MAX_CLASSES {
        bail!(
            "{}: {} class folders, more than the {MAX_CLASSES} aeclust takes",
            dir.display(),
            classes.len()
        );
    }
    let unlabelled: Vec<&PathBuf> = files
        .iter()
        .filter(|f| f.1.is_none())
        .map(|f| &f.0)
        .collect();
    if !classes.is_empty() && !unlabelled.is_empty() {
        notices.push(format!(
            "{} images are in no class folder (the first: {}): clustered without a label, and \
             left out of the scores",
            unlabelled.len(),
            walker.name_of(unlabelled[0])
        ));
    }
    let mut inputs = Inputs::default();
    let files: Vec<ImageFile> = files
        .into_iter()
        .map(|(path, class, id)| {
            inputs.add_id(id, path.clone());
            let label = class.map_or(NO_LABEL, |c| {
                classes.binary_search(&c).expect("a known class") as u8
            });
            let format = ImageFormat::from_path(&path).expect("an image extension");
            ImageFile {
                name: walker.name_of(&path),
                path,
                label,
                format,
            }
        })
        .collect();
    let (shape, mixed) = read_headers(&files, resize, decode_limit)?;
    if let Some(i) = mixed {
        notices.push(format!(
            "some images have colour (the first: {}) and others are gray: every image is read \
             as RGB (3 values per pixel)",
            files[i].name
        ));
    }
    notices.extend(summary_of_skipped(&walker.skipped));
    Ok(FolderSurvey {
        plan: FolderPlan {
            files,
            train_count,
            shape,
            labelled: !classes.is_empty(),
            classes,
            resize,
            decode_limit,
        },
        skipped: walker.skipped,
        notices,
        inputs,
    })
}

/// The image files of `files` (by extension); the others are recorded as left out.
fn images_only(
    walker: &mut Walker,
    files: &[(Entry, Option<String>)],
) -> Vec<(PathBuf, Option<String>, FileId)> {
    let mut images = Vec::new();
    for (entry, class) in files {
        if is_image(&entry.path) {
            images.push((entry.path.clone(), class.clone(), entry.id));
        } else {
            walker.skip_file(&entry.path, NOT_AN_IMAGE);
        }
    }
    images
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// The first few of `names`, and how many more.
fn shorten(names: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut text = names[..names.len().min(SHOWN)].join(", ");
    if names.len() > SHOWN {
        text += &format!(" and {} more", names.len() - SHOWN);
    }
    text
}

/// One line per reason files were left out: how many, and the first few.
fn summary_of_skipped(skipped: &[Skipped]) -> Vec<String> {
    let mut reasons: Vec<&str> = skipped.iter().map(|s| s.why).collect();
    reasons.sort();
    reasons.dedup();
    reasons
        .into_iter()
        .filter(|&why| why != BESIDE_SPLITS)
        .map(|why| {
            let names: Vec<String> = skipped
                .iter()
                .filter(|s| s.why == why)
                .map(|s| s.name.clone())
                .collect();
            format!(
                "left out {} {}: {}",
                names.len(),
                if names.len() == 1 { "entry" } else { "entries" },
                format_args!("{why} ({})", shorten(&names))
            )
        })
        .collect()
}

/// Reads every image's header (in parallel): the shape they will have once decoded (one
/// size, or `resize`; RGB if any has colour) and, when gray and colour images are mixed, the
/// first one with colour; refusing an image
/// whose decoding would take more than `decode_limit` bytes.
fn read_headers(
    files: &[ImageFile],
    resize: Option<(u32, u32)>,
    decode_limit: u64,
) -> Result<(Shape, Option<usize>)> {
    let headers: Vec<((u32, u32), bool)> = files
        .par_iter()
        .map(|file| {
            let cannot = || format!("cannot read the image {}", file.path.display());
            let mut reader = ImageReader::open(&file.path).with_context(cannot)?;
            reader.set_format(file.format);
            let decoder = reader.into_decoder().with_context(cannot)?;
            let (width, height) = decoder.dimensions();
            let bytes = decoder.total_bytes();
            if bytes > decode_limit {
                bail!(
                    "{} is {width}x{height} pixels, {} decoded, above the {} one image may \
                     take while it decodes; shrink it before reading",
                    file.path.display(),
                    super::bytes_text(bytes),
                    super::bytes_text(decode_limit)
                );
            }
            Ok(((width, height), decoder.color_type().has_color()))
        })
        .collect::<Result<_>>()?;
    let (first_size, _) = headers[0];
    if resize.is_none() {
        if let Some(i) = headers.iter().position(|(size, _)| *size != first_size) {
            let (w, h) = headers[i].0;
            bail!(
                "{} is {w}x{h}, but {} is {}x{}: give --resize WxH to bring every image to one \
                 size",
                files[i].path.display(),
                files[0].path.display(),
                first_size.0,
                first_size.1
            );
        }
    }
    let (cols, rows) = resize.unwrap_or(first_size);
    let colour = headers.iter().position(|(_, colour)| *colour);
    let gray = headers.iter().any(|(_, colour)| !colour);
    let shape = Shape {
        rows: rows as usize,
        cols: cols as usize,
        channels: if colour.is_some() { 3 } else { 1 },
    };
    Ok((shape, colour.filter(|_| gray)))
}

/// Decodes every image of `plan` into one dataset (in parallel, each into its own slot),
/// strictly: a file cut short is an error naming it. `progress(done, total)` follows them.
pub fn decode(plan: &FolderPlan, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<Dataset> {
    let size = plan.shape.size();
    let total = plan.files.len();
    let mut pixels = Vec::new();
    pixels.try_reserve_exact(total * size).with_context(|| {
        format!(
            "cannot hold {} of images",
            super::bytes_text((total * size) as u64)
        )
    })?;
    pixels.resize(total * size, 0);
    let done = AtomicUsize::new(0);
    let results: Vec<Result<()>> = pixels
        .par_chunks_mut(size)
        .zip(&plan.files)
        .map(|(slot, file)| {
            decode_one(file, plan, slot)?;
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            Ok(())
        })
        .collect();
    results.into_iter().collect::<Result<()>>()?;
    Ok(Dataset {
        count: total,
        rows: plan.shape.rows,
        cols: plan.shape.cols,
        channels: plan.shape.channels,
        pixels,
        labels: plan
            .labelled
            .then(|| plan.files.iter().map(|f| f.label).collect()),
        classes: plan.classes.clone(),
        names: Some(plan.files.iter().map(|f| f.name.clone()).collect()),
    })
}

fn decode_one(file: &ImageFile, plan: &FolderPlan, slot: &mut [u8]) -> Result<()> {
    let shown = file.path.display();
    let bytes =
        std::fs::read(&file.path).with_context(|| format!("cannot read the image {shown}"))?;
    if let Some(why) = missing_end(file.format, &bytes) {
        bail!("cannot read the image {shown}: {why}");
    }
    let mut reader = ImageReader::with_format(Cursor::new(&bytes), file.format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(plan.decode_limit);
    reader.limits(limits);
    let image = reader
        .decode()
        .with_context(|| format!("cannot read the image {shown}"))?;
    let image = match plan.resize {
        Some((w, h)) => image.resize_exact(w, h, FilterType::Triangle),
        None => image,
    };
    let Shape { rows, cols, .. } = plan.shape;
    if (image.width() as usize, image.height() as usize) != (cols, rows) {
        bail!(
            "{shown} decodes to {}x{}, not the {cols}x{rows} its header said",
            image.width(),
            image.height()
        );
    }
    if plan.shape.channels == 3 {
        slot.copy_from_slice(image.to_rgb8().as_raw());
    } else {
        slot.copy_from_slice(image.to_luma8().as_raw());
    }
    Ok(())
}
