//! Flags shared by several commands, and the helpers they share.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;

use aeclust::cluster::{Init, KmeansConfig};
use aeclust::data::{parse_size, DataOptions, Source, SourceKind, Split, Survey};
use aeclust::device::{BackendChoice, Device};
use aeclust::embed::{NeighbourSearch, UmapConfig};
use aeclust::gpu::GpuRequest;
use aeclust::identity::{absolute, refuse_duplicates, Inputs};
use aeclust::model::{parse_activations, parse_widths, Loss};
use aeclust::output::check_writable;
use aeclust::output::OUTPUT_MARKER;
use aeclust::pipeline::FineTunePlan;
use aeclust::recipe::{Recipe, RecipeSettings};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Args)]
pub struct DeviceArgs {
    /// Where to compute (the default can be set with AECLUST_BACKEND).
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto, env = "AECLUST_BACKEND")]
    pub backend: BackendChoice,
    /// Use the adapter whose name contains this text (see `aeclust info`).
    #[arg(long)]
    pub adapter: Option<String>,
    /// Use GPU buffers of at most this many MiB, as a device smaller than this one would
    /// (large datasets are split across buffers either way).
    #[arg(long, value_name = "MIB")]
    pub max_binding_mib: Option<u64>,
}

impl DeviceArgs {
    pub fn gpu_request(&self) -> GpuRequest<'_> {
        GpuRequest {
            adapter: self.adapter.as_deref(),
            max_binding_bytes: self.max_binding_mib.map(|mib| mib << 20),
            ..Default::default()
        }
    }
}

/// Where the images come from, shared by every command that reads them.
#[derive(Args)]
pub struct DataArgs {
    /// The images: a directory with MNIST's four IDX files (train-/t10k-, images/labels,
    /// .gz or raw); a folder of images (PNG, JPEG, BMP, GIF, WebP, searched recursively
    /// through links; subfolders are classes; train/ and test/ or val/ at its top, in any
    /// case, are the splits); or a .npy array (N x H x W, N x H x W x C or N x D, of an integer
    /// type with values 0-255 or a float type with values in [0, 1]).
    #[arg(long, default_value = "data/mnist")]
    pub data: PathBuf,
    /// Resize every image of a folder to WIDTHxHEIGHT (bilinear, the `image` crate's
    /// triangle filter).
    #[arg(long, value_name = "WxH")]
    pub resize: Option<String>,
    /// The part of a folder or array without a test part held out for validation (always
    /// the same images).
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    pub val_fraction: f64,
    /// Labels of a .npy dataset: an integer .npy, one class index per image.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// The most memory the decoded images may take [default: half the memory available].
    #[arg(long, value_name = "MIB")]
    pub max_memory_mib: Option<u64>,
}

impl DataArgs {
    pub fn options(&self) -> Result<DataOptions> {
        let options = DataOptions {
            resize: self.resize.as_deref().map(parse_size).transpose()?,
            val_fraction: self.val_fraction,
            labels: self.labels.clone(),
            max_memory: self.max_memory_mib.map(|mib| mib.saturating_mul(1 << 20)),
            exclude: Vec::new(),
        };
        options.check()?;
        Ok(options)
    }

    /// Checks the flags that need no data.
    pub fn check(&self) -> Result<()> {
        self.options().map(drop)
    }

    /// Surveys the data (leaving out the folder `exclude`, an output directory), saying what
    /// it is on the first line and what was done with its layout on notice lines.
    pub fn survey(&self, exclude: Option<&Path>) -> Result<Survey> {
        let mut options = self.options()?;
        options.exclude.extend(exclude.map(Path::to_path_buf));
        let kind = SourceKind::of(&self.data)?;
        println!("data: {} ({})", self.data.display(), kind.describe());
        let survey = Survey::of(&self.data, &options)?;
        for notice in &survey.notices {
            eprintln!("notice: {notice}");
        }
        Ok(survey)
    }

    /// Decodes the surveyed images, with a progress bar on a terminal while a folder decodes.
    pub fn load(&self, survey: Survey) -> Result<Source> {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("decoding [{bar:30}] {pos}/{len} images ({eta} left)")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        let progress = |done: usize, total: usize| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        };
        let source = survey.load(&progress);
        bar.finish_and_clear();
        source
    }

    /// The split `arg` names, or the default for this data's kind.
    pub fn split(&self, arg: Option<SplitArg>, survey: &Survey) -> Split {
        arg.map_or(Split::default_for(survey.kind), SplitArg::split)
    }
}

/// The training recipe, shared by `train` and `run`.
#[derive(Args)]
pub struct RecipeArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The model and training settings to start from; the flags below override its values.
    #[arg(long, value_enum, default_value_t = Recipe::Blog)]
    pub recipe: Recipe,
    /// Passes over the training set [blog: 3, deep: 20].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Samples per Adam step, at most 32768 [blog: 32, deep: 256].
    #[arg(long)]
    pub batch: Option<usize>,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3, allow_negative_numbers = true)]
    pub lr: f32,
    /// Seed of the initial weights and of the shuffle [default: 0; when resuming, the file's].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Layer widths from input to reconstruction, each at most 32768 [blog: 784,128,32,128,784;
    /// deep: 784,500,500,2000,10,2000,500,500,784].
    #[arg(long)]
    pub layers: Option<String>,
    /// One activation per layer, relu, linear or sigmoid [ReLU inside, the code layer linear
    /// in the deep recipe, the output the loss's].
    #[arg(long)]
    pub activations: Option<String>,
    /// Reconstruction loss: bce (sigmoid output) or mse (linear output) [blog: bce, deep: mse].
    #[arg(long, value_enum)]
    pub loss: Option<Loss>,
    /// Train on N of the training images only: MNIST's first N, a sample across all classes
    /// of any other data (the same on every run).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Also save the model (with Adam's state) after every N epochs, so that a killed run
    /// resumes from its last checkpoint with `train --model`.
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<usize>,
}

impl RecipeArgs {
    /// The typed settings, after checking the flags that can be checked without data.
    pub fn settings(&self) -> Result<RecipeSettings> {
        self.data.check()?;
        let settings = RecipeSettings {
            recipe: self.recipe,
            epochs: self.epochs,
            batch: self.batch,
            lr: self.lr,
            seed: self.seed,
            layers: self.layers.as_deref().map(parse_widths).transpose()?,
            activations: self
                .activations
                .as_deref()
                .map(parse_activations)
                .transpose()?,
            loss: self.loss,
            limit: self.limit,
            checkpoint_every: self.checkpoint_every,
        };
        settings.config()?;
        Ok(settings)
    }
}

/// Which images a command encodes or clusters [default: MNIST's test set; every image of a
/// folder or an array].
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SplitArg {
    /// The training part.
    Train,
    /// The held-out part: MNIST's t10k files, a folder's test/ or val/, or the
    /// --val-fraction of the rest.
    #[value(alias = "val")]
    Test,
    /// Everything.
    All,
}

impl SplitArg {
    pub fn split(self) -> Split {
        match self {
            SplitArg::Train => Split::Train,
            SplitArg::Test => Split::Test,
            SplitArg::All => Split::All,
        }
    }
}

/// k-means settings, shared by `cluster` and `run`.
#[derive(Args)]
pub struct KmeansArgs {
    /// Number of clusters, 1 to 256 (and at most the number of points).
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// How the first centroids are chosen.
    #[arg(long, value_enum, default_value_t = Init::KmeansPlusPlus)]
    pub init: Init,
    /// Restarts; the lowest inertia wins.
    #[arg(long, default_value_t = 10)]
    pub n_init: usize,
    /// Most Lloyd iterations per restart.
    #[arg(long, default_value_t = 300)]
    pub max_iter: usize,
    /// Stop when the squared centroid shift is at most this times the mean feature variance.
    #[arg(long, default_value_t = 1e-4, allow_negative_numbers = true)]
    pub tol: f64,
}

impl KmeansArgs {
    /// The k-means settings, with initial centroids drawn from `seed`, once checked.
    pub fn config(&self, seed: u64) -> Result<KmeansConfig> {
        let config = KmeansConfig {
            k: self.k,
            init: self.init,
            n_init: self.n_init,
            max_iter: self.max_iter,
            tol: self.tol,
            seed,
        };
        config.check()?;
        Ok(config)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EmbedMethod {
    /// Cluster the features as they are.
    None,
    /// Embed them with UMAP first (and cluster both, side by side).
    Umap,
}

/// Fine-tuning the encoder towards its clusters, shared by `cluster` and `run`.
#[derive(Args)]
pub struct FineTuneArgs {
    /// After clustering, train the encoder this many epochs towards the clusters (DEC with
    /// images moved a few pixels, as DEC-DA), then cluster each image by its fine-tuned code's
    /// nearest cluster centre; 0 leaves the codes as they are. Sharper clusters where the
    /// codes' clusters are mostly right already (40 epochs with --embed umap on MNIST).
    #[arg(long, default_value_t = 0, value_name = "EPOCHS")]
    pub fine_tune: usize,
    /// Fine-tuning: images move by up to this many whole pixels each way.
    #[arg(long, default_value_t = FineTunePlan::default().max_move, value_name = "PIXELS")]
    pub fine_tune_move: usize,
    /// Fine-tuning: images turn by up to this many degrees either way.
    #[arg(long, default_value_t = FineTunePlan::default().max_turn, value_name = "DEGREES")]
    pub fine_tune_turn: f64,
    /// Fine-tuning: keep its clusters only when at least this share of the images stay in the
    /// cluster they started in (0 keeps them always); otherwise the clusters stay as they were.
    #[arg(long, default_value_t = FineTunePlan::default().keep_agreement, value_name = "SHARE")]
    pub fine_tune_keep: f64,
    /// Fine-tuning: Adam's learning rate.
    #[arg(long, default_value_t = FineTunePlan::default().lr)]
    pub fine_tune_lr: f32,
}

impl FineTuneArgs {
    /// The fine-tuning settings when fine-tuning was asked for.
    pub fn config(&self, seed: u64) -> Option<FineTunePlan> {
        (self.fine_tune > 0).then(|| FineTunePlan {
            epochs: self.fine_tune,
            max_move: self.fine_tune_move,
            max_turn: self.fine_tune_turn,
            keep_agreement: self.fine_tune_keep,
            lr: self.fine_tune_lr,
            seed,
            ..FineTunePlan::default()
        })
    }
}

/// The embedding before k-means, shared by `cluster` and `run`.
#[derive(Args)]
pub struct EmbedArgs {
    /// Also cluster a UMAP embedding of the features, side by side.
    #[arg(long, value_enum, default_value_t = EmbedMethod::None)]
    pub embed: EmbedMethod,
    /// UMAP: neighbours per point, counting the point itself, 2 to 65.
    #[arg(long, default_value_t = 20)]
    pub neighbors: usize,
    /// UMAP: dimensions of the embedding, 1 to 1024.
    #[arg(long, default_value_t = 10)]
    pub embed_dims: usize,
    /// UMAP: how tightly points may pack.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub min_dist: f32,
    /// UMAP: layout epochs [500 up to 10 000 points, else 200].
    #[arg(long)]
    pub embed_epochs: Option<usize>,
    /// UMAP: how the neighbours are found [auto: NN-descent from 40 000 points, unless the
    /// features are wider than it takes; exact otherwise].
    #[arg(long, value_enum, default_value_t = NeighbourSearch::Auto)]
    pub neighbour_search: NeighbourSearch,
}

impl EmbedArgs {
    /// The UMAP settings when an embedding was asked for, once checked.
    pub fn config(&self, seed: u64) -> Result<Option<UmapConfig>> {
        if self.embed == EmbedMethod::None {
            return Ok(None);
        }
        let config = UmapConfig {
            neighbors: self.neighbors,
            dims: self.embed_dims,
            min_dist: self.min_dist,
            epochs: self.embed_epochs,
            search: self.neighbour_search,
            seed,
        };
        config.check()?;
        Ok(Some(config))
    }
}

pub fn open_device(args: &DeviceArgs) -> Result<Device> {
    if args.max_binding_mib == Some(0) {
        bail!("--max-binding-mib must be at least 1");
    }
    let (device, notice) = Device::open(args.backend, &args.gpu_request())?;
    if let Some(notice) = notice {
        eprintln!("notice: {notice}");
    }
    Ok(device)
}

/// Checks, before any work, that `outputs` can be written, that no two are the same file and
/// that none is an input.
pub fn check_outputs<'a>(
    outputs: impl IntoIterator<Item = &'a Path> + Clone,
    inputs: &Inputs,
) -> Result<()> {
    for path in outputs.clone() {
        check_writable(path)?;
    }
    refuse_duplicates(&outputs.clone().into_iter().collect::<Vec<_>>())?;
    inputs.refuse_outputs(outputs)
}

/// Fails when one of `files` is already in the output directory `dir` (`flag`) and aeclust did
/// not write that directory: the file is someone else's, and would be replaced.
pub fn refuse_foreign_files(dir: &Path, flag: &str, files: &[PathBuf]) -> Result<()> {
    if dir.join(OUTPUT_MARKER).is_file() {
        return Ok(());
    }
    let theirs = files
        .iter()
        .find(|f| f.starts_with(dir) && std::fs::symlink_metadata(f).is_ok());
    match theirs {
        Some(file) => bail!(
            "{} is already there, and {} was not written by aeclust (it holds no \
             {OUTPUT_MARKER}); move it away or choose another {flag}",
            file.display(),
            dir.display()
        ),
        None => Ok(()),
    }
}

/// Checks, before any work, a directory of outputs (`flag`: `--out`, `--pictures`) against
/// the data: it may not be a link to nothing, hold the data folder, or be a folder of the data
/// that aeclust did not write (its images would be left out of the data from then on).
pub fn check_output_dir(dir: &Path, flag: &str, data: &Path) -> Result<()> {
    let shown = dir.display();
    if dir.exists() && !dir.is_dir() {
        bail!("{flag} {shown} exists and is not a directory");
    }
    if !dir.exists() && std::fs::symlink_metadata(dir).is_ok() {
        bail!("{flag} {shown} is a link to nothing; give a directory, or a link to one");
    }
    let written_here = dir.join(OUTPUT_MARKER).is_file();
    if !data.is_dir() {
        return Ok(());
    }
    let (dir_path, data_path) = (absolute(dir), absolute(data));
    if data_path.starts_with(&dir_path) {
        bail!(
            "{flag} {shown} holds the data {}; write the outputs to a folder of their own",
            data.display()
        );
    }
    let holds_files = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if dir_path.starts_with(&data_path) && holds_files && !written_here {
        bail!(
            "{flag} {shown} is a folder of the data {} that aeclust did not write; write the \
             outputs to a new folder",
            data.display()
        );
    }
    Ok(())
}
