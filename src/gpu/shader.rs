//! Shader modules, bind group layouts and pipelines, built once with errors that name the
//! WGSL file.

use anyhow::{bail, Result};

use super::GpuContext;

/// How a kernel sees one binding; bindings are numbered in the order given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Uniform,
    /// The per-step uniform, bound at a dynamic offset of `size` bytes.
    StepUniform(u64),
    Read,
    ReadWrite,
}

pub fn bind_group_layout(ctx: &GpuContext, label: &str, slots: &[Slot]) -> wgpu::BindGroupLayout {
    let entries: Vec<wgpu::BindGroupLayoutEntry> = slots
        .iter()
        .enumerate()
        .map(|(i, slot)| {
            let (ty, has_dynamic_offset, min_binding_size) = match *slot {
                Slot::Uniform => (wgpu::BufferBindingType::Uniform, false, None),
                Slot::StepUniform(size) => (
                    wgpu::BufferBindingType::Uniform,
                    true,
                    wgpu::BufferSize::new(size),
                ),
                Slot::Read => (
                    wgpu::BufferBindingType::Storage { read_only: true },
                    false,
                    None,
                ),
                Slot::ReadWrite => (
                    wgpu::BufferBindingType::Storage { read_only: false },
                    false,
                    None,
                ),
            };
            wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty,
                    has_dynamic_offset,
                    min_binding_size,
                },
                count: None,
            }
        })
        .collect();
    ctx.device
        .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(label),
            entries: &entries,
        })
}

/// A bind group whose entries are `resources` in binding order.
pub fn bind_group(
    ctx: &GpuContext,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    resources: Vec<wgpu::BindingResource<'_>>,
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry> = resources
        .into_iter()
        .enumerate()
        .map(|(i, resource)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource,
        })
        .collect();
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout,
        entries: &entries,
    })
}

/// WGSL `const` declarations of `values`: how a constant that the host and a shader share
/// reaches the shader from its one definition in Rust.
pub fn wgsl_constants(values: &[(&str, u32)]) -> String {
    values
        .iter()
        .map(|(name, value)| format!("const {name}: u32 = {value}u;\n"))
        .collect()
}

/// The WGSL of an entry point's source parts, in order.
pub fn wgsl_source(parts: &[(&'static str, String)]) -> String {
    parts
        .iter()
        .map(|(_, text)| text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Compiles WGSL assembled from `parts` (file name, text) into a pipeline for `entry`.
pub fn pipeline(
    ctx: &GpuContext,
    parts: &[(&'static str, String)],
    entry: &str,
    layout: &wgpu::BindGroupLayout,
    constants: &[(&str, f64)],
) -> Result<wgpu::ComputePipeline> {
    let names: Vec<&str> = parts.iter().map(|(name, _)| *name).collect();
    let source = wgsl_source(parts);
    let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = ctx
        .device
        .create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(entry),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
    let pipeline_layout = ctx
        .device
        .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(entry),
            bind_group_layouts: &[Some(layout)],
            immediate_size: 0,
        });
    let pipeline = ctx
        .device
        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
    if let Some(error) = pollster::block_on(scope.pop()) {
        bail!("{}: {error}", names.join(" + "));
    }
    Ok(pipeline)
}

/// Splits `workgroups` over x and y so that neither exceeds the per-axis dispatch limit.
pub fn grid(workgroups: u32, row: u32) -> (u32, u32) {
    if workgroups <= row {
        (workgroups.max(1), 1)
    } else {
        (row, workgroups.div_ceil(row))
    }
}
