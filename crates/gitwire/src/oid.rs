//! Object ids (SHA-1, the only object format gitwire speaks).

use std::fmt;
use std::str::FromStr;

use sha1::{Digest, Sha1};

/// A 20-byte SHA-1 object id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Oid([u8; 20]);

/// A string that is not 40 hexadecimal digits.
#[derive(Debug, thiserror::Error)]
#[error("invalid object id {0:?}: expected 40 hexadecimal digits")]
pub struct ParseOidError(pub String);

impl Oid {
    /// The all-zero id git uses for "no object" in ref updates.
    pub const ZERO: Oid = Oid([0; 20]);

    /// Wraps raw bytes.
    pub fn from_bytes(bytes: [u8; 20]) -> Self {
        Oid(bytes)
    }

    /// Reads an id from the first 20 bytes of a slice, if there are that many.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let raw: [u8; 20] = bytes.get(..20)?.try_into().ok()?;
        Some(Oid(raw))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// Whether this is the all-zero id.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 20]
    }

    /// Parses 40 hexadecimal digits (either case).
    pub fn from_hex(hex: &[u8]) -> Result<Self, ParseOidError> {
        let err = || ParseOidError(String::from_utf8_lossy(hex).into_owned());
        if hex.len() != 40 {
            return Err(err());
        }
        let mut out = [0u8; 20];
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            let hi = hex_val(pair[0]).ok_or_else(err)?;
            let lo = hex_val(pair[1]).ok_or_else(err)?;
            out[i] = (hi << 4) | lo;
        }
        Ok(Oid(out))
    }

    /// Lowercase hexadecimal form.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// The id git gives an object of `kind` with `data` as content.
    pub fn hash_object(kind: crate::object::Kind, data: &[u8]) -> Self {
        let mut hasher = Sha1::new();
        hasher.update(kind.as_str().as_bytes());
        hasher.update(b" ");
        hasher.update(data.len().to_string().as_bytes());
        hasher.update(b"\0");
        hasher.update(data);
        Oid(hasher.finalize().into())
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

impl FromStr for Oid {
    type Err = ParseOidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Oid::from_hex(s.as_bytes())
    }
}

impl serde::Serialize for Oid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_empty_blob_id() {
        let oid = Oid::hash_object(crate::object::Kind::Blob, b"");
        assert_eq!(oid.to_string(), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
        assert_eq!(oid.to_string().parse::<Oid>().ok(), Some(oid));
        assert!("xyz".parse::<Oid>().is_err());
    }
}
