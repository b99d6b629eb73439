// Builds a batch: row r of `batch` is image order[step.first + r] scaled by 1/255, zero past
// the valid rows and the image width. Images are stored as packed u8 (4 pixels per u32) in
// one or more chunks of whole images (a dataset may be larger than one binding); this
// dispatch writes the rows whose image is in its chunk, and the first chunk's dispatch also
// zeroes the padding rows. When `moved` is set, row r's image is turned about its centre and
// moved by whole pixels as moves[step.first + r] says (`reference::gather::ImageMove`: the
// rows down and columns right as signed bytes, then the turn's cosine and sine as i16 in
// units of 1/16384), on its grid of `cols` pixels of `channels` values each: each pixel takes
// the nearest source pixel, found in integer arithmetic, zero from outside the image.

struct GatherShape {
    width: u32,
    stride: u32,
    // The chunk holds images first_image .. first_image + images of the split.
    first_image: u32,
    images: u32,
    cols: u32,
    channels: u32,
    moved: u32,
}

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> shape: GatherShape;
@group(0) @binding(2) var<storage, read> pixels: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read_write> batch: array<f32>;
// Two words per position (a plain array: without moves the slot holds the order, which may be
// a single word).
@group(0) @binding(5) var<storage, read> moves: array<u32>;

// Where the pixel at `col` of a moved image comes from, or `width` when from outside it.
fn moved_from(col: u32, movement: vec2<u32>) -> u32 {
    let down = i32(movement.x << 24u) >> 24u;
    let right = i32(movement.x << 16u) >> 24u;
    let cos = i32(movement.y << 16u) >> 16u;
    let sin = i32(movement.y) >> 16u;
    let rows = i32(shape.width / (shape.channels * shape.cols));
    let cols = i32(shape.cols);
    let c = col % shape.channels;
    let ty = 2 * i32(col / (shape.channels * shape.cols)) - (rows - 1) - 2 * down;
    let tx = 2 * i32(col / shape.channels % shape.cols) - (cols - 1) - 2 * right;
    let one = i32(TURN_ONE);
    let y = (cos * ty - sin * tx + (rows - 1) * one + one) >> 15u;
    let x = (sin * ty + cos * tx + (cols - 1) * one + one) >> 15u;
    if x < 0 || x >= cols || y < 0 || y >= rows {
        return shape.width;
    }
    return (u32(y) * shape.cols + u32(x)) * shape.channels + c;
}

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
        var source = col;
        if shape.moved != 0u && col < shape.width {
            let at = 2u * (step.first + row);
            source = moved_from(col, vec2(moves[at], moves[at + 1u]));
        }
        if source < shape.width {
            let byte = image * shape.width + source;
            let word = pixels[byte / 4u];
            value = f32((word >> ((byte % 4u) * 8u)) & 0xffu) / 255.0;
        }
    } else if shape.first_image != 0u {
        return;
    }
    batch[row * shape.stride + col] = value;
}
