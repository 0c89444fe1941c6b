//! Images reach models that see them: an image file the agent views goes to the model as an image part in
//! OpenAI's and Anthropic's shapes, and a model without vision reads a note instead of base64.

use openhands_lsp::agent::{AgentConfig, Outcome};
use openhands_lsp::llm::LlmConfig;
use openhands_lsp::runtime::Runtime as _;
use serde_json::{Value, json};

use super::super::scripted_llm::{ScriptedLlm, Wire, tool};
use super::{controller, setup};

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Runs "view the image, then finish" and returns the second request's body.
async fn second_request(wire: Wire, vision: bool) -> (Value, String) {
    let s = setup().await;
    let file = s.workspace.join("logo.png");
    std::fs::write(&file, PNG).unwrap();
    let path = file.display().to_string();
    let llm = ScriptedLlm::start(
        wire,
        vec![
            tool(
                "str_replace_editor",
                json!({"command": "view", "path": path, "security_risk": "LOW"}),
            ),
            tool("finish", json!({"message": "It is a dot."})),
        ],
    );
    let config = LlmConfig {
        vision: Some(vision),
        ..llm.config()
    };
    let (mut c, stream) = controller(&s, config, AgentConfig::default());
    let outcome = c.send_user_message("What is in logo.png?").await;
    assert_eq!(outcome, Outcome::Finished("It is a dot.".into()));
    s.runtime.close().await;
    let requests = llm.requests();
    assert_eq!(requests.len(), 2);
    // The runtime read the file whole, as a data URL.
    let url = super::observations(&stream)[0].content.clone();
    assert!(
        url.starts_with("data:image/png;base64,iVBORw0KGgo"),
        "{url}"
    );
    (requests[1].clone(), url)
}

#[tokio::test]
async fn an_image_the_agent_views_reaches_an_openai_vision_model_as_a_user_image_part() {
    let (body, url) = second_request(Wire::OpenAi, true).await;
    let messages = body["messages"].as_array().unwrap();
    let tool_at = messages.iter().position(|m| m["role"] == "tool").unwrap();
    let text = messages[tool_at]["content"].as_str().unwrap();
    assert!(
        text.contains("logo.png (image/png, 1 KB) is attached"),
        "{text}"
    );
    assert!(!text.contains("base64"), "{text}");
    // OpenAI takes images in user messages only: the image follows the tool results.
    let next = &messages[tool_at + 1];
    assert_eq!(next["role"], "user");
    assert_eq!(
        next["content"][1],
        json!({"type": "image_url", "image_url": {"url": url}})
    );
    assert!(
        next["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("tool call")
    );
}

#[tokio::test]
async fn an_image_the_agent_views_reaches_an_anthropic_vision_model_in_its_tool_result() {
    let (body, url) = second_request(Wire::Anthropic, true).await;
    let data = url.split_once(",").unwrap().1;
    let results: Vec<Value> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter(|b| b["type"] == "tool_result")
        .collect();
    assert_eq!(results.len(), 1);
    let content = results[0]["content"].as_array().unwrap();
    assert_eq!(content[0]["type"], "text");
    assert_eq!(
        content[1],
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}})
    );
}

#[tokio::test]
async fn a_model_without_vision_reads_a_note_and_no_base64() {
    let (body, _) = second_request(Wire::OpenAi, false).await;
    let text = body.to_string();
    assert!(!text.contains("image_url"), "{text}");
    assert!(!text.contains("base64,"), "{text}");
    assert!(text.contains("this model does not take images"), "{text}");
}
