//! The one persistent page: attaching to it, evaluating our page script, navigating and waiting for loads,
//! and taking the snapshot an observation is built from.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::axtree::{DomIndex, ElementProps};
use super::cdp::{Cdp, CdpError, Event};
use super::launch::VIEWPORT;

/// Our in-page helpers; see the file for what each function does.
const PAGE_JS: &str = include_str!("page.js");

/// The budget of one protocol call that is not a navigation.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Why an action or a snapshot failed.
#[derive(Debug)]
pub(crate) enum StepError {
    /// The action failed and the page is still usable; the text is what the model reads.
    Action(String),
    /// The browser died or stopped answering: the session must be replaced.
    Browser(CdpError),
}

impl From<CdpError> for StepError {
    fn from(e: CdpError) -> Self {
        match e {
            CdpError::Protocol { message, .. } => StepError::Action(format!("Error: {message}")),
            other => StepError::Browser(other),
        }
    }
}

/// What one observation shows of the page.
pub(crate) struct Snapshot {
    pub url: String,
    pub title: String,
    pub focused_bid: String,
    pub markdown: String,
    pub props: HashMap<String, ElementProps>,
    /// `Accessibility.getFullAXTree` nodes tagged with `browsergym_id`.
    pub ax_nodes: Vec<Value>,
    /// The `DOMSnapshot.captureSnapshot` answer.
    pub dom: Value,
    /// Base64 PNG.
    pub screenshot: String,
}

pub(crate) struct Page {
    pub(super) cdp: Arc<Cdp>,
    /// Our tab; any other tab a page opens is folded back into it.
    target: String,
    session: String,
    pub(super) main_frame: String,
    /// Where the mouse is, for `scroll` (Playwright's mouse starts at the origin).
    pub(super) mouse: (f64, f64),
    /// The mouse buttons held down (CDP's `buttons` mask), so that moves while pressed are drags.
    pub(super) buttons: u32,
    crashed: Arc<AtomicBool>,
    watcher: tokio::task::JoinHandle<()>,
}

impl Drop for Page {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

impl Page {
    /// Attaches to the browser's first tab (or opens one) and prepares it.
    pub async fn attach(cdp: Cdp) -> Result<Self, CdpError> {
        let cdp = Arc::new(cdp);
        let targets = cdp
            .call("Target.getTargets", json!({}), None, CALL_TIMEOUT)
            .await?;
        let existing = targets["targetInfos"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["type"] == "page")
            .and_then(|t| t["targetId"].as_str().map(str::to_owned));
        let target = match existing {
            Some(t) => t,
            None => cdp
                .call(
                    "Target.createTarget",
                    json!({"url": "about:blank"}),
                    None,
                    CALL_TIMEOUT,
                )
                .await?["targetId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        };
        let attached = cdp
            .call(
                "Target.attachToTarget",
                json!({"targetId": target, "flatten": true}),
                None,
                CALL_TIMEOUT,
            )
            .await?;
        let session = attached["sessionId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let crashed = Arc::new(AtomicBool::new(false));
        let watcher = tokio::spawn(watch(cdp.clone(), session.clone(), crashed.clone()));
        let mut page = Self {
            cdp,
            target,
            session,
            main_frame: String::new(),
            mouse: (0.0, 0.0),
            buttons: 0,
            crashed,
            watcher,
        };
        for (method, params) in [
            ("Page.enable", json!({})),
            ("Page.setLifecycleEventsEnabled", json!({"enabled": true})),
            ("Inspector.enable", json!({})),
            ("DOM.enable", json!({})),
            (
                "Emulation.setDeviceMetricsOverride",
                json!({"width": VIEWPORT.0, "height": VIEWPORT.1, "deviceScaleFactor": 1, "mobile": false}),
            ),
        ] {
            page.call(method, params).await?;
        }
        let tree = page.call("Page.getFrameTree", json!({})).await?;
        page.main_frame = tree["frameTree"]["frame"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Ok(page)
    }

    pub fn is_alive(&self) -> bool {
        !self.cdp.is_closed() && !self.crashed.load(Ordering::SeqCst)
    }

    pub async fn call(&self, method: &str, params: Value) -> Result<Value, CdpError> {
        self.call_within(method, params, CALL_TIMEOUT).await
    }

    pub async fn call_within(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, CdpError> {
        self.cdp
            .call(method, params, Some(&self.session), timeout)
            .await
    }

    /// Calls one function of the page script, e.g. `eval("point", json!(["12"]))`, and returns its value.
    pub async fn eval(&self, function: &str, args: Value) -> Result<Value, StepError> {
        let answer = self
            .call(
                "Runtime.evaluate",
                json!({"expression": script_call(function, &args), "returnByValue": true,
                       "awaitPromise": true, "userGesture": true}),
            )
            .await?;
        if let Some(details) = answer.get("exceptionDetails") {
            let text = details["exception"]["description"]
                .as_str()
                .or(details["text"].as_str())
                .unwrap_or("the page script failed");
            return Err(StepError::Action(format!("Error: {text}")));
        }
        let value = answer["result"]["value"].clone();
        match value.get("error").and_then(Value::as_str) {
            Some(e) => Err(StepError::Action(e.to_owned())),
            None => Ok(value),
        }
    }

    /// Calls a page-script function that returns an element and gives its remote object id.
    pub async fn eval_object(&self, function: &str, args: Value) -> Result<Value, StepError> {
        let answer = self
            .call(
                "Runtime.evaluate",
                json!({"expression": script_call(function, &args)}),
            )
            .await?;
        Ok(answer["result"]["objectId"].clone())
    }

    /// Events from now on, to wait for what a command sets off.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.cdp.events()
    }

    /// Navigates and waits for the `load` event, as Playwright's `page.goto` does.
    pub async fn goto(&mut self, url: &str, timeout: Duration) -> Result<(), StepError> {
        let start = Instant::now();
        let mut events = self.events();
        let timed_out = || {
            StepError::Action(format!(
                "TimeoutError: page.goto: Timeout {}ms exceeded.\nCall log:\n  - navigating to \"{url}\", waiting until \"load\"",
                timeout.as_millis()
            ))
        };
        let answer = match self
            .call_within("Page.navigate", json!({"url": url}), timeout)
            .await
        {
            Ok(v) => v,
            Err(CdpError::Timeout { .. }) => {
                self.stop_loading().await;
                return Err(timed_out());
            }
            Err(CdpError::Protocol { message, .. }) => {
                return Err(StepError::Action(format!("Error: page.goto: {message}")));
            }
            Err(e) => return Err(StepError::Browser(e)),
        };
        if let Some(error) = answer["errorText"].as_str().filter(|e| !e.is_empty()) {
            return Err(StepError::Action(format!(
                "Error: page.goto: {error} at {url}"
            )));
        }
        // No loader: a same-document navigation (a fragment), already done.
        let Some(loader) = answer["loaderId"].as_str() else {
            return Ok(());
        };
        let session = self.session.clone();
        let loaded = wait_for(&mut events, start + timeout, |e| {
            e.session_id.as_deref() == Some(&session)
                && e.method == "Page.lifecycleEvent"
                && e.params["name"] == "load"
                && e.params["loaderId"] == loader
        })
        .await;
        match loaded {
            Ok(_) => Ok(()),
            Err(NotSeen::Closed) => Err(StepError::Browser(CdpError::Closed)),
            Err(NotSeen::TimedOut) => {
                self.stop_loading().await;
                Err(timed_out())
            }
        }
    }

    async fn stop_loading(&self) {
        let _ = self
            .call_within("Page.stopLoading", json!({}), Duration::from_secs(2))
            .await;
    }

    /// After an input that may navigate (a click on a link, Enter in a form): lets the page react and, if
    /// the main frame started loading, waits for the new document (no error if it does not come: BrowserGym
    /// also waits only as far as it can).
    pub async fn settle(&self, events: &mut broadcast::Receiver<Event>, deadline: Instant) {
        // Two frames and a task turn, so that handlers of the input and of the scrolling it caused have run.
        let _ = self
            .call_within(
                "Runtime.evaluate",
                json!({"expression": "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 0))))", "awaitPromise": true}),
                Duration::from_millis(500),
            )
            .await;
        let frame = self.main_frame.clone();
        let session = self.session.clone();
        let started = |e: &Event| {
            e.session_id.as_deref() == Some(&session)
                && matches!(
                    e.method.as_str(),
                    "Page.frameRequestedNavigation"
                        | "Page.frameStartedLoading"
                        | "Page.frameStartedNavigating"
                )
                && e.params["frameId"] == frame.as_str()
        };
        let window = (Instant::now() + Duration::from_millis(50)).min(deadline);
        if wait_for(events, window, started).await.is_err() {
            return;
        }
        self.wait_loaded(events, deadline).await;
    }

    /// Waits until the main frame's new document has its DOM (`DOMContentLoaded`, as BrowserGym waits for),
    /// then up to a second more for `load`, so that images and late scripts usually make it in; a failed or
    /// stopped load ends the wait. A page whose subresources never finish does not hold the action.
    pub async fn wait_loaded(&self, events: &mut broadcast::Receiver<Event>, deadline: Instant) {
        let frame = self.main_frame.clone();
        let session = self.session.clone();
        let reached = |name: &'static str| {
            let (frame, session) = (frame.clone(), session.clone());
            move |e: &Event| {
                e.session_id.as_deref() == Some(&session)
                    && e.params["frameId"] == frame.as_str()
                    && (e.method == "Page.frameStoppedLoading"
                        || (e.method == "Page.lifecycleEvent" && e.params["name"] == name))
            }
        };
        match wait_for(events, deadline, reached("DOMContentLoaded")).await {
            Ok(e) if e.method == "Page.lifecycleEvent" => {
                let load = (Instant::now() + Duration::from_secs(1)).min(deadline);
                let _ = wait_for(events, load, reached("load")).await;
            }
            _ => {}
        }
    }

    /// Keeps to one page: a tab the page opened (a `target="_blank"` link, `window.open`) is closed and
    /// its address opened here instead, so the agent sees where its click led.
    pub async fn adopt_popups(&mut self, timeout: Duration) -> Result<(), StepError> {
        let others = |targets: &Value| -> Vec<(String, String)> {
            targets["targetInfos"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| t["type"] == "page" && t["targetId"] != self.target.as_str())
                .map(|t| {
                    let s = |k: &str| t[k].as_str().unwrap_or_default().to_owned();
                    (s("targetId"), s("url"))
                })
                .collect()
        };
        let mut popups = others(
            &self
                .cdp
                .call("Target.getTargets", json!({}), None, CALL_TIMEOUT)
                .await?,
        );
        if popups.is_empty() {
            return Ok(());
        }
        if popups
            .iter()
            .any(|(_, url)| url.is_empty() || url == "about:blank")
        {
            // A new tab shows about:blank until its first navigation commits.
            tokio::time::sleep(Duration::from_millis(300)).await;
            popups = others(
                &self
                    .cdp
                    .call("Target.getTargets", json!({}), None, CALL_TIMEOUT)
                    .await?,
            );
        }
        let mut adopt = None;
        for (id, url) in popups {
            let _ = self
                .cdp
                .call(
                    "Target.closeTarget",
                    json!({"targetId": id}),
                    None,
                    CALL_TIMEOUT,
                )
                .await;
            if !url.is_empty() && url != "about:blank" {
                adopt = Some(url);
            }
        }
        match adopt {
            Some(url) => self.goto(&url, timeout).await,
            None => Ok(()),
        }
    }

    /// Marks the elements and reads everything an observation may show.
    pub async fn snapshot(&self, with_markdown: bool) -> Result<Snapshot, StepError> {
        // The screenshot does not depend on the bids, so it is taken while they are assigned and read.
        let marked = async {
            let page = self.eval("snapshot", json!([with_markdown])).await?;
            let (ax, dom) = tokio::join!(
                self.call("Accessibility.getFullAXTree", json!({})),
                self.call("DOMSnapshot.captureSnapshot", json!({"computedStyles": []})),
            );
            Ok::<_, StepError>((page, ax?, dom?))
        };
        let screenshot = || {
            self.call(
                "Page.captureScreenshot",
                json!({"format": "png", "optimizeForSpeed": true}),
            )
        };
        let (marked, shot) = tokio::join!(marked, screenshot());
        let (page, mut ax, dom) = marked?;
        let shot = match shot {
            // Just after an error page commits, the tab may briefly refuse ("Not attached to an active
            // page"): try again now that the page has answered; without a picture the observation stands.
            Err(CdpError::Protocol { .. }) => match screenshot().await {
                Err(CdpError::Protocol { message, .. }) => {
                    tracing::debug!("no screenshot: {message}");
                    Value::Null
                }
                other => other?,
            },
            other => other?,
        };
        let index = DomIndex::from_snapshot(&dom);
        let mut ax_nodes = match ax["nodes"].take() {
            Value::Array(nodes) => nodes,
            _ => Vec::new(),
        };
        super::axtree::tag_nodes(&mut ax_nodes, &index);
        let props = page["props"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(bid, p)| {
                let n = |i: usize| p[i].as_f64().unwrap_or_default();
                let props = ElementProps {
                    visibility: n(0),
                    bbox: [n(1), n(2), n(3), n(4)],
                    clickable: index.clickable.contains(bid),
                };
                (bid.clone(), props)
            })
            .collect();
        let mut url = page["url"].as_str().unwrap_or_default().to_owned();
        if url.starts_with("chrome-error:") {
            // An error page: report the address that failed, as Playwright's page.url does.
            let history = self.call("Page.getNavigationHistory", json!({})).await?;
            if let Some(entry) = history["entries"]
                .as_array()
                .and_then(|e| e.get(history["currentIndex"].as_u64()? as usize))
            {
                url = entry["url"].as_str().unwrap_or_default().to_owned();
            }
        }
        Ok(Snapshot {
            url,
            title: page["title"].as_str().unwrap_or_default().to_owned(),
            focused_bid: page["focused"].as_str().unwrap_or_default().to_owned(),
            markdown: page["markdown"].as_str().unwrap_or_default().to_owned(),
            props,
            ax_nodes,
            dom,
            screenshot: shot["data"].as_str().unwrap_or_default().to_owned(),
        })
    }
}

/// The expression that calls `function` of the page script with JSON arguments.
fn script_call(function: &str, args: &Value) -> String {
    let args: Vec<String> = args
        .as_array()
        .into_iter()
        .flatten()
        .map(Value::to_string)
        .collect();
    format!("({PAGE_JS}).{function}({})", args.join(", "))
}

/// Why [`wait_for`] saw no matching event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NotSeen {
    TimedOut,
    Closed,
}

/// Waits for an event matching `wanted` until `deadline`.
pub(crate) async fn wait_for(
    events: &mut broadcast::Receiver<Event>,
    deadline: Instant,
    wanted: impl Fn(&Event) -> bool,
) -> Result<Event, NotSeen> {
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => return Err(NotSeen::TimedOut),
            Ok(Ok(e)) if wanted(&e) => return Ok(e),
            Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(broadcast::error::RecvError::Closed)) => return Err(NotSeen::Closed),
        }
    }
}

/// Watches the page's events for the life of the session: notes a renderer crash, and dismisses
/// JavaScript dialogs (Playwright's default), which would otherwise block every later call.
async fn watch(cdp: Arc<Cdp>, session: String, crashed: Arc<AtomicBool>) {
    let mut events = cdp.events();
    loop {
        let e = match events.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        match e.method.as_str() {
            "Inspector.targetCrashed" if e.session_id.as_deref() == Some(&session) => {
                tracing::warn!("the browser tab crashed");
                crashed.store(true, Ordering::SeqCst);
            }
            "Target.detachedFromTarget" if e.params["sessionId"] == session.as_str() => {
                crashed.store(true, Ordering::SeqCst);
            }
            "Page.javascriptDialogOpening" if e.session_id.as_deref() == Some(&session) => {
                // A beforeunload prompt is accepted so that navigation goes on; others are dismissed.
                let accept = e.params["type"] == "beforeunload";
                let _ = cdp
                    .call(
                        "Page.handleJavaScriptDialog",
                        json!({"accept": accept}),
                        Some(&session),
                        CALL_TIMEOUT,
                    )
                    .await;
            }
            _ => {}
        }
    }
}
