//! File and folder names as text, without loss: a name that is not UTF-8 keeps every byte,
//! so two names never come out the same.
//!
//! A backslash is written `\\` and a byte that is not part of valid UTF-8 `\xHH`; everything
//! else is the name as it is. [`unescape`] gives the bytes back.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// `name` as text, losslessly (see the module).
pub fn escape(name: &OsStr) -> String {
    let mut text = String::with_capacity(name.len());
    for chunk in name.as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                text.push_str("\\\\");
            } else {
                text.push(c);
            }
        }
        for byte in chunk.invalid() {
            text.push_str(&format!("\\x{byte:02x}"));
        }
    }
    text
}

/// The name that [`escape`] wrote as `text`; `None` for text it cannot have written.
pub fn unescape(text: &str) -> Option<OsString> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first != b'\\' {
            bytes.push(first);
            rest = tail;
            continue;
        }
        match tail {
            [b'\\', tail @ ..] => {
                bytes.push(b'\\');
                rest = tail;
            }
            [b'x', hi, lo, tail @ ..] => {
                let hex = std::str::from_utf8(&[*hi, *lo]).ok()?.to_owned();
                bytes.push(u8::from_str_radix(&hex, 16).ok()?);
                rest = tail;
            }
            _ => return None,
        }
    }
    Some(OsString::from_vec(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_differ_stay_different_and_come_back() {
        let names: Vec<&[u8]> = vec![
            b"cat.png",
            b"caf\xc3\xa9.png",
            b"caf\xe9.png",
            b"caf\xe8.png",
            b"caf\\xe9.png",
            b"a\\b",
            b"\xff\xfe",
            b"",
        ];
        let escaped: Vec<String> = names.iter().map(|n| escape(OsStr::from_bytes(n))).collect();
        assert_eq!(escaped[1], "café.png");
        assert_eq!(escaped[2], "caf\\xe9.png");
        assert_eq!(escaped[4], "caf\\\\xe9.png");
        let mut unique = escaped.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        for (name, text) in names.iter().zip(&escaped) {
            assert_eq!(unescape(text).unwrap().as_bytes(), *name);
        }
        assert_eq!(unescape("a\\q"), None);
        assert_eq!(unescape("a\\x4"), None);
    }
}
