//! What the user sent in `session/prompt` as one message for the agent: text blocks as they are, resource
//! links as mentions the agent can open, embedded resources (a file's text the client attached) inline.

use serde_json::Value;

/// The agent's message for ACP prompt blocks (given as JSON, the wire shape); `Err` names a block this agent
/// does not take (images and audio: the prompt capabilities say so).
pub fn prompt_text(blocks: &[Value]) -> Result<String, String> {
    let mut parts: Vec<String> = Vec::new();
    for block in blocks {
        let s = |k: &str| block.get(k).and_then(Value::as_str).unwrap_or_default();
        match s("type") {
            "text" => parts.push(s("text").to_owned()),
            "resource_link" => {
                let name = match s("name") {
                    "" => s("uri"),
                    n => n,
                };
                parts.push(format!("[@{name}]({})", s("uri")));
            }
            "resource" => {
                let r = block.get("resource").cloned().unwrap_or_default();
                let uri = r.get("uri").and_then(Value::as_str).unwrap_or_default();
                match r.get("text").and_then(Value::as_str) {
                    Some(text) => {
                        parts.push(format!("<context ref=\"{uri}\">\n{text}\n</context>"))
                    }
                    None => parts.push(format!("[@{uri}]({uri}) (binary, not included)")),
                }
            }
            other => {
                return Err(format!(
                    "this agent takes text, resource links and embedded text resources; a `{other}` block is not supported"
                ));
            }
        }
    }
    let text = parts.join("\n");
    if text.trim().is_empty() {
        return Err("the prompt is empty".to_owned());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blocks_become_one_message() {
        let text = prompt_text(&[
            json!({"type": "text", "text": "fix"}),
            json!({"type": "resource_link", "uri": "file:///w/a.rs", "name": "a.rs"}),
            json!({"type": "resource", "resource": {"uri": "file:///w/b.rs", "text": "fn b() {}"}}),
        ])
        .unwrap();
        assert_eq!(
            text,
            "fix\n[@a.rs](file:///w/a.rs)\n<context ref=\"file:///w/b.rs\">\nfn b() {}\n</context>"
        );
        assert!(
            prompt_text(&[json!({"type": "image", "data": "", "mimeType": "image/png"})]).is_err()
        );
        assert!(prompt_text(&[json!({"type": "text", "text": "  "})]).is_err());
    }
}
