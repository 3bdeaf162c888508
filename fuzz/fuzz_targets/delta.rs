#![no_main]
//! Delta application: the first byte says how many following bytes are the base.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let split = usize::from(data.first().copied().unwrap_or(0)).min(data.len().saturating_sub(1));
    let (base, delta) = data.split_at(split);
    let _ = gitwire::pack::apply_delta(base, delta, 1 << 24);
});
