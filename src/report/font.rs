//! A 3 x 5 pixel font for the digits, to label pictures without a font file.

/// Rows of each digit's glyph, 3 bits each (the top bit is the left pixel).
const DIGITS: [[u8; 5]; 10] = [
    [0b111, 0b101, 0b101, 0b101, 0b111],
    [0b010, 0b110, 0b010, 0b010, 0b111],
    [0b111, 0b001, 0b111, 0b100, 0b111],
    [0b111, 0b001, 0b111, 0b001, 0b111],
    [0b101, 0b101, 0b111, 0b001, 0b001],
    [0b111, 0b100, 0b111, 0b001, 0b111],
    [0b111, 0b100, 0b111, 0b101, 0b111],
    [0b111, 0b001, 0b010, 0b010, 0b010],
    [0b111, 0b101, 0b111, 0b101, 0b111],
    [0b111, 0b101, 0b111, 0b001, 0b111],
];

/// Draws the decimal `number` in white at (`x`, `y`) of a `width`-wide grayscale image, each
/// font pixel `scale` x `scale`, one blank column between digits. Pixels off the image are
/// skipped.
pub fn draw_number(
    pixels: &mut [u8],
    width: usize,
    (x, y): (usize, usize),
    number: u64,
    scale: usize,
) {
    let height = pixels.len() / width;
    for (i, ch) in number.to_string().bytes().enumerate() {
        let glyph = DIGITS[usize::from(ch - b'0')];
        let left = x + i * 4 * scale;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..3 {
                if bits & (0b100 >> col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let (px, py) = (left + col * scale + dx, y + row * scale + dy);
                        if px < width && py < height {
                            pixels[py * width + px] = 255;
                        }
                    }
                }
            }
        }
    }
}
