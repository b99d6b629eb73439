// Builds a batch: row r of `batch` is image order[step.first + r] scaled by 1/255, zero past
// the valid rows and the image width. Images are stored as packed u8 (4 pixels per u32) in
// one or more chunks of whole images (a dataset may be larger than one binding); this
// dispatch writes the rows whose image is in its chunk, and the first chunk's dispatch also
// zeroes the padding rows.

struct GatherShape {
    width: u32,
    stride: u32,
    // The chunk holds images first_image .. first_image + images of the split.
    first_image: u32,
    images: u32,
}

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> shape: GatherShape;
@group(0) @binding(2) var<storage, read> pixels: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read_write> batch: array<f32>;

@compute @workgroup_size(64)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let row = gid.y;
    if col >= shape.stride {
        return;
    }
    var value = 0.0;
    if row < step.rows {
        // Wraps around to a large number for images before the chunk.
        let image = order[step.first + row] - shape.first_image;
        if image >= shape.images {
            return;
        }
        if col < shape.width {
            let byte = image * shape.width + col;
            let word = pixels[byte / 4u];
            value = f32((word >> ((byte % 4u) * 8u)) & 0xffu) / 255.0;
        }
    } else if shape.first_image != 0u {
        return;
    }
    batch[row * shape.stride + col] = value;
}
