//! The library alone: train the post's autoencoder on a dataset, encode its held-out part and
//! cluster the codes, scoring them where there are labels.
//!
//! cargo run --release --example train_and_cluster -- [DATA] [K]
//! (DATA: what `--data` takes, default data/digits; K: clusters, default 10)

use anyhow::Result;

use aeclust::cluster::{kmeans, metrics, KmeansConfig};
use aeclust::data::{DataOptions, Source};
use aeclust::device::{BackendChoice, Device};
use aeclust::model::{Loss, ModelSpec, Params};
use aeclust::train::{fit, TrainConfig};

fn main() -> Result<()> {
    // The CPU stages' loops fork and join on this thread instead of waiting for the pool.
    rayon::ThreadPoolBuilder::new()
        .use_current_thread()
        .build_global()?;
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "data/digits".into());
    let k = args.next().map_or(Ok(10), |k| k.parse())?;

    let source = Source::open(path.as_ref(), &DataOptions::default(), &|_, _| {})?;
    let (train, test) = source.train_and_test(None)?;
    let (device, notice) = Device::open(BackendChoice::Auto, &Default::default())?;
    if let Some(notice) = notice {
        eprintln!("notice: {notice}");
    }

    // The post's model, its ends the size of these images.
    let size = train.image_size();
    let spec = ModelSpec::standard(vec![size, 128, 32, 128, size], false, Loss::Bce);
    let config = TrainConfig::default();
    let mut trainer = device.trainer(&spec, &Params::glorot(&spec, 0), &train, &test, &config)?;
    fit(
        trainer.as_mut(),
        &config,
        train.count,
        |_| Ok(()),
        |epoch, _| {
            println!(
                "epoch {}: loss {:.4}, val_loss {:.4}",
                epoch.epoch, epoch.loss, epoch.val_loss
            );
            Ok(())
        },
    )?;

    let codes = device.encoder().encode(&spec, &trainer.params()?, &test)?;
    let width = codes.len() / test.count;
    let config = KmeansConfig {
        k,
        ..KmeansConfig::default()
    };
    let clusters = kmeans(&device, &codes, test.count, width, &config)?;
    println!(
        "{} codes of {width} values in {k} clusters, inertia {:.1}",
        test.count, clusters.inertia
    );
    if let Some(labels) = test.scoring_labels()? {
        println!(
            "accuracy {:.4}, NMI {:.4}",
            metrics::accuracy(&clusters.labels, labels),
            metrics::nmi(&clusters.labels, labels)
        );
    }
    Ok(())
}
