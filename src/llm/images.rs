//! Images in a request: which ones a model is sent (only to models that see images, only the latest few,
//! none over a provider's size limit) and how each wire format carries them.

use serde_json::{Value, json};

use super::Message;

/// The most images one request carries: the latest ones (the model acts on the current screen), so a long
/// browsing task does not send every screenshot it ever took.
pub const MAX_IMAGES: usize = 3;
/// The largest image sent, decoded (Anthropic refuses images over 5 MB; OpenAI takes 20 MB).
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// The media types both providers accept.
const MEDIA_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// A `data:<media type>;base64,<data>` URL taken apart: `(media type, base64 data)`.
pub fn parse_data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (media_type, data) = rest.split_once(";base64,")?;
    Some((media_type.trim(), data.trim()))
}

/// Why an image cannot be sent, if it cannot.
fn refusal(url: &str) -> Option<String> {
    let Some((media_type, data)) = parse_data_url(url) else {
        return Some("it is not a base64 data URL".into());
    };
    if !MEDIA_TYPES.contains(&media_type) {
        return Some(format!(
            "its type {media_type} is not one of {}",
            MEDIA_TYPES.join(", ")
        ));
    }
    let bytes = data.len() / 4 * 3;
    if bytes > MAX_IMAGE_BYTES {
        return Some(format!(
            "it is {} MB, over the {} MB limit",
            bytes / (1024 * 1024),
            MAX_IMAGE_BYTES / (1024 * 1024)
        ));
    }
    None
}

/// Keeps the images a request may carry: none when the model does not see images; otherwise the latest
/// [`MAX_IMAGES`] that are valid. Every image left out is named in its message's text, so the model knows
/// something was there.
pub fn fit(messages: &mut [Message], vision: bool) {
    let mut kept = 0;
    for m in messages.iter_mut().rev() {
        if m.images.is_empty() {
            continue;
        }
        let mut notes = Vec::new();
        let images = std::mem::take(&mut m.images);
        // Within a message, the last images are the latest too.
        let mut keep = Vec::new();
        for url in images.into_iter().rev() {
            if !vision {
                notes.push("[An image is not shown: this model does not take images.]".to_owned());
            } else if let Some(why) = refusal(&url) {
                notes.push(format!("[An image is not shown: {why}.]"));
            } else if kept >= MAX_IMAGES {
                notes.push(format!(
                    "[An earlier image is not shown: a request carries the latest {MAX_IMAGES} only.]"
                ));
            } else {
                kept += 1;
                keep.push(url);
            }
        }
        keep.reverse();
        m.images = keep;
        if !notes.is_empty() {
            notes.reverse();
            notes.dedup();
            if !m.content.is_empty() {
                m.content.push('\n');
            }
            m.content.push_str(&notes.join("\n"));
        }
    }
}

/// OpenAI's content part for an image.
pub fn openai_part(url: &str) -> Value {
    json!({ "type": "image_url", "image_url": { "url": url } })
}

/// Anthropic's content block for an image (only valid data URLs reach here, see [`fit`]).
pub fn anthropic_block(url: &str) -> Value {
    let (media_type, data) = parse_data_url(url).unwrap_or(("image/png", ""));
    json!({ "type": "image", "source": { "type": "base64", "media_type": media_type, "data": data } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Role;

    fn with_images(n: usize) -> Message {
        let mut m = Message::new(Role::User, "look");
        m.images = (0..n)
            .map(|i| format!("data:image/png;base64,AAA{i}"))
            .collect();
        m
    }

    #[test]
    fn only_the_latest_images_are_kept_and_the_rest_are_named() {
        let mut messages = vec![
            with_images(2),
            Message::new(Role::User, "x"),
            with_images(2),
        ];
        fit(&mut messages, true);
        assert_eq!(messages[2].images.len(), 2);
        assert_eq!(messages[0].images, vec!["data:image/png;base64,AAA1"]);
        assert!(messages[0].content.contains("latest 3 only"));
        assert_eq!(messages[1].content, "x");
    }

    #[test]
    fn a_model_without_vision_gets_a_note_instead() {
        let mut messages = vec![with_images(1)];
        fit(&mut messages, false);
        assert!(messages[0].images.is_empty());
        assert_eq!(
            messages[0].content,
            "look\n[An image is not shown: this model does not take images.]"
        );
    }

    #[test]
    fn bad_and_huge_images_are_refused() {
        let mut m = Message::new(Role::User, "");
        m.images = vec![
            "https://example.com/a.png".into(),
            "data:image/tiff;base64,AAAA".into(),
            format!("data:image/png;base64,{}", "A".repeat(8 * 1024 * 1024)),
        ];
        let mut messages = vec![m];
        fit(&mut messages, true);
        assert!(messages[0].images.is_empty());
        let text = &messages[0].content;
        assert!(text.contains("not a base64 data URL"), "{text}");
        assert!(text.contains("image/tiff is not one of"), "{text}");
        assert!(text.contains("over the 5 MB limit"), "{text}");
    }

    #[test]
    fn wire_shapes() {
        let url = "data:image/jpeg;base64,/9j/";
        assert_eq!(openai_part(url)["image_url"]["url"], url);
        assert_eq!(
            anthropic_block(url),
            json!({"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/"}})
        );
    }
}
