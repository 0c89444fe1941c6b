//! Fuzzes the parser of BrowserGym action strings (`browse_interactive`): any text must give actions or
//! the Python-style error the model reads, never a panic or a hang.

#![no_main]

use libfuzzer_sys::fuzz_target;
use openhands_runtime::fuzzing::parse_browser_actions;

fuzz_target!(|data: &[u8]| {
    if let Ok(source) = std::str::from_utf8(data) {
        let _ = parse_browser_actions(source);
    }
});
