//! Small serde helpers shared by the resource modules.

use serde::{Deserialize, Serialize};

pub(crate) fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Our bodies are maps of strings, numbers and booleans with string keys: serializing them
    // cannot fail, so an error here is a bug worth a clear message.
    serde_json::to_vec(value).expect("request bodies always serialize to JSON")
}

/// Reads `null` as the type's default: Loops sends `null` where a list was expected.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
