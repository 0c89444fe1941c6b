//! The usage a provider would report for a request, for tests and benchmarks that count tokens: prompt
//! tokens from the request's size (4 bytes a token), and prompt caching as each provider does it.
//! OpenAI caches any prompt prefix it has seen (from 1024 tokens, in steps of 128); Anthropic reads back
//! a prefix ending at a `cache_control` breakpoint of an earlier request, and writes the prefix up to
//! this request's last breakpoint.

use serde_json::Value;

use super::Wire;

/// Tokens of one call as the server reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reported {
    /// All input tokens, cached or not.
    pub prompt: u64,
    pub completion: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

/// One request as the cache sees it: its prompt text and where breakpoints end.
struct Seen {
    text: String,
    breakpoints: Vec<usize>,
}

/// The requests the cache remembers (the latest few, as a provider keeps recent prefixes warm).
#[derive(Default)]
pub struct Cache {
    recent: Vec<Seen>,
}

const REMEMBERED: usize = 4;

fn tokens(bytes: usize) -> u64 {
    bytes.div_ceil(4) as u64
}

/// The prompt as a list of blocks (tools, system, messages), each without its cache marker, and which
/// blocks carry one.
fn blocks(wire: Wire, body: &Value) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut push = |v: &Value| {
        let marked = v.get("cache_control").is_some();
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("cache_control");
        }
        out.push((v.to_string(), marked));
    };
    for tool in body["tools"].as_array().into_iter().flatten() {
        push(tool);
    }
    match wire {
        Wire::OpenAi => {
            for m in body["messages"].as_array().into_iter().flatten() {
                push(m);
            }
        }
        Wire::Anthropic => {
            for b in body["system"].as_array().into_iter().flatten() {
                push(b);
            }
            for m in body["messages"].as_array().into_iter().flatten() {
                push(&Value::String(m["role"].to_string()));
                match &m["content"] {
                    Value::Array(parts) => parts.iter().for_each(&mut push),
                    other => push(other),
                }
            }
        }
    }
    out
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

impl Cache {
    /// What the provider reports for `body`, then remembers it.
    pub fn report(&mut self, wire: Wire, body: &Value, completion: u64) -> Reported {
        let blocks = blocks(wire, body);
        let mut text = String::new();
        let mut boundaries = Vec::new();
        let mut breakpoints = Vec::new();
        for (block, marked) in &blocks {
            text.push_str(block);
            boundaries.push(text.len());
            if *marked {
                breakpoints.push(text.len());
            }
        }
        let prompt = tokens(text.len());
        let (read, write) = match wire {
            Wire::OpenAi => {
                let common = self
                    .recent
                    .iter()
                    .map(|s| common_prefix(&s.text, &text))
                    .max()
                    .unwrap_or(0);
                let cached = tokens(common);
                let cached = if cached >= 1024 {
                    cached / 128 * 128
                } else {
                    0
                };
                (cached, 0)
            }
            Wire::Anthropic => {
                let read = self
                    .recent
                    .iter()
                    .flat_map(|s| {
                        let common = common_prefix(&s.text, &text);
                        s.breakpoints.iter().copied().filter(move |p| *p <= common)
                    })
                    .filter(|p| boundaries.contains(p))
                    .max()
                    .unwrap_or(0);
                let last = breakpoints.last().copied().unwrap_or(0);
                (tokens(read), tokens(last).saturating_sub(tokens(read)))
            }
        };
        self.recent.push(Seen { text, breakpoints });
        if self.recent.len() > REMEMBERED {
            self.recent.remove(0);
        }
        Reported {
            prompt,
            completion,
            cache_read: read,
            cache_write: write,
        }
    }
}
