//! Holds a run's actions until the checkpoint it starts from is taken, so that checkpoint (git processes,
//! milliseconds on a busy machine) is taken beside the run's first LLM call instead of before it, and the
//! user sees the agent's first step sooner. Nothing reaches the workspace before the checkpoint exists.

use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use openhands_runtime_api::{ActionEvent, Observation};
use tokio::sync::watch;

use crate::runtime::{Runtime, RuntimeError};

/// Opens and closes the way to the runtime for the runtimes it wrapped.
pub struct Gate(watch::Sender<bool>);

/// A gate that starts open.
impl Default for Gate {
    fn default() -> Self {
        Self(watch::channel(true).0)
    }
}

impl Gate {
    /// `inner` behind this gate.
    pub fn wrap(&self, inner: Arc<dyn Runtime>) -> Arc<dyn Runtime> {
        Arc::new(GatedRuntime {
            inner,
            open: self.0.subscribe(),
        })
    }

    pub fn close(&self) {
        self.0.send_replace(false);
    }

    pub fn open(&self) {
        self.0.send_replace(true);
    }
}

struct GatedRuntime {
    inner: Arc<dyn Runtime>,
    open: watch::Receiver<bool>,
}

impl Runtime for GatedRuntime {
    fn execute<'a>(
        &'a self,
        action: &'a ActionEvent,
    ) -> BoxFuture<'a, Result<Observation, RuntimeError>> {
        async move {
            let mut open = self.open.clone();
            // A dropped gate holds nothing back.
            let _ = open.wait_for(|o| *o).await;
            self.inner.execute(action).await
        }
        .boxed()
    }
    crate::runtime::pass_on!(
        interrupt,
        health,
        close,
        workspace_dir,
        description,
        secrets,
        client,
        confirm,
        before_finish
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts the actions that reached it.
    struct Counter(AtomicUsize);

    impl Runtime for Counter {
        fn execute<'a>(
            &'a self,
            _action: &'a ActionEvent,
        ) -> BoxFuture<'a, Result<Observation, RuntimeError>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            async { Ok(Observation::error("ran")) }.boxed()
        }
        fn interrupt(&self) -> BoxFuture<'_, ()> {
            async {}.boxed()
        }
        fn health(&self) -> BoxFuture<'_, Result<(), RuntimeError>> {
            async { Ok(()) }.boxed()
        }
        fn close(&self) -> BoxFuture<'_, ()> {
            async {}.boxed()
        }
        fn workspace_dir(&self) -> &std::path::Path {
            std::path::Path::new("/w")
        }
        fn description(&self) -> String {
            "counter".into()
        }
    }

    #[tokio::test]
    async fn a_closed_gate_holds_actions_until_it_opens() {
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let gate = Gate::default();
        let runtime = gate.wrap(counter.clone());
        let action = ActionEvent::new(openhands_runtime_api::Action::Run(
            openhands_runtime_api::CmdRunAction::new("touch a"),
        ));
        runtime.execute(&action).await.unwrap();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        gate.close();
        let held = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            runtime.execute(&action),
        )
        .await;
        assert!(held.is_err(), "the action ran through a closed gate");
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        let pending = runtime.execute(&action);
        gate.open();
        pending.await.unwrap();
        assert_eq!(counter.0.load(Ordering::SeqCst), 2);
    }
}
