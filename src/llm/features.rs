//! What a model can do, decided from its name as OpenHands' `model_features.py` does: native tool
//! calling, stop words, sampling parameters, images.

// Native tool calling is the default for every model: OpenHands' list of function-calling families went out of
// date with each release (GLM, Kimi K2, new Claude and GPT names fell back to the emulation). A server that
// refuses `tools` is detected by its answer and gets the emulation (`Llm::complete`).

/// Models that reject a `stop` parameter.
const NO_STOP_WORDS: &[&str] = &[
    "o1*",
    "grok-4-0709",
    "grok-code-fast-1",
    "deepseek-r1-0528*",
];

/// Reasoning models that reject `temperature` (OpenHands drops it for `REASONING_EFFORT_PATTERNS`).
/// Claude models keep it: Anthropic refuses a temperature only with extended thinking, which we never
/// turn on.
const NO_TEMPERATURE: &[&str] = &["o1*", "o3*", "o4*", "gpt-5*", "deepseek-r1-0528*"];

/// Models that take OpenAI's `reasoning_effort` (OpenHands' `REASONING_EFFORT_PATTERNS`, without the
/// Claude models, which it never sends one either).
const REASONING_EFFORT: &[&str] = &[
    "o1*",
    "o3*",
    "o4*",
    "gpt-5*",
    "gemini-2.5-flash*",
    "gemini-2.5-pro*",
    "deepseek-r1-0528*",
];

/// Models that take images (OpenHands asks litellm's `supports_vision`; this is the same families by name).
/// `[llm] vision` decides for any other model.
const VISION: &[&str] = &[
    "gpt-4o*",
    "gpt-4.1*",
    "gpt-4-turbo*",
    "gpt-5*",
    "o1",
    "o1-2*",
    "o3*",
    "o4*",
    "claude-3*",
    "claude-sonnet-4*",
    "claude-opus-4*",
    "claude-haiku-4*",
    "gemini*",
    "gemma-3*",
    "gemma3*",
    "*-vl*",
    "*vision*",
    "llava*",
    "pixtral*",
    "glm-4*v*",
    "grok-4*",
    "mistral-medium*",
    "mistral-small-3*",
];

/// Anthropic requires `max_tokens`: each Claude family's output limit (as OpenHands fills it from
/// model info), so a long file write is not cut off; 8192 for older or unknown models.
pub(crate) fn default_max_output_tokens(model: &str) -> u64 {
    const LIMITS: &[(&str, u64)] = &[
        ("claude-3-7-sonnet*", 64_000),
        ("claude-sonnet-4*", 64_000),
        ("claude-haiku-4*", 64_000),
        ("claude-opus-4-5*", 64_000),
        ("claude-opus-4*", 32_000),
    ];
    LIMITS
        .iter()
        .find(|(p, _)| glob(p, &normalize(model)))
        .map_or(8192, |(_, n)| *n)
}

/// The context window (input tokens) of known model families, longest prefix first where names nest; the
/// condenser keeps prompts under it. `[llm] max_input_tokens` overrides it and covers every other model.
pub(crate) fn context_window(model: &str) -> Option<u64> {
    const WINDOWS: &[(&str, u64)] = &[
        ("claude-sonnet-4*", 200_000),
        ("claude-opus-4*", 200_000),
        ("claude-haiku-4*", 200_000),
        ("claude-3-7-sonnet*", 200_000),
        ("claude-3-5-*", 200_000),
        ("claude-3-*", 200_000),
        ("gpt-4o*", 128_000),
        ("gpt-4.1*", 1_047_576),
        ("gpt-5*", 272_000),
        ("o1*", 200_000),
        ("o3*", 200_000),
        ("o4-mini*", 200_000),
        ("gpt-4-turbo*", 128_000),
        ("gpt-3.5-turbo*", 16_385),
        ("gemini-2.5-*", 1_048_576),
        ("deepseek-chat*", 128_000),
        ("deepseek-reasoner*", 128_000),
        ("kimi-k2*", 131_072),
        ("qwen3-coder*", 262_144),
        ("devstral*", 131_072),
        ("grok-code-fast-1*", 256_000),
    ];
    let name = normalize(model);
    WINDOWS
        .iter()
        .find(|(p, _)| glob(p, &name))
        .map(|(_, n)| *n)
}

/// Lowercase; the part after the last `/`; without an Ollama `:tag` or a `-gguf` suffix.
pub(crate) fn normalize(model: &str) -> String {
    let lower = model.trim().to_ascii_lowercase();
    let base = lower.rsplit('/').next().unwrap_or_default();
    let base = base.split(':').next().unwrap_or_default();
    base.strip_suffix("-gguf").unwrap_or(base).to_string()
}

/// `*` matches any run of characters; everything else is literal.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return text.is_empty();
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// Patterns with a `/` see the full (lowercased) name; the others the normalized one.
fn matches_any(patterns: &[&str], model: &str) -> bool {
    let full = model.trim().to_ascii_lowercase();
    let base = normalize(model);
    patterns.iter().any(|p| {
        if p.contains('/') {
            glob(p, &full)
        } else {
            glob(p, &base)
        }
    })
}

pub(crate) fn supports_stop_words(model: &str) -> bool {
    !matches_any(NO_STOP_WORDS, model)
}

pub(crate) fn accepts_temperature(model: &str) -> bool {
    !matches_any(NO_TEMPERATURE, model)
}

pub(crate) fn accepts_reasoning_effort(model: &str) -> bool {
    matches_any(REASONING_EFFORT, model)
}

pub(crate) fn supports_vision(model: &str) -> bool {
    matches_any(VISION, model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_normalized_names() {
        assert!(!supports_stop_words("o1-mini"));
        assert!(supports_stop_words("qwen2.5-coder:7b"));
        assert!(!accepts_temperature("gpt-5-mini"));
        assert!(accepts_temperature("gpt-4o"));
        assert!(
            accepts_reasoning_effort("openai/gpt-5-mini") && accepts_reasoning_effort("o4-mini")
        );
        assert!(
            !accepts_reasoning_effort("gpt-4o") && !accepts_reasoning_effort("claude-sonnet-4-5")
        );
        let limits = [
            "claude-sonnet-4-5-20250929",
            "claude-opus-4-1",
            "claude-opus-4-5",
            "claude-3-5-haiku-latest",
        ];
        assert_eq!(
            limits.map(default_max_output_tokens),
            [64_000, 32_000, 64_000, 8192]
        );
        assert!(supports_vision("gpt-4o-mini") && supports_vision("anthropic/claude-sonnet-4-5"));
        assert!(supports_vision("qwen2.5-vl-7b-instruct") && supports_vision("llava:13b"));
        assert!(!supports_vision("qwen2.5-coder:7b") && !supports_vision("o1-mini"));
        assert!(!supports_vision("deepseek-chat") && !supports_vision("gpt-3.5-turbo"));
        assert_eq!(
            context_window("anthropic/claude-sonnet-4-5-20250929"),
            Some(200_000)
        );
        assert_eq!(context_window("gpt-4o-mini"), Some(128_000));
        assert_eq!(context_window("ollama/qwen2.5-coder:7b"), None);
        assert!(glob("a*b*c", "axxbyyc") && !glob("a*b*c", "axxbyy") && glob("*", ""));
    }
}
