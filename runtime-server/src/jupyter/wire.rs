//! Jupyter messages on the wire: multipart ZeroMQ frames signed with HMAC-SHA256 (messaging protocol 5.3).

use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const DELIMITER: &[u8] = b"<IDS|MSG>";
const PROTOCOL_VERSION: &str = "5.3";

/// A decoded message: only what the cell loop reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Message {
    pub msg_type: String,
    /// `parent_header.msg_id`: which request this message answers.
    pub parent_id: Option<String>,
    pub content: Value,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum WireError {
    #[error("no <IDS|MSG> delimiter among {0} frames")]
    NoDelimiter(usize),
    #[error(
        "{0} frames after the delimiter, need 5 (signature, header, parent, metadata, content)"
    )]
    TooFewFrames(usize),
    #[error("bad HMAC signature")]
    BadSignature,
    #[error("frame is not JSON: {0}")]
    NotJson(String),
}

/// Signs outgoing messages and checks incoming ones; one per kernel connection.
#[derive(Clone)]
pub(crate) struct Session {
    key: Vec<u8>,
    id: String,
    counter: u64,
}

impl Session {
    pub fn new(key: Vec<u8>, id: String) -> Self {
        Self {
            key,
            id,
            counter: 0,
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length")
    }

    /// Builds the frames of a request; returns them with the new message's id.
    pub fn request(&mut self, msg_type: &str, content: Value) -> (Vec<Bytes>, String) {
        self.counter += 1;
        let msg_id = format!("{}_{}", self.id, self.counter);
        let header = json!({
            "msg_id": msg_id,
            "session": self.id,
            "username": "openhands",
            "date": iso8601(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
            ),
            "msg_type": msg_type,
            "version": PROTOCOL_VERSION,
        });
        let parts = [
            header.to_string().into_bytes(),
            b"{}".to_vec(),
            b"{}".to_vec(),
            content.to_string().into_bytes(),
        ];
        let mut mac = self.mac();
        for p in &parts {
            mac.update(p);
        }
        let signature = hex(&mac.finalize().into_bytes());
        let mut frames = vec![Bytes::from_static(DELIMITER), Bytes::from(signature)];
        frames.extend(parts.into_iter().map(Bytes::from));
        (frames, msg_id)
    }

    /// Verifies and decodes the frames of a message from the kernel (routing identities first, then the delimiter).
    pub fn decode(&self, frames: &[Bytes]) -> Result<Message, WireError> {
        let start = frames
            .iter()
            .position(|f| f.as_ref() == DELIMITER)
            .ok_or(WireError::NoDelimiter(frames.len()))?;
        let rest = &frames[start + 1..];
        if rest.len() < 5 {
            return Err(WireError::TooFewFrames(rest.len()));
        }
        if !self.key.is_empty() {
            let mut mac = self.mac();
            for p in &rest[1..5] {
                mac.update(p);
            }
            let given = unhex(&rest[0]).ok_or(WireError::BadSignature)?;
            mac.verify_slice(&given)
                .map_err(|_| WireError::BadSignature)?;
        }
        let json = |b: &Bytes| -> Result<Value, WireError> {
            serde_json::from_slice(b).map_err(|e| WireError::NotJson(e.to_string()))
        };
        let header = json(&rest[1])?;
        let parent = json(&rest[2])?;
        Ok(Message {
            msg_type: header["msg_type"].as_str().unwrap_or_default().to_owned(),
            parent_id: parent["msg_id"].as_str().map(str::to_owned),
            content: json(&rest[4])?,
        })
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// A UTC time as `2026-11-24T18:13:18.123456Z`, the form Jupyter's `date` header takes.
fn iso8601(now: std::time::Duration) -> String {
    let secs = now.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (year, month, day) = crate::server::archive::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message as a kernel would send it: routing identity, delimiter, signature, four JSON frames.
    fn from_kernel(key: &[u8], msg_type: &str, parent: &str, content: Value) -> Vec<Bytes> {
        let parts = [
            json!({"msg_id": "k1", "msg_type": msg_type}).to_string(),
            json!({"msg_id": parent}).to_string(),
            "{}".to_owned(),
            content.to_string(),
        ];
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        for p in &parts {
            mac.update(p.as_bytes());
        }
        let mut frames = vec![
            Bytes::from_static(b"stream.stdout"),
            Bytes::from_static(DELIMITER),
            Bytes::from(hex(&mac.finalize().into_bytes())),
        ];
        frames.extend(parts.into_iter().map(Bytes::from));
        frames
    }

    #[test]
    fn decodes_a_signed_message_after_routing_identities() {
        let session = Session::new(b"secret".to_vec(), "s".into());
        let frames = from_kernel(b"secret", "stream", "s_1", json!({"text": "hi\n"}));
        assert_eq!(
            session.decode(&frames),
            Ok(Message {
                msg_type: "stream".into(),
                parent_id: Some("s_1".into()),
                content: json!({"text": "hi\n"}),
            })
        );
    }

    #[test]
    fn rejects_a_wrong_signature_and_short_messages() {
        let session = Session::new(b"secret".to_vec(), "s".into());
        let forged = from_kernel(b"other", "stream", "s_1", json!({}));
        assert_eq!(session.decode(&forged), Err(WireError::BadSignature));
        assert_eq!(
            session.decode(&forged[..4]),
            Err(WireError::TooFewFrames(2))
        );
        assert_eq!(session.decode(&forged[2..]), Err(WireError::NoDelimiter(5)));
    }

    #[test]
    fn requests_are_signed_over_header_parent_metadata_content() {
        let mut session = Session::new(b"k".to_vec(), "sess".into());
        let (frames, id) = session.request("execute_request", json!({"code": "1"}));
        assert_eq!(id, "sess_1");
        assert_eq!(frames[0].as_ref(), DELIMITER);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
        for f in &frames[2..6] {
            mac.update(f);
        }
        assert_eq!(frames[1], Bytes::from(hex(&mac.finalize().into_bytes())));
        let header: Value = serde_json::from_slice(&frames[2]).unwrap();
        assert_eq!(header["msg_type"], "execute_request");
        assert_eq!(header["msg_id"], "sess_1");
        // The session decodes its own requests (a kernel's reply has the same layout).
        assert_eq!(
            session.decode(&frames).unwrap().content,
            json!({"code": "1"})
        );
        assert_eq!(session.request("x", json!({})).1, "sess_2");
    }

    #[test]
    fn dates_are_iso8601_utc() {
        use std::time::Duration;
        assert_eq!(iso8601(Duration::ZERO), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            iso8601(Duration::from_micros(1_700_000_000_123_456)),
            "2023-11-14T22:13:20.123456Z"
        );
        assert_eq!(
            iso8601(Duration::from_secs(951_825_600)),
            "2000-02-29T12:00:00.000000Z"
        );
    }
}
