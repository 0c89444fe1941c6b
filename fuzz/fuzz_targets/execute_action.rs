//! Fuzzes the decoding of `POST /execute_action` bodies: any bytes must give an action or a 400/422
//! reason, never a panic, and a decoded action must encode again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use openhands_runtime::fuzzing::decode_action;

fuzz_target!(|body: &[u8]| {
    if let Ok(event) = decode_action(body) {
        let _ = event.to_value();
    }
});
