//! Twin of shaders/gather.wgsl.

/// Rows `order[first..first + rows]` of u8 images of `width` pixels, scaled by 1/255.
pub fn gather(pixels: &[u8], width: usize, order: &[u32], first: usize, rows: usize) -> Vec<f32> {
    order[first..first + rows]
        .iter()
        .flat_map(|&i| {
            let i = i as usize;
            pixels[i * width..(i + 1) * width]
                .iter()
                .map(|&p| f32::from(p) / 255.0)
        })
        .collect()
}
