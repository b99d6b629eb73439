//! Whether an image file is whole. Some decoders return an image from a file cut short (a
//! JPEG cut in half decodes, its missing rows grey), so a file must also end the way its
//! format says a file ends.

use image::ImageFormat;

/// Why `bytes`, a file of `format`, is not whole; `None` when it is (or the format's decoder
/// already fails on a short file).
pub fn missing_end(format: ImageFormat, bytes: &[u8]) -> Option<&'static str> {
    let whole = match format {
        ImageFormat::Jpeg => jpeg_is_whole(bytes),
        ImageFormat::Png => png_is_whole(bytes),
        ImageFormat::Gif => gif_is_whole(bytes),
        ImageFormat::WebP => riff_is_whole(bytes),
        _ => true,
    };
    (!whole).then_some(match format {
        ImageFormat::Jpeg => "no end-of-image marker: the file is cut short",
        ImageFormat::Png => "no IEND chunk: the file is cut short",
        ImageFormat::Gif => "no trailer: the file is cut short",
        _ => "shorter than its RIFF header says: the file is cut short",
    })
}

/// Walks a JPEG's segments from its start-of-image marker to its end-of-image marker,
/// skipping each segment by its length (so a thumbnail's markers inside an APP1 segment are
/// not taken for the image's) and each scan's entropy-coded data up to its next marker.
fn jpeg_is_whole(b: &[u8]) -> bool {
    if !b.starts_with(&[0xff, 0xd8]) {
        return false;
    }
    let mut i = 2;
    loop {
        // A marker: 0xFF (any number of fill bytes) then its code.
        if b.get(i) != Some(&0xff) {
            return false;
        }
        while b.get(i) == Some(&0xff) {
            i += 1;
        }
        let Some(&code) = b.get(i) else {
            return false;
        };
        i += 1;
        match code {
            0xd9 => return true,
            0x01 | 0xd0..=0xd7 => continue,
            _ => {}
        }
        let Some(length) = b
            .get(i..i + 2)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
        else {
            return false;
        };
        if length < 2 || i + length > b.len() {
            return false;
        }
        i += length;
        if code == 0xda {
            // Entropy-coded data: 0xFF is followed by 0x00 (a data byte), a restart marker,
            // or another fill byte; anything else is the next marker.
            loop {
                while b.get(i).is_some_and(|&x| x != 0xff) {
                    i += 1;
                }
                match b.get(i + 1) {
                    None => return false,
                    Some(0x00 | 0xd0..=0xd7) => i += 2,
                    Some(0xff) => i += 1,
                    Some(_) => break,
                }
            }
        }
    }
}

/// Walks a GIF's blocks (extensions and images, each a run of sub-blocks) to its trailer.
fn gif_is_whole(b: &[u8]) -> bool {
    // Header (6 bytes) and logical screen descriptor (7), then the global colour table.
    let Some(&flags) = b.get(10) else {
        return false;
    };
    let table = |flags: u8| {
        if flags & 0x80 != 0 {
            3 << ((flags & 7) + 1)
        } else {
            0
        }
    };
    let mut i = 13 + table(flags);
    // Sub-blocks: a size byte, that many bytes, until a size of 0.
    let skip_sub_blocks = |mut i: usize| -> Option<usize> {
        loop {
            let size = usize::from(*b.get(i)?);
            i += 1 + size;
            if size == 0 {
                return Some(i);
            }
        }
    };
    loop {
        let next = match b.get(i) {
            Some(0x3b) => return true,
            Some(0x21) => skip_sub_blocks(i + 2),
            Some(0x2c) => match b.get(i + 9) {
                // Image descriptor (10 bytes), local colour table, LZW code size, data.
                Some(&flags) => skip_sub_blocks(i + 10 + table(flags) + 1),
                None => None,
            },
            _ => None,
        };
        match next {
            Some(next) => i = next,
            None => return false,
        }
    }
}

/// A PNG ends with its IEND chunk (length 0, type, CRC), which some writers follow with
/// more bytes.
fn png_is_whole(b: &[u8]) -> bool {
    const IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82];
    b.windows(IEND.len()).any(|w| w == IEND)
}

/// A RIFF file (WebP) holds at least the size its header states.
fn riff_is_whole(b: &[u8]) -> bool {
    match b.get(4..8) {
        Some(size) => {
            let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
            b.len() >= size.saturating_add(8)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn encoded(format: ImageFormat) -> Vec<u8> {
        let image = image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8])
        });
        let mut bytes = Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(image)
            .write_to(&mut bytes, format)
            .unwrap();
        bytes.into_inner()
    }

    #[test]
    fn whole_files_pass_and_every_cut_is_caught() {
        for format in [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::Gif,
            ImageFormat::WebP,
        ] {
            let bytes = encoded(format);
            assert_eq!(missing_end(format, &bytes), None, "{format:?}");
            for cut in 0..bytes.len() {
                assert!(
                    missing_end(format, &bytes[..cut]).is_some(),
                    "{format:?} cut at {cut} of {}",
                    bytes.len()
                );
            }
        }
    }

    #[test]
    fn bytes_after_the_end_are_allowed() {
        for format in [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::Gif,
            ImageFormat::WebP,
        ] {
            let mut bytes = encoded(format);
            bytes.extend_from_slice(b"trailing bytes of some other writer");
            assert_eq!(missing_end(format, &bytes), None, "{format:?}");
        }
    }

    #[test]
    fn a_jpeg_thumbnail_does_not_end_the_image() {
        let image = encoded(ImageFormat::Jpeg);
        let thumbnail = encoded(ImageFormat::Jpeg);
        // SOI, an APP1 segment holding a whole JPEG (with its own end marker), the rest.
        let mut bytes = vec![0xff, 0xd8, 0xff, 0xe1];
        bytes.extend_from_slice(&((thumbnail.len() + 2) as u16).to_be_bytes());
        bytes.extend_from_slice(&thumbnail);
        bytes.extend_from_slice(&image[2..]);
        assert_eq!(missing_end(ImageFormat::Jpeg, &bytes), None);
        let cut = &bytes[..bytes.len() - image.len() / 2];
        assert!(missing_end(ImageFormat::Jpeg, cut).is_some());
    }
}
