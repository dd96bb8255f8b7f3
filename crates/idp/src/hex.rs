//! Bytes written as lower-case hex: random identifiers and SHA-256 digests.

use std::fmt::Write;

pub fn lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The SHA-256 digest of `data`, in hex.
pub fn sha256(data: &[u8]) -> String {
    lower(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref())
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_lower_case_hex() {
        assert_eq!(super::lower(&[0x00, 0x0f, 0xab]), "000fab");
        assert_eq!(super::sha256(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
