#![no_main]
//! pkt-line framing: any bytes may be rejected, none may panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = gitwire::pktline::decode_all(data);
});
