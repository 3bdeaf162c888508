//! Object ids.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// A SHA-1 object id. Serialised as 40 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid([u8; 20]);

impl Oid {
    /// The all-zero id, which means "no object" in ref updates (must not exist / delete).
    pub const ZERO: Oid = Oid([0; 20]);

    /// From raw bytes.
    pub fn from_bytes(bytes: [u8; 20]) -> Self {
        Self(bytes)
    }

    /// From a slice of exactly 20 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 20]>::try_from(bytes).ok().map(Self)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// Whether this is [`Oid::ZERO`].
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 20]
    }

    /// Parses exactly 40 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<Self, Error> {
        let mut bytes = [0u8; 20];
        if s.len() != 40 || hex::decode_to_slice(s, &mut bytes).is_err() {
            return Err(Error::invalid(format!(
                "object id {s:?} is not 40 hex digits"
            )));
        }
        Ok(Self(bytes))
    }

    /// The first `n` hex digits (at most 40).
    pub fn short(&self, n: usize) -> String {
        let mut s = self.to_string();
        s.truncate(n.min(40));
        s
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 40];
        hex::encode_to_slice(self.0, &mut buf).map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

impl FromStr for Oid {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::from_hex(s)
    }
}

impl Serialize for Oid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Oid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Oid::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Oid {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::openapi::string_schema(
            "A SHA-1 object id: 40 hex digits (answers are lowercase). All zeros means no object.",
            Some("^[0-9a-fA-F]{40}$"),
        )
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Oid {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let s = "0123456789abcdef0123456789abcdef01234567";
        let oid = Oid::from_hex(s).expect("valid hex");
        assert_eq!(oid.to_string(), s);
        assert_eq!(oid.short(7), "0123456");
        assert!(Oid::from_hex("xyz").is_err());
        assert!(Oid::from_hex(&s[..39]).is_err());
        assert!(Oid::ZERO.is_zero());
    }
}
