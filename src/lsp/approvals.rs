//! Approvals: a policy decides first; otherwise the user is asked with `window/showMessageRequest`, or, for
//! editors without it or silent for too long, through code actions and `openhands.approval.respond`. The
//! policy itself is `crate::approval`, shared with ACP.

use std::path::{Path, PathBuf};
use std::time::Duration;

use openhands_runtime_api::{Action, ActionEvent, Observation};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tower_lsp_server::ls_types::{MessageActionItem, MessageType};

use super::bridge::Link;
use super::rich::Rich;
pub use crate::approval::{Decision, Policy, rejection, summarize};

/// The approval settings of the session.
#[derive(Debug, Clone)]
pub struct ApprovalSettings {
    pub policy: Policy,
    /// After this long without an answer to `showMessageRequest`, the user is told about the fallbacks.
    pub fallback_after: Duration,
    /// After this long without any answer the action is rejected.
    pub timeout: Duration,
    /// The client answers approvals itself (`openhands/approvalRequest`), so no `showMessageRequest`.
    pub client_ui: bool,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        Self {
            policy: Policy::Risky,
            fallback_after: Duration::from_secs(30),
            timeout: Duration::from_secs(600),
            client_ui: false,
        }
    }
}

const ALLOW_ONCE: &str = "Allow once";
const ALLOW_ALWAYS: &str = "Allow for this conversation";
const REJECT: &str = "Reject";

/// An approval the user has not answered yet.
pub struct Pending {
    pub id: String,
    pub task_id: String,
    pub summary: String,
    answer: Option<oneshot::Sender<Decision>>,
}

impl Pending {
    /// Delivers the user's answer; false if the task no longer waits.
    pub fn answer(&mut self, d: Decision) -> bool {
        self.answer.take().is_some_and(|tx| tx.send(d).is_ok())
    }
}

/// Asks, per the policy, before each action of one task.
pub struct Gate {
    link: Link,
    sandboxed: bool,
    sandbox_workspace: PathBuf,
}

/// Removes the pending approval when the wait ends, however it ends (a cancelled task drops the wait).
struct Registered<'a> {
    link: &'a Link,
    id: String,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        let mut st = self.link.state.lock().unwrap_or_else(|p| p.into_inner());
        st.approvals.retain(|p| p.id != self.id);
    }
}

impl Gate {
    pub fn new(link: Link, sandboxed: bool, sandbox_workspace: PathBuf) -> Self {
        Self {
            link,
            sandboxed,
            sandbox_workspace,
        }
    }

    /// Whether the client shows approvals itself (then a proposed edit's diff is worth computing).
    pub fn client_ui(&self) -> bool {
        self.link.state.lock().is_ok_and(|st| st.approval.client_ui)
    }

    /// Why the policy asks before `action` (`None`: it may run without asking).
    pub fn needs(&self, action: &Action) -> Option<&'static str> {
        let settings = self.link.state.lock().ok()?.approval.clone();
        let why = settings
            .policy
            .asks(action, self.sandboxed, &self.sandbox_workspace)?;
        let category = format!("{}\u{0}{why}", self.link.task.conversation_id);
        (!self.link.state.lock().ok()?.allowed.contains(&category)).then_some(why)
    }

    /// Asks the user; `None` when the action may run, else the observation that rejects it. `diff` is the
    /// proposed change of a file action, for a client that shows approvals itself.
    pub async fn ask(
        &self,
        event: &ActionEvent,
        why: &'static str,
        diff: Option<Value>,
    ) -> Option<Observation> {
        let settings = self.link.state.lock().ok()?.approval.clone();
        let category = format!("{}\u{0}{why}", self.link.task.conversation_id);
        let summary = format!("{} ({why})", summarize(&event.action));
        let decision = self.wait(event, why, &summary, diff, &settings).await;
        match decision {
            Ok(Decision::AllowOnce) => None,
            Ok(Decision::AllowAlways) => {
                if let Ok(mut st) = self.link.state.lock() {
                    st.allowed.insert(category);
                }
                None
            }
            Ok(Decision::Reject) => Some(rejection("Waiting for further user input.")),
            Err(why) => Some(rejection(&why)),
        }
    }

    async fn wait(
        &self,
        event: &ActionEvent,
        why: &str,
        summary: &str,
        diff: Option<Value>,
        settings: &ApprovalSettings,
    ) -> Result<Decision, String> {
        let (tx, mut rx) = oneshot::channel();
        let id = {
            let mut st = self.link.state.lock().unwrap_or_else(|p| p.into_inner());
            let id = format!("a{}", st.next_approval);
            st.next_approval += 1;
            st.approvals.push(Pending {
                id: id.clone(),
                task_id: self.link.task.task_id.clone(),
                summary: summary.to_owned(),
                answer: Some(tx),
            });
            id
        };
        let _registered = Registered {
            link: &self.link,
            id: id.clone(),
        };
        let previous = self.link.task.state();
        let task = &self.link.task;
        task.set_state_saying(
            super::tasks::TaskState::AwaitingApproval,
            Some(format!("#{id}: {summary}")),
        );
        let client = &self.link.client;
        client
            .log_message(
                MessageType::INFO,
                format!(
                    "[{}] approval #{id} needed: {summary}; answer with the code actions or openhands.approval.respond [\"{id}\", \"allow_once\" | \"allow_always\" | \"reject\"]",
                    task.task_id
                ),
            )
            .await;
        let deadline = tokio::time::sleep(settings.timeout);
        tokio::pin!(deadline);
        let timed_out = || {
            format!(
                "Nobody answered approval #{id} within {} s, so the action was not run.",
                settings.timeout.as_secs()
            )
        };
        let result = if settings.client_ui {
            let mut note = json!({
                "approvalId": id,
                "taskId": task.task_id,
                "conversationId": task.conversation_id,
                "toolCallId": super::rich::call_id(event.meta.id.unwrap_or_default()),
                "title": summarize(&event.action),
                "reason": why,
                "kind": super::rich::tool_kind(&event.action),
            });
            if let Action::Run(r) = &event.action {
                note["command"] = Value::String(r.command.clone());
            }
            if let Some(d) = diff {
                note["diff"] = d;
            }
            // The action's `tool_call` goes first (the forwarder may lag behind the controller).
            if let Some(action_id) = event.meta.id {
                let mut seen = task.forwarded.subscribe();
                let _ = tokio::time::timeout(
                    std::time::Duration::from_secs(2),
                    seen.wait_for(|id| *id >= action_id),
                )
                .await;
            }
            task.outbox.send(Rich::Approval(note));
            tokio::select! {
                d = &mut rx => d.map_err(|_| "the approval was withdrawn".to_owned()),
                _ = &mut deadline => Err(timed_out()),
            }
        } else {
            self.ask_editor(&id, summary, settings, &mut rx, deadline, timed_out)
                .await
        };
        task.set_state_saying(previous, None);
        let answer = match &result {
            Ok(Decision::AllowOnce) => "allowed once".to_owned(),
            Ok(Decision::AllowAlways) => "allowed for this conversation".to_owned(),
            Ok(Decision::Reject) => "rejected by the user".to_owned(),
            Err(e) => e.clone(),
        };
        if settings.client_ui {
            let decision = match &result {
                Ok(Decision::AllowOnce) => "allow_once",
                Ok(Decision::AllowAlways) => "allow_always",
                Ok(Decision::Reject) => "reject",
                Err(e) if e.starts_with("Nobody answered") => "timeout",
                Err(_) => "cancelled",
            };
            task.outbox.send(Rich::Resolved(
                json!({"approvalId": id, "taskId": task.task_id, "decision": decision}),
            ));
        }
        client
            .log_message(
                MessageType::INFO,
                format!("[{}] approval #{id}: {answer}", task.task_id),
            )
            .await;
        // The transcript says what was asked and answered: a rejected `rm` must not read as if it ran.
        append_transcript(
            &super::tasks::transcript_path(&self.link.workspace, &task.conversation_id),
            &format!("> **Approval #{id}**: {summary}: {answer}\n\n"),
        );
        result
    }

    /// `window/showMessageRequest`, with the fallbacks for editors that cannot show it or stay silent.
    async fn ask_editor(
        &self,
        id: &str,
        summary: &str,
        settings: &ApprovalSettings,
        rx: &mut oneshot::Receiver<Decision>,
        mut deadline: std::pin::Pin<&mut tokio::time::Sleep>,
        timed_out: impl Fn() -> String,
    ) -> Result<Decision, String> {
        let client = &self.link.client;
        let message = format!("OpenHands wants to run: {summary}  [#{id}]");
        let actions = [ALLOW_ONCE, ALLOW_ALWAYS, REJECT]
            .iter()
            .map(|t| MessageActionItem {
                title: (*t).to_owned(),
                properties: Default::default(),
            })
            .collect();
        let request = client.show_message_request(MessageType::WARNING, message, Some(actions));
        tokio::pin!(request);
        let fallback = tokio::time::sleep(settings.fallback_after);
        tokio::pin!(fallback);
        let (mut asked, mut told) = (true, false);
        // Short enough for Helix's status line, the essentials first; the log has the whole sentence.
        let tell = || {
            let head = format!("OpenHands #{id}: ");
            let tail = " (answer in code actions)";
            let room = super::tasks::SHOWN_CHARS.saturating_sub(head.len() + tail.len());
            format!(
                "{head}{}{tail}",
                crate::session::one_line(summary, room.max(20))
            )
        };
        loop {
            tokio::select! {
                answer = &mut request, if asked => {
                    asked = false;
                    match answer {
                        Ok(Some(item)) => break match item.title.as_str() {
                            ALLOW_ONCE => Ok(Decision::AllowOnce),
                            ALLOW_ALWAYS => Ok(Decision::AllowAlways),
                            _ => Ok(Decision::Reject),
                        },
                        // Escape or a closed popup.
                        Ok(None) => break Ok(Decision::Reject),
                        Err(_) if !told => {
                            told = true;
                            client.show_message(MessageType::WARNING, tell()).await;
                        }
                        Err(_) => {}
                    }
                }
                d = &mut *rx => break d.map_err(|_| "the approval was withdrawn".to_owned()),
                _ = &mut fallback, if !told => {
                    told = true;
                    client.show_message(MessageType::WARNING, tell()).await;
                }
                _ = &mut deadline => break Err(timed_out()),
            }
        }
    }
}

/// Appends to the conversation's transcript; a transcript that cannot be written only loses that line.
fn append_transcript(path: &Path, text: &str) {
    use std::io::Write as _;
    if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(path) {
        let _ = f.write_all(text.as_bytes());
    }
}
