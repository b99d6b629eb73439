use crate::gpu::GpuContext;

/// The per-step values of `shaders/step.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StepParams {
    pub first: u32,
    pub rows: u32,
    pub loss_offset: u32,
    pub lr_t: f32,
}

pub const STEP_BYTES: u64 = std::mem::size_of::<StepParams>() as u64;

/// A uniform buffer of step slots, one per step (or per dispatch of any per-step kernel), at
/// the device's dynamic-offset alignment.
pub struct StepTable {
    pub buffer: wgpu::Buffer,
    stride: usize,
    capacity: usize,
}

impl StepTable {
    pub fn new(ctx: &GpuContext, capacity: usize) -> Self {
        let stride = (ctx.limits.min_uniform_buffer_offset_alignment as usize).max(16);
        let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("steps"),
            size: (stride * capacity.max(1)) as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        StepTable {
            buffer,
            stride,
            capacity,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Writes `steps` into slots `first..first + steps.len()`.
    pub fn write(&self, ctx: &GpuContext, first: usize, steps: &[StepParams]) {
        self.write_slots(ctx, first, steps);
    }

    /// Writes `values` (of a kernel's own per-step struct) into slots `first..`.
    pub fn write_slots<T: bytemuck::Pod>(&self, ctx: &GpuContext, first: usize, values: &[T]) {
        let size = std::mem::size_of::<T>();
        assert!(size <= self.stride, "a slot holds {} bytes", self.stride);
        assert!(first + values.len() <= self.capacity, "step table overflow");
        let mut bytes = vec![0u8; values.len() * self.stride];
        for (i, v) in values.iter().enumerate() {
            bytes[i * self.stride..i * self.stride + size].copy_from_slice(bytemuck::bytes_of(v));
        }
        ctx.queue
            .write_buffer(&self.buffer, (first * self.stride) as u64, &bytes);
    }

    /// The dynamic offset of slot `i`.
    pub fn offset(&self, i: usize) -> u32 {
        (i * self.stride) as u32
    }

    /// The binding a per-step kernel takes (one slot, moved by the dynamic offset).
    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        self.binding_of(STEP_BYTES)
    }

    /// The binding of one slot of `bytes` bytes.
    pub fn binding_of(&self, bytes: u64) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.buffer,
            offset: 0,
            size: wgpu::BufferSize::new(bytes),
        })
    }
}
