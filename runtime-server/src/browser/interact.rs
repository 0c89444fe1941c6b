//! Carries out BrowserGym actions on the page with real input events (`Input.dispatchMouseEvent`,
//! `Input.dispatchKeyEvent`, `Input.insertText`), so pages see what a user's clicks and keys would cause.

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::actions::{BrowserAction, MouseButton};
use super::keys::{Key, parse_combination};
use super::page::{NotSeen, Page, StepError, wait_for};

impl Page {
    /// Runs one action; `deadline` bounds navigations and waits, `cwd` resolves relative upload paths.
    pub async fn run(
        &mut self,
        action: &BrowserAction,
        nav_timeout: Duration,
        cwd: &Path,
    ) -> Result<(), StepError> {
        let deadline = Instant::now() + nav_timeout;
        let mut events = self.events();
        match action {
            BrowserAction::Goto(url) => return self.goto(url, nav_timeout).await,
            BrowserAction::GoBack => return self.history(-1, deadline).await,
            BrowserAction::GoForward => return self.history(1, deadline).await,
            BrowserAction::Noop { wait_ms } => {
                tokio::time::sleep_until(noop_until(*wait_ms, deadline)).await;
                return Ok(());
            }
            BrowserAction::Message => return Ok(()),
            BrowserAction::Scroll { dx, dy } => {
                let (x, y) = self.mouse;
                self.call(
                    "Input.dispatchMouseEvent",
                    json!({"type": "mouseWheel", "x": x, "y": y, "deltaX": dx, "deltaY": dy}),
                )
                .await?;
            }
            BrowserAction::Click {
                bid,
                button,
                modifiers,
                double,
            } => {
                let mods = modifiers
                    .iter()
                    .map(|m| match m.as_str() {
                        "Alt" => 1,
                        "Control" | "ControlOrMeta" => 2,
                        "Meta" => 4,
                        _ => 8,
                    })
                    .fold(0, |a, b| a | b);
                let (x, y) = self.point(bid).await?;
                self.move_to(x, y).await?;
                for count in if *double { 1..=2 } else { 1..=1 } {
                    self.mouse_button("mousePressed", *button, count, mods)
                        .await?;
                    self.mouse_button("mouseReleased", *button, count, mods)
                        .await?;
                }
            }
            BrowserAction::Hover(bid) => {
                let (x, y) = self.point(bid).await?;
                self.move_to(x, y).await?;
            }
            BrowserAction::Fill { bid, value } => self.fill(bid, value).await?,
            BrowserAction::Clear(bid) => self.fill(bid, "").await?,
            BrowserAction::SelectOption { bid, options } => {
                self.eval("selectOption", json!([bid, options])).await?;
            }
            BrowserAction::Press { bid, keys } => {
                let keys = parse_combination(keys).map_err(StepError::Action)?;
                self.eval("focus", json!([bid])).await?;
                self.press(&keys).await?;
            }
            BrowserAction::Focus(bid) => {
                self.eval("focus", json!([bid])).await?;
            }
            BrowserAction::DragAndDrop { from, to } => self.drag(from, to).await?,
            BrowserAction::UploadFile { bid, files } => {
                self.upload(bid, files, cwd, deadline).await?
            }
        }
        self.settle(&mut events, deadline).await;
        if matches!(
            action,
            BrowserAction::Click { .. } | BrowserAction::Press { .. }
        ) {
            let left = deadline.saturating_duration_since(Instant::now());
            self.adopt_popups(left).await?;
        }
        Ok(())
    }

    /// Presses on `from`, moves to `to` in steps and releases there. If the page starts an HTML5 drag
    /// (`draggable`), Chromium hands it to us (`Input.setInterceptDrags`) and the drop is dispatched as drag
    /// events, as Playwright does; otherwise the page sees plain mouse events.
    async fn drag(&mut self, from: &str, to: &str) -> Result<(), StepError> {
        let (x, y) = self.point(from).await?;
        self.move_to(x, y).await?;
        let mut events = self.events();
        self.call("Input.setInterceptDrags", json!({"enabled": true}))
            .await?;
        let dragged = async {
            self.mouse_button("mousePressed", MouseButton::Left, 1, 0)
                .await?;
            let (tx, ty) = self.point(to).await?;
            // Several steps, so that pages tracking mousemove see a drag rather than a jump.
            for step in 1..=5 {
                let f = f64::from(step) / 5.0;
                self.move_to(x + (tx - x) * f, y + (ty - y) * f).await?;
            }
            let within = Instant::now() + Duration::from_millis(50);
            match wait_for(&mut events, within, |e| e.method == "Input.dragIntercepted").await {
                Ok(drag) => {
                    for kind in ["dragEnter", "dragOver", "drop"] {
                        self.call(
                            "Input.dispatchDragEvent",
                            json!({"type": kind, "x": tx, "y": ty, "data": drag.params["data"]}),
                        )
                        .await?;
                    }
                    // The button goes up without a drag in progress, so the page sees no second drop.
                    self.mouse_button("mouseReleased", MouseButton::Left, 1, 0)
                        .await
                }
                Err(_) => {
                    self.mouse_button("mouseReleased", MouseButton::Left, 1, 0)
                        .await
                }
            }
        };
        let result = dragged.await;
        // A failed drag (the target's bid does not exist) must not leave the button held down.
        if self.buttons & 1 != 0 {
            let _ = self
                .mouse_button("mouseReleased", MouseButton::Left, 1, 0)
                .await;
        }
        let _ = self
            .call("Input.setInterceptDrags", json!({"enabled": false}))
            .await;
        result
    }

    async fn point(&self, bid: &str) -> Result<(f64, f64), StepError> {
        let p = self.eval("point", json!([bid])).await?;
        Ok((
            p["x"].as_f64().unwrap_or_default(),
            p["y"].as_f64().unwrap_or_default(),
        ))
    }

    async fn move_to(&mut self, x: f64, y: f64) -> Result<(), StepError> {
        let button = match self.buttons {
            0 => "none",
            b if b & 1 != 0 => "left",
            b if b & 2 != 0 => "right",
            _ => "middle",
        };
        self.call(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseMoved", "x": x, "y": y, "button": button, "buttons": self.buttons}),
        )
        .await?;
        self.mouse = (x, y);
        Ok(())
    }

    async fn mouse_button(
        &mut self,
        kind: &str,
        button: MouseButton,
        click_count: u32,
        modifiers: u32,
    ) -> Result<(), StepError> {
        let (name, mask) = match button {
            MouseButton::Left => ("left", 1),
            MouseButton::Right => ("right", 2),
            MouseButton::Middle => ("middle", 4),
        };
        let (x, y) = self.mouse;
        if kind == "mousePressed" {
            self.buttons |= mask;
        } else {
            self.buttons &= !mask;
        }
        self.call(
            "Input.dispatchMouseEvent",
            json!({"type": kind, "x": x, "y": y, "button": name, "buttons": self.buttons,
                   "clickCount": click_count, "modifiers": modifiers}),
        )
        .await?;
        Ok(())
    }

    /// Playwright's fill: select the current text, then type over it (or delete it).
    async fn fill(&self, bid: &str, value: &str) -> Result<(), StepError> {
        let prepared = self.eval("prepareFill", json!([bid, value])).await?;
        if prepared["done"] == true {
            return Ok(());
        }
        if value.is_empty() {
            let delete = parse_combination("Delete").map_err(StepError::Action)?;
            self.press(&delete).await
        } else {
            self.call("Input.insertText", json!({"text": value}))
                .await?;
            Ok(())
        }
    }

    /// Presses the keys in order and releases them in reverse, like a chord.
    async fn press(&self, keys: &[Key]) -> Result<(), StepError> {
        let mut modifiers = 0;
        for key in keys {
            modifiers |= key.modifier;
            // With Control, Alt or Meta held, a key is a shortcut and types no text.
            let text = key.text.as_deref().filter(|_| modifiers & 0b0111 == 0);
            let mut down = json!({
                "type": if text.is_some() { "keyDown" } else { "rawKeyDown" },
                "key": key.key, "code": key.code, "windowsVirtualKeyCode": key.key_code,
                "modifiers": modifiers,
            });
            if let Some(t) = text {
                down["text"] = t.into();
                down["unmodifiedText"] = t.into();
            }
            self.call("Input.dispatchKeyEvent", down).await?;
        }
        for key in keys.iter().rev() {
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": "keyUp", "key": key.key, "code": key.code,
                       "windowsVirtualKeyCode": key.key_code, "modifiers": modifiers}),
            )
            .await?;
            modifiers &= !key.modifier;
        }
        Ok(())
    }

    /// Moves through the session history; nothing happens at either end, as in Playwright.
    async fn history(&mut self, delta: i64, deadline: Instant) -> Result<(), StepError> {
        let history = self.call("Page.getNavigationHistory", json!({})).await?;
        let current = history["currentIndex"].as_i64().unwrap_or_default();
        let Some(entry) = history["entries"]
            .as_array()
            .and_then(|e| e.get(usize::try_from(current + delta).ok()?))
        else {
            return Ok(());
        };
        let mut events = self.events();
        self.call(
            "Page.navigateToHistoryEntry",
            json!({"entryId": entry["id"]}),
        )
        .await?;
        // A same-document entry (a fragment) commits without loading; otherwise wait for the document.
        let frame = self.main_frame.clone();
        let started = wait_for(
            &mut events,
            (Instant::now() + Duration::from_millis(500)).min(deadline),
            |e| {
                matches!(
                    e.method.as_str(),
                    "Page.frameStartedLoading" | "Page.navigatedWithinDocument"
                ) && e.params["frameId"] == frame.as_str()
            },
        )
        .await;
        match started {
            Ok(e) if e.method == "Page.frameStartedLoading" => {
                self.wait_loaded(&mut events, deadline).await;
                Ok(())
            }
            Err(NotSeen::Closed) => Err(StepError::Browser(super::cdp::CdpError::Closed)),
            _ => Ok(()),
        }
    }

    /// Sets files on a file input, or on the chooser that clicking the element opens.
    async fn upload(
        &mut self,
        bid: &str,
        files: &[String],
        cwd: &Path,
        deadline: Instant,
    ) -> Result<(), StepError> {
        let mut paths = Vec::new();
        for f in files {
            let path = cwd.join(f);
            if !path.is_file() {
                return Err(StepError::Action(format!(
                    "Error: ENOENT: no such file or directory, stat '{}'",
                    path.display()
                )));
            }
            paths.push(path.to_string_lossy().into_owned());
        }
        if self.eval("isFileInput", json!([bid])).await?["file"] == true {
            let object = self.eval_object("element", json!([bid])).await?;
            self.call(
                "DOM.setFileInputFiles",
                json!({"files": paths, "objectId": object}),
            )
            .await?;
            return Ok(());
        }
        let mut events = self.events();
        self.call(
            "Page.setInterceptFileChooserDialog",
            json!({"enabled": true}),
        )
        .await?;
        let clicked = Box::pin(self.run(
            &BrowserAction::Click {
                bid: bid.to_owned(),
                button: MouseButton::Left,
                modifiers: Vec::new(),
                double: false,
            },
            Duration::from_secs(2),
            cwd,
        ))
        .await;
        let chooser_deadline = (Instant::now() + Duration::from_secs(2)).min(deadline);
        let chooser = match &clicked {
            Ok(()) => wait_for(&mut events, chooser_deadline, |e| {
                e.method == "Page.fileChooserOpened"
            })
            .await
            .ok(),
            Err(_) => None,
        };
        let _ = self
            .call(
                "Page.setInterceptFileChooserDialog",
                json!({"enabled": false}),
            )
            .await;
        clicked?;
        let Some(chooser) = chooser else {
            return Err(StepError::Action(format!(
                "Error: clicking the element with bid \"{bid}\" opened no file chooser"
            )));
        };
        self.call(
            "DOM.setFileInputFiles",
            json!({"files": paths, "backendNodeId": chooser.params["backendNodeId"]}),
        )
        .await?;
        Ok(())
    }
}

/// When `noop(wait_ms)` ends: any number parses (`noop(1e308)` used to panic the action's task), and a
/// wait past the action's deadline ends at the deadline.
fn noop_until(wait_ms: f64, deadline: Instant) -> Instant {
    let wait = Duration::try_from_secs_f64(wait_ms.max(0.0) / 1000.0).unwrap_or(Duration::MAX);
    Instant::now()
        .checked_add(wait)
        .map_or(deadline, |t| t.min(deadline))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noop_waits_end_at_the_deadline_whatever_the_number() {
        let deadline = Instant::now() + Duration::from_secs(5);
        for wait_ms in [1e308, f64::INFINITY, f64::NAN, -5.0, 1e19] {
            assert!(noop_until(wait_ms, deadline) <= deadline, "{wait_ms}");
        }
        assert!(noop_until(10.0, deadline) < deadline);
        assert!(noop_until(-5.0, deadline) < deadline);
    }
}
