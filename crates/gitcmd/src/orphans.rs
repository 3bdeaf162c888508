//! git processes that outlived the gitapi process that started them.
//!
//! Every git process leads its own process group (so a deadline can kill it with its
//! children), which also means a `kill -9` of the server does not reach them: they run on,
//! reparented, and may hold a ref or index lock the restarted server is about to clear. Each
//! carries its starter's pid in [`PARENT_ENV`] (inherited by git's own children), so a new
//! server can find the ones whose starter is gone and stop them before it cleans up.

use std::fs;
use std::time::{Duration, Instant};

/// The environment variable naming the pid of the gitapi process that started a git process.
pub const PARENT_ENV: &str = "GITAPI_PARENT_PID";

/// Kills (SIGKILL, with their process groups) the git processes whose gitapi starter is no
/// longer alive, waits up to two seconds for them to be gone, and returns their pids.
///
/// A process is only touched if its environment names a starter pid that has no process, so
/// the children of live gitapi processes (other data directories, tests) are never stopped.
pub fn reap_orphans() -> Vec<u32> {
    let me = std::process::id();
    let mut killed = Vec::new();
    let Ok(procs) = fs::read_dir("/proc") else {
        return killed;
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Some(starter) = starter_of(pid) else {
            continue;
        };
        if starter == me || alive(starter) {
            continue;
        }
        if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
            // The group first (the process and what it started), then the process itself in
            // case it is not a group leader (a grandchild that made its own group).
            let _ = rustix::process::kill_process_group(p, rustix::process::Signal::KILL);
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            killed.push(pid);
        }
    }
    let until = Instant::now() + Duration::from_secs(2);
    while killed.iter().any(|&p| alive(p)) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    killed
}

/// The gitapi pid in a process's environment, if it has one (and we may read it).
fn starter_of(pid: u32) -> Option<u32> {
    let env = fs::read(format!("/proc/{pid}/environ")).ok()?;
    let key = format!("{PARENT_ENV}=");
    env.split(|&b| b == 0)
        .find_map(|kv| kv.strip_prefix(key.as_bytes()))
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.parse().ok())
}

/// Whether a process exists and is not a zombie (a killed orphan stays a zombie until init
/// reaps it, but it holds nothing any more).
fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses and may hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt as _;

    use super::*;

    #[test]
    fn only_processes_of_a_dead_starter_are_reaped() {
        // A starter that is gone: a child that exited and was waited for.
        let mut gone = std::process::Command::new("true").spawn().expect("spawn");
        let dead = gone.id();
        gone.wait().expect("wait");
        let mut orphan = std::process::Command::new("sleep")
            .arg("30")
            .env(PARENT_ENV, dead.to_string())
            .process_group(0)
            .spawn()
            .expect("spawn orphan");
        let mut owned = std::process::Command::new("sleep")
            .arg("30")
            .env(PARENT_ENV, std::process::id().to_string())
            .spawn()
            .expect("spawn owned");
        let killed = reap_orphans();
        // Another gitapi starting on this machine meanwhile (a benchmark, another test
        // binary) reaps the same orphan: then it is gone without being in our list.
        assert!(
            killed.contains(&orphan.id()) || !alive(orphan.id()),
            "{killed:?}"
        );
        assert!(!killed.contains(&owned.id()));
        let status = orphan.wait().expect("orphan ends");
        assert!(!status.success());
        assert!(alive(owned.id()));
        let _ = owned.kill();
        let _ = owned.wait();
    }
}
