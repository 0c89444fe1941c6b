//! Fuzzes the model's tool calls as text (emulated function calling) through to actions: never a panic,
//! every call an action or an error the model reads.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    openhands_lsp::fuzzing::tool_calls(text);
});
