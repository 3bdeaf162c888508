//! Shared by the test binaries that run the real `gitapi`: start it and read the address it
//! announces on stderr.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Starts `cmd` (a `gitapi serve` on `127.0.0.1:0`), waits for its `gitapi listening on`
/// line and returns the child with its base URL; stderr keeps being drained so the server
/// never blocks on a full pipe.
pub(crate) fn spawn_announced(mut cmd: Command) -> (Child, String) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the gitapi binary starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut base = None;
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("stderr is text");
        if let Some(addr) = line.strip_prefix("gitapi listening on ") {
            base = Some(addr.trim().to_owned());
            break;
        }
        seen.push(line);
    }
    let base = base.unwrap_or_else(|| panic!("no address announced; stderr: {seen:?}"));
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}
