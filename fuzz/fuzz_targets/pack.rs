#![no_main]
//! Pack parsing with delta resolution, bounded to 16 MiB objects.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = gitwire::pack::parse_pack(data, 1 << 24);
});
