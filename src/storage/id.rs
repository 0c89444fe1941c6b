//! Conversation ids: random for new conversations, validated when they come from users, so that an id
//! can only ever name a directory under `conversations/`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::StorageError;

const MAX_ID_LEN: usize = 64;

/// A conversation's id: lowercase hex digits and dashes, starting with a hex digit, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConversationId(String);

impl ConversationId {
    /// A new random id of 12 hex characters.
    pub fn generate() -> Self {
        Self(random_hex(6))
    }

    /// Validates an id given by a user (surrounding whitespace is ignored).
    pub fn parse(text: &str) -> Result<Self, StorageError> {
        let id = text.trim();
        let valid = !id.is_empty()
            && id.len() <= MAX_ID_LEN
            && id.starts_with(|c: char| c.is_ascii_hexdigit())
            && id
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'-'));
        if valid {
            Ok(Self(id.to_owned()))
        } else {
            Err(StorageError::BadId(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ConversationId {
    type Err = StorageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ConversationId {
    type Error = StorageError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ConversationId> for String {
    fn from(id: ConversationId) -> Self {
        id.0
    }
}

/// `bytes` random bytes as hex, from the kernel's CSPRNG; a hashed clock if that cannot be read.
pub(super) fn random_hex(bytes: usize) -> String {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
    if read.is_err() {
        use std::hash::{BuildHasher, Hasher};
        for (i, b) in buf.iter_mut().enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos(),
            );
            h.write_usize(i);
            *b = h.finish().to_le_bytes()[0];
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated() {
        for good in [
            "3f2a9c0b1d4e",
            "0",
            "550e8400-e29b-41d4-a716-446655440000",
            " abc\n",
        ] {
            assert!(ConversationId::parse(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            "../etc",
            "ABC",
            "-abc",
            "a/b",
            "a.b",
            "ab c",
            &"a".repeat(65),
            "é",
        ] {
            let err = ConversationId::parse(bad).unwrap_err();
            assert!(
                err.to_string().contains("is not a conversation id"),
                "{err}"
            );
        }
        let id = ConversationId::generate();
        assert_eq!(id.as_str().len(), 12);
        assert_eq!(ConversationId::parse(id.as_str()).unwrap(), id);
        assert_ne!(ConversationId::generate(), id);
    }
}
