//! Colours and marker shapes that tell clusters apart, also for colour-blind readers: the
//! first eight colours are Okabe and Ito's (chosen to stay distinct under the common colour
//! vision deficiencies), the next twelve from Kelly's list of colours of greatest contrast;
//! the marker shape changes with them (circle, square, triangle, diamond in turn), a second
//! cue where colours are hard to tell apart. Past twenty, the colours come back with another
//! shape.

use plotters::style::RGBColor;

const COLOURS: [(u8, u8, u8); 20] = [
    (0, 114, 178),   // blue
    (230, 159, 0),   // orange
    (0, 158, 115),   // bluish green
    (204, 121, 167), // reddish purple
    (86, 180, 233),  // sky blue
    (213, 94, 0),    // vermillion
    (240, 228, 66),  // yellow
    (0, 0, 0),       // black
    (135, 86, 146),  // purple
    (161, 202, 241), // light blue
    (190, 0, 50),    // red
    (194, 178, 128), // buff
    (132, 132, 130), // grey
    (0, 136, 86),    // green
    (243, 132, 0),   // deep orange
    (96, 78, 151),   // violet
    (179, 68, 108),  // purplish red
    (141, 182, 0),   // yellow green
    (101, 69, 34),   // yellowish brown
    (43, 61, 38),    // olive green
];

/// The marker shapes, in turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
}

const SHAPES: [Shape; 4] = [
    Shape::Circle,
    Shape::Square,
    Shape::Triangle,
    Shape::Diamond,
];

/// The colour of group `i` (a cluster or a class).
pub fn colour(i: usize) -> RGBColor {
    let (r, g, b) = COLOURS[i % COLOURS.len()];
    RGBColor(r, g, b)
}

/// The shape of group `i`: the colours' order and the shapes' differ in step, so that a
/// colour comes back with another shape.
pub fn shape(i: usize) -> Shape {
    SHAPES[(i % SHAPES.len() + i / COLOURS.len()) % SHAPES.len()]
}

/// The colour as `#rrggbb`, for the HTML report.
pub fn hex(i: usize) -> String {
    let RGBColor(r, g, b) = colour(i);
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_forty_groups_differ_in_colour_or_shape() {
        let mut seen = Vec::new();
        for i in 0..40 {
            let key = (COLOURS[i % 20], shape(i));
            assert!(!seen.contains(&key), "group {i}");
            seen.push(key);
        }
        let mut colours = COLOURS.to_vec();
        colours.sort();
        colours.dedup();
        assert_eq!(colours.len(), 20);
    }
}
