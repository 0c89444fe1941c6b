//! The `browse` observation OpenHands builds (`BrowserOutputObservation`): its extras, and the text the
//! agent reads (`get_agent_obs_text`), for a finished action or for a browser that failed under it.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use openhands_runtime_api::{BrowserOutputExtras, Observation};
use serde_json::{Map, Value};

use super::axtree;
use super::page::Snapshot;

/// Which action asked: the two render differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    Browse,
    Interactive,
}

impl Trigger {
    fn wire_name(self) -> &'static str {
        match self {
            Trigger::Browse => "browse",
            Trigger::Interactive => "browse_interactive",
        }
    }
}

/// What the action asked and how it went.
pub(crate) struct Request<'a> {
    pub trigger: Trigger,
    /// The BrowserGym action string that ran (`goto("...")` for `browse`).
    pub action: &'a str,
    pub return_axtree: bool,
}

/// The observation of the page after the action; `error` is the action's error, if any.
pub(crate) async fn from_snapshot(
    req: &Request<'_>,
    snap: Snapshot,
    error: Option<String>,
    screenshot_dir: &Path,
) -> Observation {
    let screenshot_path = save_screenshot(screenshot_dir, &snap.screenshot).await;
    let props: Map<String, Value> = snap
        .props
        .iter()
        .map(|(bid, p)| (bid.clone(), p.to_value()))
        .collect();
    let tree = axtree::flatten(&snap.ax_nodes, &snap.props);
    let mut extras = extras(req, snap.url.clone(), error.clone());
    extras.screenshot = if snap.screenshot.is_empty() {
        String::new()
    } else {
        format!("data:image/png;base64,{}", snap.screenshot)
    };
    extras.screenshot_path = screenshot_path.map(|p| p.display().to_string());
    extras.open_pages_urls = vec![snap.url.clone()];
    extras.active_page_index = 0;
    extras.focused_element_bid = snap.focused_bid;
    if req.return_axtree {
        let mut ax = Map::new();
        ax.insert("nodes".into(), Value::Array(snap.ax_nodes));
        extras.axtree_object = ax;
        extras.dom_object = match snap.dom {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        extras.extra_element_properties = props;
    }
    let content = match req.trigger {
        // html2text, which OpenHands runs over the whole DOM, prints the <title> text first.
        Trigger::Browse if !snap.title.trim().is_empty() => browse_text(
            &extras,
            &format!("{}\n\n{}", snap.title.trim(), snap.markdown),
        ),
        Trigger::Browse => browse_text(&extras, &snap.markdown),
        Trigger::Interactive => interactive_text(&extras, &tree),
    };
    Observation::browse(content, extras)
}

/// The observation when the action could not be carried out at all (OpenHands' exception path).
pub(crate) fn failed(req: &Request<'_>, url: &str, message: String) -> Observation {
    let extras = extras(req, url.to_owned(), Some(message.clone()));
    let content = match req.trigger {
        Trigger::Browse => browse_text(&extras, &message),
        Trigger::Interactive => interactive_text(&extras, ""),
    };
    Observation::browse(content, extras)
}

fn extras(req: &Request<'_>, url: String, error: Option<String>) -> BrowserOutputExtras {
    BrowserOutputExtras {
        url,
        trigger_by_action: req.trigger.wire_name().to_owned(),
        screenshot: String::new(),
        screenshot_path: None,
        set_of_marks: String::new(),
        error: error.is_some(),
        goal_image_urls: Vec::new(),
        open_pages_urls: Vec::new(),
        active_page_index: -1,
        dom_object: Map::new(),
        axtree_object: Map::new(),
        extra_element_properties: Map::new(),
        last_browser_action: req.action.to_owned(),
        last_browser_action_error: error.unwrap_or_default(),
        focused_element_bid: String::new(),
        filter_visible_only: false,
    }
}

fn browse_text(e: &BrowserOutputExtras, page_text: &str) -> String {
    let mut text = format!("[Current URL: {}]\n", e.url);
    if e.error {
        text.push_str(&format!(
            "================ BEGIN error message ===============\nThe following error occurred when trying to visit the URL:\n{}\n================ END error message ===============\n",
            e.last_browser_action_error
        ));
    }
    text.push_str("============== BEGIN webpage content ==============\n");
    text.push_str(page_text);
    text.push_str("\n============== END webpage content ==============\n");
    text
}

fn interactive_text(e: &BrowserOutputExtras, tree: &str) -> String {
    let mut text = format!(
        "[Current URL: {}]\n[Focused element bid: {}]\n",
        e.url, e.focused_element_bid
    );
    if let Some(path) = &e.screenshot_path {
        text.push_str(&format!("[Screenshot saved to: {path}]\n"));
    }
    text.push('\n');
    if e.error {
        text.push_str(&format!(
            "================ BEGIN error message ===============\nThe following error occurred when executing the last action:\n{}\n================ END error message ===============\n",
            e.last_browser_action_error
        ));
    } else {
        text.push_str("[Action executed successfully.]\n");
    }
    text.push_str("Accessibility tree of the COMPLETE webpage:\nNote: [bid] is the unique alpha-numeric identifier at the beginning of lines for each element in the AXTree. Always use bid to refer to elements in your actions.\n");
    text.push_str("============== BEGIN accessibility tree ==============\n");
    text.push_str(tree);
    text.push_str("\n============== END accessibility tree ==============\n");
    text
}

/// Writes the screenshot to `<dir>/.browser_screenshots/screenshot_<UTC timestamp>.png`, as OpenHands does
/// in the workspace, so that the agent can open it later.
async fn save_screenshot(dir: &Path, base64_png: &str) -> Option<PathBuf> {
    if base64_png.is_empty() {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64_png)
        .ok()?;
    let dir = dir.join(".browser_screenshots");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (y, m, d) = crate::server::archive::civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let path = dir.join(format!(
        "screenshot_{y:04}{m:02}{d:02}_{:02}{:02}{:02}_{:06}.png",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_micros()
    ));
    let written = async {
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::write(&path, bytes).await
    };
    match written.await {
        Ok(()) => Some(path),
        Err(e) => {
            tracing::warn!(path = %path.display(), "cannot save the screenshot: {e}");
            None
        }
    }
}
