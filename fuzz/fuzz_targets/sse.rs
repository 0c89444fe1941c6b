//! Fuzzes the providers' server-sent-event parser: any bytes, cut anywhere, give the same events as the
//! whole stream, without a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<u8>, Vec<u8>)| {
    let (data, cuts) = input;
    openhands_lsp::fuzzing::sse(&data, &cuts);
});
