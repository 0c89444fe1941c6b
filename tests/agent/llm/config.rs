//! Configuration resolution: `[llm]` and `[llm.NAME]` sections of two config files, `LLM_*`
//! environment variables, defaults, and the errors a user sees.

use std::collections::HashMap;
use std::time::Duration;

use openhands_lsp::llm::{LlmConfig, LlmError, Provider, resolve_llm_config};
use pretty_assertions::assert_eq;

fn toml(text: &str) -> toml::Table {
    text.parse().expect("valid TOML")
}

fn resolve(
    layers: &[&str],
    profile: Option<&str>,
    env: &[(&str, &str)],
) -> Result<LlmConfig, LlmError> {
    let tables: Vec<toml::Table> = layers.iter().map(|t| toml(t)).collect();
    let refs: Vec<&toml::Table> = tables.iter().collect();
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    resolve_llm_config(&refs, profile, &|name| env.get(name).cloned())
}

fn config_error(result: Result<LlmConfig, LlmError>) -> String {
    match result {
        Err(LlmError::Config(message)) => message,
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn defaults_from_a_minimal_section() {
    let config = resolve(
        &["[llm]\nmodel = \"openai/gpt-4o\"\napi_key = \"sk-user\""],
        None,
        &[],
    )
    .expect("valid");
    let expected = LlmConfig {
        model: "gpt-4o".into(),
        provider: Provider::OpenAi,
        api_key: Some("sk-user".into()),
        base_url: "https://api.openai.com/v1".into(),
        native_tool_calling: None,
        temperature: Some(0.0),
        reasoning_effort: None,
        max_output_tokens: None,
        timeout: Duration::from_secs(120),
        num_retries: 5,
        retry_min_wait: Duration::from_secs(8),
        retry_max_wait: Duration::from_secs(64),
        retry_multiplier: 2.0,
        input_cost_per_token: None,
        output_cost_per_token: None,
        cache_read_cost_per_token: None,
        cache_write_cost_per_token: None,
        max_input_tokens: None,
        stream: true,
        vision: None,
    };
    assert_eq!(config, expected);
}

#[test]
fn profiles_inherit_and_later_files_win() {
    let user = r#"
        [llm]
        model = "gpt-4o"
        api_key = "sk-user"
        timeout = 30
        [llm.fast]
        model = "anthropic/claude-haiku-4-5"
        num_retries = 1
    "#;
    let workspace = r#"
        [llm]
        timeout = 60.5
        [llm.fast]
        base_url = "https://proxy.example.com/v1/"
    "#;
    let base = resolve(&[user, workspace], None, &[]).expect("valid");
    assert_eq!(
        (base.model.as_str(), base.timeout),
        ("gpt-4o", Duration::from_secs_f64(60.5))
    );
    let fast = resolve(&[user, workspace], Some("fast"), &[]).expect("valid");
    assert_eq!(
        (
            fast.model.as_str(),
            fast.provider,
            fast.base_url.as_str(),
            fast.api_key.as_deref(),
            fast.num_retries,
            fast.timeout
        ),
        (
            "claude-haiku-4-5",
            Provider::Anthropic,
            "https://proxy.example.com/v1",
            Some("sk-user"),
            1,
            Duration::from_secs_f64(60.5)
        )
    );
}

#[test]
fn environment_overrides_files_and_profiles() {
    let file = r#"
        [llm]
        model = "gpt-4o"
        api_key = "sk-file"
        [llm.local]
        model = "ollama/qwen3-coder:30b"
        base_url = "http://gpu-box:11434"
    "#;
    let env = [
        ("LLM_MODEL", "claude-sonnet-4-5"),
        ("LLM_API_KEY", "sk-env"),
        ("LLM_NUM_RETRIES", "2"),
        ("LLM_NATIVE_TOOL_CALLING", "false"),
    ];
    let config = resolve(&[file], None, &env).expect("valid");
    assert_eq!(
        (
            config.model.as_str(),
            config.provider,
            config.base_url.as_str(),
            config.api_key.as_deref()
        ),
        (
            "claude-sonnet-4-5",
            Provider::Anthropic,
            "https://api.anthropic.com/v1",
            Some("sk-env")
        )
    );
    assert_eq!(
        (config.num_retries, config.native_tool_calling),
        (2, Some(false))
    );
    let local = resolve(&[file], Some("local"), &[]).expect("valid");
    assert_eq!(
        (
            local.model.as_str(),
            local.provider,
            local.base_url.as_str()
        ),
        (
            "qwen3-coder:30b",
            Provider::OpenAi,
            "http://gpu-box:11434/v1"
        ),
        "Ollama's root URL gets /v1"
    );
    let overridden =
        resolve(&[file], Some("local"), &[("LLM_MODEL", "ollama/llama3.1")]).expect("valid");
    assert_eq!(
        (overridden.model.as_str(), overridden.base_url.as_str()),
        ("llama3.1", "http://gpu-box:11434/v1"),
        "the environment wins over the profile; the profile's URL stays"
    );
    let error = config_error(resolve(&[file], None, &[("LLM_NUM_RETRIES", "many")]));
    assert_eq!(error, "LLM_NUM_RETRIES must be a whole number, not `many`");
    let error = config_error(resolve(&[file], None, &[("LLM_REASONING_EFFORT", "max")]));
    assert_eq!(
        error,
        "`reasoning_effort` must be one of none, minimal, low, medium, high, not `max`"
    );
    let error = config_error(resolve(&[file], None, &[("LLM_TEMPERATURE", "3")]));
    assert_eq!(error, "`temperature` must be between 0 and 2, not 3");
    let typo_elsewhere = config_error(resolve(&[file, "[llm.other]\nmodle = \"x\""], None, &[]));
    assert!(
        typo_elsewhere.starts_with("[llm.other] in the config file: unknown field `modle`"),
        "{typo_elsewhere}"
    );
}

#[test]
fn local_servers_need_no_key() {
    let config = resolve(&[], None, &[("LLM_MODEL", "ollama/llama3.1")]).expect("no key needed");
    assert_eq!(
        (config.base_url.as_str(), config.api_key),
        ("http://localhost:11434/v1", None)
    );
    let lm_studio = resolve(
        &[],
        None,
        &[
            ("LLM_MODEL", "qwen2.5-coder"),
            ("LLM_BASE_URL", "http://127.0.0.1:1234/v1"),
        ],
    );
    assert_eq!(lm_studio.expect("no key needed").provider, Provider::OpenAi);
}

#[test]
fn errors_name_the_setting() {
    let no_model = config_error(resolve(&["[llm]\napi_key = \"sk-x\""], None, &[]));
    assert_eq!(
        no_model,
        "no model is configured: set LLM_MODEL or `model` in the [llm] section of ~/.config/openhands-lsp/config.toml"
    );
    let no_key = config_error(resolve(&[], None, &[("LLM_MODEL", "claude-sonnet-4-5")]));
    assert_eq!(
        no_key,
        "no API key is configured for https://api.anthropic.com/v1: set LLM_API_KEY or `api_key` in the [llm] section of ~/.config/openhands-lsp/config.toml"
    );
    let file = "[llm]\nmodel = \"gpt-4o\"\napi_key = \"k\"\n[llm.fast]\nmodel = \"gpt-4o-mini\"\n[llm.cheap]\nmodel = \"x\"";
    let unknown = config_error(resolve(&[file], Some("fsat"), &[]));
    assert_eq!(
        unknown,
        "unknown LLM profile `fsat`: the known profiles are `cheap`, `fast`"
    );
    let typo = config_error(resolve(
        &["[llm]\nmodel = \"gpt-4o\"\napi_kye = \"sk-secret-typo\""],
        None,
        &[],
    ));
    assert!(
        typo.starts_with("[llm] in the config file: unknown field `api_kye`"),
        "{typo}"
    );
    assert!(!typo.contains("sk-secret-typo"), "{typo}");
    let bad_wait = config_error(resolve(
        &["[llm]\nmodel = \"m\"\nbase_url = \"http://localhost:1/v1\"\nretry_min_wait = -1"],
        None,
        &[],
    ));
    assert_eq!(
        bad_wait,
        "`retry_min_wait` must be a non-negative number of seconds, not -1"
    );
    let display = LlmError::Config(no_model).to_string();
    assert!(
        display.starts_with("the LLM configuration is incomplete: no model is configured"),
        "{display}"
    );
}

#[test]
fn debug_output_redacts_the_key() {
    let config = resolve(
        &[],
        None,
        &[("LLM_MODEL", "gpt-4o"), ("LLM_API_KEY", "sk-very-secret")],
    )
    .expect("valid");
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("sk-very-secret") && shown.contains("[redacted]"),
        "{shown}"
    );
}
