//! A tiny baseline JPEG encoder for the image CDN: every 8×8 block is one flat colour (only DC
//! coefficients are coded), which keeps the encoder small while producing a real, decodable
//! JPEG that differs per image key.

use crate::corpus::ids;

/// Standard DC luminance Huffman table (ITU T.81 Annex K.3): code counts per length, symbols.
const DC_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALUES: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
/// A minimal AC table: two 2-bit codes, of which only EOB (symbol 0x00, code `00`) is used.
const AC_BITS: [u8; 16] = [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const AC_VALUES: [u8; 2] = [0x00, 0x01];

/// Canonical Huffman codes `(code, length)` indexed by symbol position.
fn canonical_codes(bits: &[u8; 16]) -> Vec<(u16, u8)> {
    let mut codes = Vec::new();
    let mut code: u16 = 0;
    for (length_minus_one, count) in bits.iter().enumerate() {
        for _ in 0..*count {
            codes.push((code, length_minus_one as u8 + 1));
            code += 1;
        }
        code <<= 1;
    }
    codes
}

struct BitWriter {
    bytes: Vec<u8>,
    accumulator: u32,
    filled: u8,
}

impl BitWriter {
    fn put(&mut self, code: u32, length: u8) {
        for shift in (0..length).rev() {
            self.accumulator = (self.accumulator << 1) | ((code >> shift) & 1);
            self.filled += 1;
            if self.filled == 8 {
                let byte = self.accumulator as u8;
                self.bytes.push(byte);
                if byte == 0xFF {
                    self.bytes.push(0x00);
                }
                self.accumulator = 0;
                self.filled = 0;
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        while self.filled != 0 {
            self.put(1, 1);
        }
        self.bytes
    }
}

fn segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
}

/// Colour of block `(column, row)` of the picture for `hash`: a diagonal gradient between two
/// hues with a disc of a third colour, so images are visibly different.
fn block_rgb(hash: u64, column: u32, row: u32, columns: u32, rows: u32) -> [f32; 3] {
    let palette = |shift: u32| -> [f32; 3] {
        let value = ids::mix64(hash.rotate_left(shift));
        [
            (value & 0xFF) as f32,
            ((value >> 8) & 0xFF) as f32,
            ((value >> 16) & 0xFF) as f32,
        ]
    };
    let (start, end, disc) = (palette(0), palette(21), palette(42));
    let t = (column + row) as f32 / (columns + rows).max(1) as f32;
    let center_x = columns as f32 * (0.3 + (hash % 40) as f32 / 100.0);
    let center_y = rows as f32 * (0.3 + ((hash >> 8) % 40) as f32 / 100.0);
    let radius = columns.min(rows) as f32 * 0.3;
    let (dx, dy) = (column as f32 + 0.5 - center_x, row as f32 + 0.5 - center_y);
    if dx * dx + dy * dy < radius * radius {
        return disc;
    }
    [0, 1, 2].map(|channel| start[channel] * (1.0 - t) + end[channel] * t)
}

fn encode_dc(writer: &mut BitWriter, codes: &[(u16, u8)], difference: i32) {
    let magnitude = difference.unsigned_abs();
    let category = 32 - magnitude.leading_zeros();
    let (code, length) = codes[category as usize];
    writer.put(u32::from(code), length);
    if category > 0 {
        let bits = if difference < 0 {
            difference + (1 << category) - 1
        } else {
            difference
        };
        writer.put(bits as u32, category as u8);
    }
}

/// A `width`×`height` baseline JPEG (4:4:4 YCbCr) drawn from `hash`.
pub fn encode(width: u16, height: u16, hash: u64) -> Vec<u8> {
    let (columns, rows) = (u32::from(width).div_ceil(8), u32::from(height).div_ceil(8));
    let mut out = Vec::with_capacity(700 + (columns * rows * 3) as usize);
    out.extend_from_slice(&[0xFF, 0xD8]);
    segment(
        &mut out,
        0xE0,
        b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00",
    );
    // One quantisation table: DC step 8 (so a quantised DC equals level - 128), AC steps 16.
    let mut quantisation = vec![0u8; 65];
    quantisation[1..].fill(16);
    quantisation[1] = 8;
    segment(&mut out, 0xDB, &quantisation);
    let mut frame = vec![8];
    frame.extend_from_slice(&height.to_be_bytes());
    frame.extend_from_slice(&width.to_be_bytes());
    frame.push(3);
    for component in 1..=3u8 {
        frame.extend_from_slice(&[component, 0x11, 0]);
    }
    segment(&mut out, 0xC0, &frame);
    let mut tables = vec![0x00];
    tables.extend_from_slice(&DC_BITS);
    tables.extend_from_slice(&DC_VALUES);
    tables.push(0x10);
    tables.extend_from_slice(&AC_BITS);
    tables.extend_from_slice(&AC_VALUES);
    segment(&mut out, 0xC4, &tables);
    segment(&mut out, 0xDA, &[3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]);

    let dc_codes = canonical_codes(&DC_BITS);
    let eob = canonical_codes(&AC_BITS)[0];
    let mut writer = BitWriter {
        bytes: Vec::new(),
        accumulator: 0,
        filled: 0,
    };
    let mut previous = [0i32; 3];
    for row in 0..rows {
        for column in 0..columns {
            let [red, green, blue] = block_rgb(hash, column, row, columns, rows);
            let luma = 0.299 * red + 0.587 * green + 0.114 * blue;
            let blue_difference = 128.0 - 0.168_736 * red - 0.331_264 * green + 0.5 * blue;
            let red_difference = 128.0 + 0.5 * red - 0.418_688 * green - 0.081_312 * blue;
            for (component, value) in [luma, blue_difference, red_difference]
                .into_iter()
                .enumerate()
            {
                let level = value.round().clamp(0.0, 255.0) as i32 - 128;
                encode_dc(&mut writer, &dc_codes, level - previous[component]);
                previous[component] = level;
                writer.put(u32::from(eob.0), eob.1);
            }
        }
    }
    out.extend_from_slice(&writer.finish());
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_framed_like_a_jpeg_and_differs_per_hash() {
        let first = encode(54, 96, 1);
        assert_eq!(&first[..4], &[0xFF, 0xD8, 0xFF, 0xE0]);
        assert_eq!(&first[first.len() - 2..], &[0xFF, 0xD9]);
        assert_ne!(first, encode(54, 96, 2));
        assert_eq!(first, encode(54, 96, 1));
    }

    #[test]
    fn canonical_dc_codes_match_the_standard_table() {
        let codes = canonical_codes(&DC_BITS);
        assert_eq!(codes[0], (0b00, 2));
        assert_eq!(codes[1], (0b010, 3));
        assert_eq!(codes[5], (0b110, 3));
        assert_eq!(codes[6], (0b1110, 4));
        assert_eq!(codes[11], (0b1_1111_1110, 9));
    }
}
