//! Model files and .npy files.

mod common;

use std::collections::HashMap;
use std::path::Path;

use aeclust::model::{ModelSpec, Params};
use aeclust::{model_file, npy};
use npyz::WriterBuilder;
use proptest::prelude::*;
use safetensors::tensor::TensorView;
use safetensors::Dtype;

#[test]
fn model_files_round_trip_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let spec = ModelSpec::parse("16,8,3,8,16", 16).unwrap();
    let mut params = Params::glorot(&spec, 4);
    params.biases[1] = vec![0.5, -0.25, 1.0];
    model_file::save(&path, &spec, &params, None).unwrap();
    let (spec2, params2, state) = model_file::load(&path).unwrap();
    assert_eq!(spec2, spec);
    assert_eq!(params2, params);
    assert_eq!(state, None);

    // With the training state.
    let state = model_file::TrainingState {
        adam: aeclust::train::AdamState {
            step: 123,
            m: Params::glorot(&spec, 5),
            v: square(Params::glorot(&spec, 6)),
        },
        epochs: 4,
        seed: 9,
    };
    model_file::save(&path, &spec, &params, Some(&state)).unwrap();
    let (_, params3, state3) = model_file::load(&path).unwrap();
    assert_eq!(params3, params);
    assert_eq!(state3, Some(state));
}

/// Every value squared: second moments as Adam makes them, never negative.
fn square(mut p: Params) -> Params {
    for v in p.weights.iter_mut().chain(p.biases.iter_mut()).flatten() {
        *v *= *v;
    }
    p
}

/// Writes a safetensors file with the given tensors and layer metadata.
fn write_raw(path: &Path, tensors: &[(&str, Vec<usize>, Vec<f32>)], layers: Option<&str>) {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| bytemuck::cast_slice(v).to_vec())
        .collect();
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), b)| {
            (
                name.to_string(),
                TensorView::new(Dtype::F32, shape.clone(), b).unwrap(),
            )
        })
        .collect();
    let meta = layers.map(|l| HashMap::from([("aeclust.layers".to_string(), l.to_string())]));
    std::fs::write(path, safetensors::serialize(views, meta).unwrap()).unwrap();
}

fn load_error(path: &Path) -> String {
    match model_file::load(path) {
        Ok(_) => panic!("a broken model file was accepted"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn broken_model_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    std::fs::write(&path, b"not a model at all").unwrap();
    assert!(load_error(&path).contains("is not a safetensors model file"));

    let good = [
        ("encoder.0.weight", vec![2, 4], vec![0.0; 8]),
        ("encoder.0.bias", vec![2], vec![0.0; 2]),
        ("decoder.0.weight", vec![4, 2], vec![0.0; 8]),
        ("decoder.0.bias", vec![4], vec![0.0; 4]),
    ];
    write_raw(&path, &good, Some("4,2,4"));
    assert!(model_file::load(&path).is_ok());
    // Weights only, as a PyTorch export has them: the widths follow from the shapes.
    write_raw(&path, &good, None);
    let (spec, _) = model_file::load_weights(&path).unwrap();
    assert_eq!(spec.widths, [4, 2, 4]);
    assert_eq!(model_file::load(&path).unwrap().2, None);
    write_raw(&path, &good[1..], None);
    assert!(load_error(&path).contains("no encoder.0.weight tensor"));
    write_raw(&path, &good[1..], Some("4,2,4"));
    assert!(load_error(&path).contains("encoder.0.weight is missing"));
    let mut wrong = good.clone();
    wrong[2].1 = vec![2, 4];
    write_raw(&path, &wrong, Some("4,2,4"));
    assert!(load_error(&path).contains("decoder.0.weight has shape [2, 4]"));
    write_raw(&path, &good, Some("4,2,5"));
    assert!(load_error(&path).contains("not an autoencoder"));
    let mut nan = good.clone();
    nan[1].2[0] = f32::NAN;
    write_raw(&path, &nan, Some("4,2,4"));
    assert!(load_error(&path).contains("NaN"));
}

/// A .npy of `shape` holding 1, 2, 3, ... as `T`.
fn npy_bytes<T: npyz::AutoSerialize + From<u8>>(shape: &[u64]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut w = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut bytes)
        .begin_nd()
        .unwrap();
    w.extend((1..=shape.iter().product::<u64>() as u8).map(T::from))
        .unwrap();
    w.finish().unwrap();
    bytes
}

#[test]
fn npy_round_trip_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    let data: Vec<f32> = (0..21).map(|i| i as f32 * 0.5).collect();
    npy::write_matrix(&path, &data, 7, 3).unwrap();
    assert_eq!(npy::read_matrix(&path).unwrap(), (data, 7, 3));

    let err = |path: &Path| format!("{:#}", npy::read_matrix(path).unwrap_err());
    std::fs::write(&path, npy_bytes::<f64>(&[2, 2])).unwrap();
    assert!(err(&path).contains("expected float32"), "{}", err(&path));
    std::fs::write(&path, npy_bytes::<f32>(&[4])).unwrap();
    assert!(
        err(&path).contains("expected a 2-D matrix"),
        "{}",
        err(&path)
    );
    std::fs::write(&path, b"\x93NUMPY garbage").unwrap();
    assert!(err(&path).contains("not a .npy file"), "{}", err(&path));
    npy::write_matrix(&path, &[1.0; 6], 2, 3).unwrap();
    let full = std::fs::read(&path).unwrap();
    std::fs::write(&path, &full[..full.len() - 4]).unwrap();
    assert!(err(&path).contains("truncated"), "{}", err(&path));
}

/// A version 1.0 .npy header of a float32 matrix, without its data.
fn npy_header(rows: u64, cols: u64) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let mut header = dict.into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn npy_round_trips_and_every_truncation_fails(
        rows in 1usize..30,
        cols in 1usize..30,
        scale in -1e6f32..1e6,
        cut in 0.0f64..1.0,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        let data: Vec<f32> = (0..rows * cols).map(|i| i as f32 * scale).collect();
        npy::write_matrix(&path, &data, rows, cols).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        prop_assert_eq!(npy::parse_matrix(&bytes, "x").unwrap(), (data, rows, cols));
        let short = &bytes[..(bytes.len() as f64 * cut) as usize];
        prop_assert!(npy::parse_matrix(short, "x").is_err());
    }

    #[test]
    fn npy_any_header_and_data_give_an_error_or_a_finite_matrix(
        rows in prop_oneof![0u64..4, 0u64..1 << 40],
        cols in prop_oneof![0u64..4, 0u64..1 << 40],
        data in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = npy_header(rows, cols);
        bytes.extend(data);
        if let Ok((values, rows, cols)) = npy::parse_matrix(&bytes, "x") {
            prop_assert_eq!(values.len(), rows * cols);
            prop_assert!(values.iter().all(|v| v.is_finite()));
        }
    }
}

#[test]
fn npy_header_longer_than_the_file_is_refused() {
    // Found by fuzzing: a version 3 header stating 2.7 GB made the reader allocate it.
    for version in [1u8, 2, 3] {
        let mut bytes = b"\x93NUMPY".to_vec();
        bytes.extend([version, 0]);
        if version == 1 {
            bytes.extend(u16::MAX.to_le_bytes());
        } else {
            bytes.extend(0x9a9b_d77bu32.to_le_bytes());
        }
        bytes.extend(b"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }\n");
        let err = npy::parse_matrix(&bytes, "x").unwrap_err().to_string();
        assert!(
            err.contains("truncated .npy header"),
            "version {version}: {err}"
        );
    }
}

#[test]
fn npy_nested_header_is_refused_at_once() {
    // Found by fuzzing: nested braces made the header parser backtrack for minutes.
    let mut header = b"  ".to_vec();
    header.extend([b'{'; 100]);
    header.extend(b"'descr': '<f4'}\n");
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header);
    let err = npy::parse_matrix(&bytes, "x").unwrap_err().to_string();
    assert!(err.contains("not the header of a plain array"), "{err}");
}
