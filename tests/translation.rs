//! Every kernel written by the back ends wgpu translates WGSL with at run time, without an
//! adapter: SPIR-V (Vulkan), MSL (Metal), HLSL (DX12) and GLSL ES (OpenGL), for every entry
//! point of `kernels::catalog()` and every set of override constants the host builds it with
//! (each transpose and epilogue of the matmuls). A Mac, a Windows machine or a datacentre GPU
//! is then not the first test of these paths.
//!
//! The kernels built on subgroup operations (`matmul` subgroup8, `assign_subgroup8`,
//! `partial_sums_subgroup8`) are checked to use each language's own subgroup operations
//! (`simd_*`, `Wave*`, `subgroup*`). The host picks them only on an adapter that offers
//! `Features::SUBGROUP` with 8-wide subgroups (`MatmulVariant::for_adapter`, the k-means
//! kernels); wgpu's OpenGL backend never does, so OpenGL runs the plain kernels. What no test
//! here can do is run a platform's own compiler (Metal's, DXC): that waits for the machines.

use aeclust::gpu::kernels::{catalog, EntryPoint, Overrides};
use naga::back::{glsl, hlsl, msl, spv, PipelineConstants};
use naga::valid::{Capabilities, ModuleInfo, ValidationFlags, Validator};
use naga::{Module, ShaderStage};

fn parse(spec: &EntryPoint) -> Module {
    let source = aeclust::gpu::wgsl_source(&spec.parts);
    naga::front::wgsl::parse_str(&source)
        .unwrap_or_else(|e| panic!("{}: {}", spec.entry, e.emit_to_string(&source)))
}

fn validate(module: &Module, capabilities: Capabilities) -> Option<ModuleInfo> {
    Validator::new(ValidationFlags::all(), capabilities)
        .validate(module)
        .ok()
}

/// Whether the module needs subgroup operations: it validates without them or not.
fn uses_subgroups(module: &Module) -> bool {
    let without = Capabilities::all() - Capabilities::SUBGROUP - Capabilities::SUBGROUP_BARRIER;
    validate(module, without).is_none()
}

/// The module with `overrides` applied, as wgpu does before writing it.
fn with_overrides(module: &Module, entry: &str, overrides: &Overrides) -> (Module, ModuleInfo) {
    let info = validate(module, Capabilities::all()).expect("a valid module");
    let mut constants = PipelineConstants::default();
    for &(name, value) in overrides {
        constants.insert(name.to_string(), value);
    }
    let (module, info) = naga::back::pipeline_constants::process_overrides(
        module,
        &info,
        Some((ShaderStage::Compute, entry)),
        &constants,
    )
    .unwrap_or_else(|e| panic!("{entry} with {overrides:?}: {e:?}"));
    (module.into_owned(), info.into_owned())
}

fn spirv(module: &Module, info: &ModuleInfo, entry: &str) -> Result<String, String> {
    let options = spv::Options {
        lang_version: (1, 3),
        ..Default::default()
    };
    let pipeline = spv::PipelineOptions {
        shader_stage: ShaderStage::Compute,
        entry_point: entry.into(),
    };
    // The words' count says nothing of the intrinsics; the validator's capabilities do.
    spv::write_vec(module, info, &options, Some(&pipeline))
        .map(|words| format!("{} words", words.len()))
        .map_err(|e| format!("{e:?}"))
}

fn metal(
    module: &Module,
    info: &ModuleInfo,
    entry: &str,
    subgroups: bool,
) -> Result<String, String> {
    // The lowest Metal language version wgpu runs these on: simdgroup functions from MSL
    // 2.1 (the Metal 3, Mac2 and Apple7 families, where wgpu offers subgroups), 1.2 for
    // the others.
    let options = msl::Options {
        lang_version: if subgroups { (2, 1) } else { (1, 2) },
        ..Default::default()
    };
    let pipeline = msl::PipelineOptions {
        entry_point: Some((ShaderStage::Compute, entry.into())),
        ..Default::default()
    };
    msl::write_string(module, info, &options, &pipeline)
        .map(|(text, _)| text)
        .map_err(|e| format!("{e:?}"))
}

fn dx12(module: &Module, info: &ModuleInfo, entry: &str) -> Result<String, String> {
    let options = hlsl::Options {
        shader_model: hlsl::ShaderModel::V6_0,
        ..Default::default()
    };
    let pipeline = hlsl::PipelineOptions {
        entry_point: Some((ShaderStage::Compute, entry.into())),
    };
    let mut text = String::new();
    hlsl::Writer::new(&mut text, &options, &pipeline)
        .write(module, info, None)
        .map_err(|e| format!("{e:?}"))?;
    Ok(text)
}

fn gles(module: &Module, info: &ModuleInfo, entry: &str) -> Result<String, String> {
    let options = glsl::Options {
        version: glsl::Version::Embedded {
            version: 310,
            is_webgl: false,
        },
        ..Default::default()
    };
    let pipeline = glsl::PipelineOptions {
        shader_stage: ShaderStage::Compute,
        entry_point: entry.into(),
        multiview: None,
    };
    let mut text = String::new();
    glsl::Writer::new(
        &mut text,
        module,
        info,
        &options,
        &pipeline,
        Default::default(),
    )
    .and_then(|mut writer| writer.write())
    .map_err(|e| format!("{e:?}"))?;
    Ok(text)
}

#[test]
fn every_kernel_and_override_set_is_written_by_every_back_end() {
    let mut written = 0;
    let mut with_subgroups = Vec::new();
    for spec in catalog() {
        let module = parse(&spec);
        let subgroups = uses_subgroups(&module);
        if subgroups {
            with_subgroups.push(spec.entry);
        }
        let sets = if spec.overrides.is_empty() {
            vec![Vec::new()]
        } else {
            spec.overrides.clone()
        };
        for overrides in &sets {
            let (module, info) = with_overrides(&module, spec.entry, overrides);
            let last = spec.parts.last().expect("a source").0;
            let name = format!("{} ({last}) with {overrides:?}", spec.entry);
            // The subgroup operations as each language spells them.
            for (back_end, result, broadcast) in [
                ("SPIR-V", spirv(&module, &info, spec.entry), None),
                (
                    "MSL",
                    metal(&module, &info, spec.entry, subgroups),
                    Some("simd_"),
                ),
                (
                    "HLSL SM 6.0",
                    dx12(&module, &info, spec.entry),
                    Some("Wave"),
                ),
                (
                    "GLSL ES 3.1",
                    gles(&module, &info, spec.entry),
                    Some("subgroup"),
                ),
            ] {
                let text = result.unwrap_or_else(|e| panic!("{back_end} cannot take {name}: {e}"));
                if let (true, Some(word)) = (subgroups, broadcast) {
                    assert!(text.contains(word), "{back_end}: {name} without {word}");
                }
                written += 1;
            }
        }
    }
    // Only these need subgroups; the host builds them only on an adapter that offers
    // Features::SUBGROUP with 8-wide subgroups (OpenGL never does in wgpu).
    with_subgroups.dedup();
    assert_eq!(
        with_subgroups,
        ["matmul", "assign_subgroup8", "partial_sums_subgroup8"]
    );
    assert!(written > 80, "{written}");
}
