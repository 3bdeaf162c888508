//! The operations of the service, read from its own source, so each door's coverage test holds
//! its mapping to what the service really offers.

use std::collections::BTreeSet;
use std::path::PathBuf;

/// The public methods of `RepoService` that take a call context: its operations. Read from
/// `crates/service/src/service.rs` and `crates/service/src/ops/*.rs`.
pub fn service_operations() -> BTreeSet<String> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../service/src");
    let mut files = vec![src.join("service.rs")];
    for e in std::fs::read_dir(src.join("ops")).expect("the service's ops folder") {
        files.push(e.expect("an entry").path());
    }
    let mut ops = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable source");
        for (at, _) in text.match_indices("pub ") {
            let rest = &text[at..];
            let Some(sig) = rest
                .strip_prefix("pub async fn ")
                .or_else(|| rest.strip_prefix("pub fn "))
            else {
                continue;
            };
            let name: String = sig
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let params = &sig[..sig.find('{').unwrap_or(sig.len())];
            if params.contains("&CallContext") {
                ops.insert(name);
            }
        }
    }
    ops
}
