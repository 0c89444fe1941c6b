//! Process and disk figures for `/server_info`, read from /proc and statvfs.

use std::time::Instant;

use serde_json::{Value, json};

pub(crate) struct Stats {
    started: Instant,
}

impl Stats {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
        }
    }

    pub fn snapshot(&self, idle_secs: f64) -> Value {
        json!({
            "uptime": self.started.elapsed().as_secs_f64(),
            "idle_time": idle_secs,
            "resources": {},
        })
    }
}
