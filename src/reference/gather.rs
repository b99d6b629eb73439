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

/// The fixed-point scale of a turn's cosine and sine: exact integer arithmetic on every
/// device, so the GPU and the CPU take the same source pixel.
pub const TURN_ONE: i32 = 1 << 14;

/// How an image moves: turned about its centre, then moved by whole pixels (down, right).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImageMove {
    pub down: i8,
    pub right: i8,
    /// The turn's cosine and sine times `TURN_ONE`, rounded.
    pub cos: i16,
    pub sin: i16,
}

impl ImageMove {
    /// A turn by `degrees` (counter-clockwise on screen) and a move by whole pixels.
    pub fn new(degrees: f64, down: i8, right: i8) -> Self {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let fixed = |v: f64| (v * f64::from(TURN_ONE)).round() as i16;
        ImageMove {
            down,
            right,
            cos: fixed(cos),
            sin: fixed(sin),
        }
    }

    /// As the shader reads it: the move's rows down in the low byte and columns right in the
    /// next (signed bytes), then the cosine in the low half and the sine in the high half.
    pub fn pack(self) -> [u32; 2] {
        [
            u32::from(self.down as u8) | (u32::from(self.right as u8) << 8),
            u32::from(self.cos as u16) | (u32::from(self.sin as u16) << 16),
        ]
    }

    /// The source of the pixel (y, x) of an image of `rows` x `cols` pixels, or None when it
    /// comes from outside. In doubled coordinates about the centre (integers for any size),
    /// the move is undone, then the turn: the source is the nearest pixel, halves up.
    pub fn source(self, (y, x): (i32, i32), (rows, cols): (i32, i32)) -> Option<(i32, i32)> {
        let ty = 2 * y - (rows - 1) - 2 * i32::from(self.down);
        let tx = 2 * x - (cols - 1) - 2 * i32::from(self.right);
        let (c, s) = (i32::from(self.cos), i32::from(self.sin));
        let sy = (c * ty - s * tx + (rows - 1) * TURN_ONE + TURN_ONE) >> 15;
        let sx = (s * ty + c * tx + (cols - 1) * TURN_ONE + TURN_ONE) >> 15;
        ((0..rows).contains(&sy) && (0..cols).contains(&sx)).then_some((sy, sx))
    }
}

/// As `gather`, each row's image moved by `moves[first + row]` (`ImageMove::pack`, two words
/// each) on its grid of `cols` pixels of `channels` values per row, zeros coming in at the
/// edges.
pub fn gather_moved(
    pixels: &[u8],
    (width, cols, channels): (usize, usize, usize),
    order: &[u32],
    moves: &[u32],
    first: usize,
    rows: usize,
) -> Vec<f32> {
    let grid = ((width / (cols * channels)) as i32, cols as i32);
    let mut batch = Vec::with_capacity(rows * width);
    for (r, &i) in order[first..first + rows].iter().enumerate() {
        let image = &pixels[i as usize * width..(i as usize + 1) * width];
        let at = 2 * (first + r);
        let movement = unpack(moves[at], moves[at + 1]);
        for col in 0..width {
            let c = col % channels;
            let x = (col / channels % cols) as i32;
            let y = (col / (channels * cols)) as i32;
            batch.push(match movement.source((y, x), grid) {
                Some((sy, sx)) => {
                    let p = image[(sy as usize * cols + sx as usize) * channels + c];
                    f32::from(p) / 255.0
                }
                None => 0.0,
            });
        }
    }
    batch
}

fn unpack(moved: u32, turned: u32) -> ImageMove {
    ImageMove {
        down: moved as u8 as i8,
        right: (moved >> 8) as u8 as i8,
        cos: turned as u16 as i16,
        sin: (turned >> 16) as u16 as i16,
    }
}
