//! The pipeline as a library call: `Pipeline::run` on every device, what it returns and the
//! files it leaves, with no binary involved.

mod common;

use std::path::Path;

use aeclust::cluster::KmeansConfig;
use aeclust::data::{DataOptions, Source, Split};
use aeclust::output::OutputSet;
use aeclust::pipeline::{ClusterPlan, Pipeline, Silent};
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
        let out_dir = dir.path().join("out");
        let mut training = RecipeSettings::of(Recipe::Blog);
        training.epochs = Some(2);
        let clustering = ClusterPlan {
            kmeans: KmeansConfig {
                n_init: 2,
                ..KmeansConfig::default()
            },
            embed: None,
            pixels: true,
            fine_tune: None,
        };
        let plan = Pipeline::plan(&source.survey, &training, &clustering, Split::Test).unwrap();
        let pipeline = Pipeline {
            device,
            source: &source,
            data_name: "data/digits".into(),
            training,
            clustering,
            split: Split::Test,
        };
        let out = OutputSet::directory(&out_dir).unwrap();
        let result = pipeline.run(plan, out, &mut Silent).unwrap();
        assert_eq!(result.trained.report.epochs.len(), 2);
        assert!(result.trained.report.final_val_loss.is_finite());
        assert_eq!(result.codes.len(), held_out * 32);
        assert_eq!(result.clustering.labels.len(), held_out);
        let runs = &result.report.clustering;
        assert_eq!(runs.len(), 2, "codes and pixels");
        // The digits are found well above chance (0.1) even after two epochs.
        assert!(runs.iter().all(|r| r.acc.unwrap() > 0.4), "{runs:?}");
        // What it says it wrote is what the directory holds (besides its marker), and
        // nothing is left beside it.
        for file in &result.files {
            assert!(file.is_file(), "{} missing", file.display());
        }
        assert_eq!(listing(dir.path()), ["out"]);
        let mut present = listing(&out_dir);
        present.retain(|name| name != ".aeclust-output");
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
