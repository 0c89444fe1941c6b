//! Fuzzes the LSP frame decoder that stands between the editor and tower-lsp-server: any bytes, cut into
//! any pieces, must never panic and must pass on only frames the library reads.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<u8>, Vec<u8>)| {
    let (data, cuts) = input;
    openhands_lsp::fuzzing::lsp_frames(&data, &cuts);
});
