//! The pipeline as a library call: `Pipeline::run` on every device, what it returns and the
//! files it leaves, with no binary involved.

mod common;

use std::path::Path;

use aeclust::cluster::KmeansConfig;
use aeclust::data::{DataOptions, Source, Split};
use aeclust::pipeline::{ClusterPlan, OutputDir, Pipeline, Silent};
use aeclust::recipe::{Recipe, RecipeSettings};
use common::cli::listing;

#[test]
fn the_library_runs_the_whole_pipeline_on_every_device() {
    let source = Source::open(
        Path::new("data/digits"),
        &DataOptions::default(),
        &|_, _| {},
    )
    .unwrap();
    let held_out = source.split(Split::Test).unwrap().count;
    common::for_each_device(|device| {
        let dir = tempfile::tempdir().unwrap();
        let out = OutputDir::claim(dir.path()).unwrap();
        let mut training = RecipeSettings::of(Recipe::Blog);
        training.epochs = Some(2);
        let pipeline = Pipeline {
            device,
            source: &source,
            data_name: "data/digits".into(),
            training,
            clustering: ClusterPlan {
                kmeans: KmeansConfig {
                    n_init: 2,
                    ..KmeansConfig::default()
                },
                embed: None,
                pixels: true,
            },
        };
        let result = pipeline.run(&out, &mut Silent).unwrap();
        assert_eq!(result.trained.report.epochs.len(), 2);
        assert!(result.trained.report.final_val_loss.is_finite());
        assert_eq!(result.codes.len(), held_out * 32);
        assert_eq!(result.clustering.labels.len(), held_out);
        let runs = &result.report.clustering;
        assert_eq!(runs.len(), 2, "codes and pixels");
        // The digits are found well above chance (0.1) even after two epochs.
        assert!(runs.iter().all(|r| r.acc.unwrap() > 0.4), "{runs:?}");
        // What it says it wrote is what the directory holds (besides its lock).
        for file in &result.files {
            assert!(file.is_file(), "{} missing", file.display());
        }
        let mut present = listing(dir.path());
        present.retain(|name| name != ".aeclust.lock");
        let mut listed: Vec<String> = result
            .report
            .files
            .iter()
            .map(|f| f.trim_end_matches('/').to_string())
            .collect();
        listed.sort();
        assert_eq!(listed, present);
    });
}
