//! GraphQL scalars of the `graphql` feature: every validated string is a named scalar that
//! validates on input exactly as [`std::str::FromStr`] does, so a GraphQL argument typed
//! `RepoName` is as checked as a REST path segment. The object, input and enum derives live on
//! the types themselves.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

use crate::diff::DiffId;
use crate::names::{ConfigKey, RefName, RepoName, RepoPath, Rev, WorkspaceName};
use crate::oid::Oid;

/// Parses a string scalar with `parse`; the message is the validation error's, which says
/// what was wrong with the input.
fn parse_str<T>(value: Value, parse: impl FnOnce(&str) -> crate::Result<T>) -> InputValueResult<T>
where
    T: async_graphql::InputType,
{
    match &value {
        Value::String(s) => parse(s).map_err(|e| InputValueError::custom(e.message())),
        _ => Err(InputValueError::expected_type(value)),
    }
}

macro_rules! string_scalar {
    ($ty:ty, $name:literal, $parse:expr) => {
        #[Scalar(name = $name)]
        impl ScalarType for $ty {
            fn parse(value: Value) -> InputValueResult<Self> {
                parse_str(value, $parse)
            }

            fn to_value(&self) -> Value {
                Value::String(self.to_string())
            }
        }
    };
}

string_scalar!(Oid, "Oid", Oid::from_hex);
string_scalar!(RepoName, "RepoName", |s| RepoName::new(s));
string_scalar!(RefName, "RefName", |s| RefName::new(s));
string_scalar!(RepoPath, "RepoPath", |s| RepoPath::new(s));
string_scalar!(Rev, "Rev", |s| Rev::new(s));
string_scalar!(WorkspaceName, "WorkspaceName", |s| WorkspaceName::new(s));
string_scalar!(ConfigKey, "ConfigKey", |s| ConfigKey::new(s));

#[Scalar(name = "DiffId")]
impl ScalarType for DiffId {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            // An id is opaque; what it encodes is checked when it is decoded.
            Value::String(s) => serde_json::from_value(serde_json::Value::String(s.clone()))
                .map_err(|e| InputValueError::custom(e.to_string())),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => Value::String(s),
            _ => Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_validate_as_the_names_do() {
        let ok = <RepoName as ScalarType>::parse(Value::String("demo".into()));
        assert_eq!(ok.ok().map(|r| r.to_string()), Some("demo".to_owned()));
        assert!(<RepoName as ScalarType>::parse(Value::String("../x".into())).is_err());
        assert!(<Rev as ScalarType>::parse(Value::String("-x".into())).is_err());
        assert!(<Oid as ScalarType>::parse(Value::Number(1.into())).is_err());
        let oid = Oid::from_bytes([7; 20]);
        assert_eq!(oid.to_value(), Value::String(oid.to_string()));
    }
}
