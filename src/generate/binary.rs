//! A hand-rolled encoder for PostgreSQL's binary COPY format.
//!
//! Why not `BinaryCopyInWriter`: it goes through `ToSql` per value, with a type check
//! and a boxed future per row, which costs more than generating the row. Here a row
//! is appended to one `BytesMut` with no allocation, so generation stays well ahead
//! of the server's COPY. The format: a header, then per row a 16-bit field count and
//! per field a 32-bit length (-1 for NULL) and the value in the type's binary send
//! format; a 16-bit -1 ends the stream.

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};

/// Signature, flags (0: no OIDs) and header-extension length (0).
pub const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// End-of-data marker.
pub const TRAILER: &[u8] = &[0xff, 0xff];

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC).
pub const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

/// Appends rows to a buffer in binary COPY format.
#[derive(Debug)]
pub struct RowWriter<'a> {
    buf: &'a mut BytesMut,
}

impl<'a> RowWriter<'a> {
    /// Writes into `buf` (after whatever it holds).
    pub fn new(buf: &'a mut BytesMut) -> Self {
        RowWriter { buf }
    }

    /// Starts a row of `fields` values; exactly that many must follow.
    #[inline]
    pub fn row(&mut self, fields: i16) {
        self.buf.put_i16(fields);
    }

    /// A NULL.
    #[inline]
    pub fn null(&mut self) {
        self.buf.put_i32(-1);
    }

    /// `boolean`.
    #[inline]
    pub fn bool(&mut self, v: bool) {
        self.buf.put_i32(1);
        self.buf.put_u8(v as u8);
    }

    /// `integer`.
    #[inline]
    pub fn i32(&mut self, v: i32) {
        self.buf.put_i32(4);
        self.buf.put_i32(v);
    }

    /// `bigint`.
    #[inline]
    pub fn i64(&mut self, v: i64) {
        self.buf.put_i32(8);
        self.buf.put_i64(v);
    }

    /// `double precision`.
    #[inline]
    pub fn f64(&mut self, v: f64) {
        self.buf.put_i32(8);
        self.buf.put_f64(v);
    }

    /// `uuid`, from its 128-bit value (big-endian, as written in text).
    #[inline]
    pub fn uuid(&mut self, v: u128) {
        self.buf.put_i32(16);
        self.buf.put_u128(v);
    }

    /// `timestamp` or `timestamptz`, as microseconds since 2000-01-01 UTC.
    #[inline]
    pub fn timestamp(&mut self, pg_micros: i64) {
        self.i64(pg_micros);
    }

    /// A timestamp or NULL.
    #[inline]
    pub fn opt_timestamp(&mut self, pg_micros: Option<i64>) {
        match pg_micros {
            Some(t) => self.i64(t),
            None => self.null(),
        }
    }

    /// `text` / `varchar`.
    #[inline]
    pub fn text(&mut self, s: &str) {
        self.buf.put_i32(s.len() as i32);
        self.buf.put_slice(s.as_bytes());
    }

    /// `text` formatted in place (no intermediate `String`).
    #[inline]
    pub fn text_fmt(&mut self, args: std::fmt::Arguments<'_>) {
        self.with_length(|buf| {
            // Writing to a BytesMut cannot fail.
            let _ = buf.write_fmt(args);
        });
    }

    /// `text` made of several pieces, written one after the other.
    #[inline]
    pub fn text_parts(&mut self, parts: &[&str]) {
        self.buf
            .put_i32(parts.iter().map(|p| p.len()).sum::<usize>() as i32);
        for p in parts {
            self.buf.put_slice(p.as_bytes());
        }
    }

    /// A UUID in its 36-character text form, for `varchar(36)` columns.
    #[inline]
    pub fn uuid_text(&mut self, v: u128) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        // Byte offsets of the 16 bytes' hex pairs in `8-4-4-4-12`.
        const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
        let mut out = *b"00000000-0000-0000-0000-000000000000";
        let bytes = v.to_be_bytes();
        for (b, at) in bytes.iter().zip(AT) {
            out[at] = HEX[(b >> 4) as usize];
            out[at + 1] = HEX[(b & 15) as usize];
        }
        self.buf.put_i32(36);
        self.buf.put_slice(&out);
    }

    /// `jsonb`: format version 1 followed by JSON text that `body` writes. The text
    /// must be valid JSON (the server parses it).
    #[inline]
    pub fn jsonb(&mut self, body: impl FnOnce(&mut BytesMut)) {
        self.with_length(|buf| {
            buf.put_u8(1);
            body(buf);
        });
    }

    /// `numeric` from an integer count of `10^-scale` units: `numeric(1234, 4)` is
    /// 0.1234. The value is exact (no float rounding), which CHECKs on bounds need.
    /// `scale` is at most 12 (every column here has 2, 4 or 5).
    pub fn numeric(&mut self, units: i64, scale: u16) {
        debug_assert!(scale <= 12, "numeric scale {scale} > 12");
        let negative = units < 0;
        let magnitude = units.unsigned_abs();
        let pow = 10u64.pow(u32::from(scale));
        let mut int_part = magnitude / pow;
        // Pad the fraction to whole base-10000 digits.
        let frac_groups = usize::from(scale).div_ceil(4);
        let mut frac = (magnitude % pow) * 10u64.pow((frac_groups * 4) as u32 - u32::from(scale));

        let mut digits = [0i16; 12];
        let mut int_digits = [0i16; 5];
        let mut n_int = 0;
        while int_part > 0 {
            int_digits[n_int] = (int_part % 10_000) as i16;
            int_part /= 10_000;
            n_int += 1;
        }
        let mut n = 0;
        for k in (0..n_int).rev() {
            digits[n] = int_digits[k];
            n += 1;
        }
        let mut frac_digits = [0i16; 5];
        for k in (0..frac_groups).rev() {
            frac_digits[k] = (frac % 10_000) as i16;
            frac /= 10_000;
        }
        digits[n..n + frac_groups].copy_from_slice(&frac_digits[..frac_groups]);
        n += frac_groups;

        let mut weight = n_int as i16 - 1;
        let mut first = 0;
        while first < n && digits[first] == 0 {
            first += 1;
            weight -= 1;
        }
        let mut last = n;
        while last > first && digits[last - 1] == 0 {
            last -= 1;
        }
        let ndigits = last - first;
        if ndigits == 0 {
            weight = 0;
        }
        self.buf.put_i32(8 + 2 * ndigits as i32);
        self.buf.put_i16(ndigits as i16);
        self.buf.put_i16(weight);
        self.buf
            .put_u16(if negative && ndigits > 0 { 0x4000 } else { 0 });
        self.buf.put_u16(scale);
        for d in &digits[first..last] {
            self.buf.put_i16(*d);
        }
    }

    /// Writes a value whose length is only known afterwards: reserve the length,
    /// write, patch the length in.
    #[inline]
    fn with_length(&mut self, body: impl FnOnce(&mut BytesMut)) {
        let at = self.buf.len();
        self.buf.put_i32(0);
        body(self.buf);
        let len = (self.buf.len() - at - 4) as i32;
        self.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
}

/// Writes `s` as a JSON string literal (with escapes) into `buf`.
pub fn json_str(buf: &mut BytesMut, s: &str) {
    buf.put_u8(b'"');
    for c in s.chars() {
        match c {
            '"' => buf.put_slice(b"\\\""),
            '\\' => buf.put_slice(b"\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(buf, "\\u{:04x}", c as u32);
            }
            c => {
                let mut tmp = [0u8; 4];
                buf.put_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
    }
    buf.put_u8(b'"');
}

/// Writes a flat JSON object key by key. Keys are literals (no escaping needed);
/// string values are escaped.
#[derive(Debug)]
pub struct JsonObject<'a> {
    buf: &'a mut BytesMut,
    first: bool,
}

impl<'a> JsonObject<'a> {
    /// Opens the object (`{`) in `buf`.
    pub fn new(buf: &'a mut BytesMut) -> Self {
        buf.extend_from_slice(b"{");
        JsonObject { buf, first: true }
    }
    fn key(&mut self, key: &str) {
        if !self.first {
            self.buf.extend_from_slice(b", ");
        }
        self.first = false;
        let _ = write!(self.buf, "\"{key}\": ");
    }
    /// A value already in JSON form (number, array literal).
    pub fn raw(&mut self, key: &str, json: &str) {
        self.key(key);
        self.buf.extend_from_slice(json.as_bytes());
    }
    /// A number (or anything whose Display is valid JSON).
    pub fn num(&mut self, key: &str, v: impl std::fmt::Display) {
        self.key(key);
        let _ = write!(self.buf, "{v}");
    }
    /// A string, escaped.
    pub fn str(&mut self, key: &str, v: &str) {
        self.key(key);
        json_str(self.buf, v);
    }
    /// A boolean.
    pub fn bool(&mut self, key: &str, v: bool) {
        self.raw(key, if v { "true" } else { "false" });
    }
    /// Closes the object (`}`).
    pub fn end(self) {
        self.buf.extend_from_slice(b"}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(f: impl FnOnce(&mut RowWriter)) -> Vec<u8> {
        let mut buf = BytesMut::new();
        f(&mut RowWriter::new(&mut buf));
        buf.to_vec()
    }

    #[test]
    fn numeric_matches_postgres_send_format() {
        // 0.9234 as numeric(5,4): one digit 9234, weight -1, dscale 4.
        assert_eq!(
            encoded(|w| w.numeric(9234, 4)),
            [0, 0, 0, 10, 0, 1, 0xff, 0xff, 0, 0, 0, 4, 0x24, 0x12]
        );
        // 123.45678 as numeric(8,5): digits 123 | 4567 | 8000, weight 0.
        assert_eq!(
            encoded(|w| w.numeric(12_345_678, 5)),
            [
                0, 0, 0, 14, 0, 3, 0, 0, 0, 0, 0, 5, 0, 123, 0x11, 0xd7, 0x1f, 0x40
            ]
        );
        // zero: no digits.
        assert_eq!(
            encoded(|w| w.numeric(0, 2)),
            [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 2]
        );
        // 10000.00: one digit 1 with weight 1 (trailing zero groups dropped).
        assert_eq!(
            encoded(|w| w.numeric(1_000_000, 2)),
            [0, 0, 0, 10, 0, 1, 0, 1, 0, 0, 0, 2, 0, 1]
        );
    }

    #[test]
    fn uuid_text_is_hyphenated_lowercase_hex() {
        let v = 0x0123_4567_89ab_cdef_0011_2233_4455_6677u128;
        let bytes = encoded(|w| w.uuid_text(v));
        assert_eq!(&bytes[4..], b"01234567-89ab-cdef-0011-223344556677");
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut buf = BytesMut::new();
        json_str(&mut buf, "a\"b\\c\nd");
        assert_eq!(&buf[..], br#""a\"b\\c\u000ad""#);
    }
}
