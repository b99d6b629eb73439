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

/// A whole-pixel move of an image, packed as the shader reads it: the rows down in the low
/// byte, the columns right in the next, each a signed byte.
pub fn pack_move(down: i8, right: i8) -> u32 {
    u32::from(down as u8) | (u32::from(right as u8) << 8)
}

/// `(down, right)` of a packed move.
pub fn unpack_move(packed: u32) -> (i32, i32) {
    (
        i32::from(packed as u8 as i8),
        i32::from((packed >> 8) as u8 as i8),
    )
}

/// As `gather`, each row's image moved by `moves[first + row]` (`pack_move`) on its grid of
/// `cols` pixels of `channels` values per row, zeros coming in at the edges.
pub fn gather_moved(
    pixels: &[u8],
    (width, cols, channels): (usize, usize, usize),
    order: &[u32],
    moves: &[u32],
    first: usize,
    rows: usize,
) -> Vec<f32> {
    let image_rows = (width / (cols * channels)) as i32;
    let mut batch = Vec::with_capacity(rows * width);
    for (&i, &packed) in order[first..first + rows].iter().zip(&moves[first..]) {
        let image = &pixels[i as usize * width..(i as usize + 1) * width];
        let (down, right) = unpack_move(packed);
        for col in 0..width {
            let c = col % channels;
            let x = (col / channels % cols) as i32 - right;
            let y = (col / (channels * cols)) as i32 - down;
            let inside = (0..image_rows).contains(&y) && (0..cols as i32).contains(&x);
            batch.push(if inside {
                f32::from(image[(y as usize * cols + x as usize) * channels + c]) / 255.0
            } else {
                0.0
            });
        }
    }
    batch
}
