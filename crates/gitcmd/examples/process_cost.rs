//! What one git process costs through this crate, beside the same process started with
//! `std::process::Command`: spawn, first byte of stdout, end of stdout, exit, and the whole
//! call, for a trivial `git rev-list -n1 HEAD` and a path-limited `git rev-list
//! --max-count=50`.
//!
//! The two `std` rows run this crate's argv and differ in one thing: "posix_spawn" starts
//! `git` by name with the inherited environment, "fork" with a cleared environment that sets
//! `PATH`, which makes std fall back to `fork` + `exec` (how this crate started git before it
//! resolved an absolute path, see `git_program` in `src/command.rs`). `BALLAST_MB=N` touches
//! N MB first, as a server's caches would, to show what a `fork` costs then.
//!
//! `cargo run --release -p gitapi-gitcmd --example process_cost -- GIT_DIR [PATH] [REPS]`
//!
//! `PATH` defaults to `hot/often.txt` (the `log_path` example's repository, kept in
//! `target/log-path-bench/repos/history.git`); `REPS` to 50. Prints p50 / p99 in ms per step.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gitapi_gitcmd::{Git, Sub, Value, Watchdog};

type Steps = Vec<(&'static str, Duration)>;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The same process started directly; `fork` clears the environment and sets `PATH`, as this
/// crate did, which makes std `fork` instead of `posix_spawn`.
fn direct(git_dir: &Path, argv: &[std::ffi::OsString], fork: bool) -> Steps {
    let t0 = Instant::now();
    let mut cmd = Command::new("git");
    if fork {
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", "/nonexistent")
            .env("LANG", "C")
            .env("LC_ALL", "C")
            .env("GIT_LITERAL_PATHSPECS", "1")
            .process_group(0);
    }
    cmd.current_dir(git_dir)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("git starts");
    let spawned = t0.elapsed();
    let err = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = e.read_to_end(&mut b);
        })
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut buf = vec![0u8; 64 * 1024];
    let mut first = None;
    loop {
        let n = out.read(&mut buf).expect("read");
        if first.is_none() {
            first = Some(t0.elapsed());
        }
        if n == 0 {
            break;
        }
    }
    let eof = t0.elapsed();
    child.wait().expect("wait");
    let exited = t0.elapsed();
    if let Some(e) = err {
        let _ = e.join();
    }
    vec![
        ("spawn", spawned),
        ("first byte", first.unwrap_or_default()),
        ("eof", eof),
        ("exit", exited),
        ("total", t0.elapsed()),
    ]
}

/// Through `Git::stream_lines` (what the log walk uses): first line, last line, return.
fn streamed(dog: &Watchdog, g: Git) -> Steps {
    let t0 = Instant::now();
    let mut first = None;
    let mut last = Duration::ZERO;
    g.stream_lines(dog, |_| {
        if first.is_none() {
            first = Some(t0.elapsed());
        }
        last = t0.elapsed();
        Ok(true)
    })
    .expect("git runs");
    vec![
        ("first line", first.unwrap_or_default()),
        ("last line", last),
        ("total", t0.elapsed()),
    ]
}

/// Through `Git::run`: the whole call.
fn ran(dog: &Watchdog, g: Git) -> Steps {
    let t0 = Instant::now();
    g.run(dog).expect("git runs");
    vec![("total", t0.elapsed())]
}

fn report(name: &str, runs: Vec<Steps>) {
    let Some(first) = runs.first() else { return };
    let mut cells = Vec::new();
    for (i, (step, _)) in first.iter().enumerate() {
        let mut v: Vec<Duration> = runs.iter().map(|r| r[i].1).collect();
        v.sort();
        let p50 = v[v.len() / 2];
        let p99 = v[((v.len() as f64 * 0.99) as usize).min(v.len() - 1)];
        cells.push(format!("{step} {:.2}/{:.2}", ms(p50), ms(p99)));
    }
    println!("{name:<34} {}", cells.join("  "));
}

fn main() {
    let mut args = std::env::args().skip(1);
    let git_dir = PathBuf::from(args.next().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/log-path-bench/repos/history.git"
        )
        .to_owned()
    }));
    let path = args.next().unwrap_or_else(|| "hot/often.txt".to_owned());
    let reps: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(50);
    // A server's heap and mappings (caches, libgit2's pack windows) make its address space
    // large; `BALLAST_MB` touches that much memory first, to show what the spawn costs then.
    let ballast_mb: usize = std::env::var("BALLAST_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let ballast: Vec<u8> = vec![1u8; ballast_mb << 20];
    std::hint::black_box(&ballast);
    let dog = Watchdog::new();
    let head = String::from_utf8(
        Git::in_repo(&git_dir, Sub::RevList)
            .flag("-n1")
            .arg("HEAD")
            .ok(&dog)
            .expect("HEAD"),
    )
    .expect("hex")
    .trim()
    .to_owned();
    println!(
        "p50/p99 in ms over {reps} runs; {}; {ballast_mb} MB of ballast",
        git_dir.display()
    );
    let revparse = || Git::in_repo(&git_dir, Sub::RevList).flag("-n1").arg("HEAD");
    let revlist = || {
        Git::in_repo(&git_dir, Sub::RevList)
            .opt("--max-count=", Value::Num(50))
            .arg(head.as_str())
            .path(path.as_str())
    };
    for (name, g) in [
        ("rev-list -n1 HEAD", &revparse as &dyn Fn() -> Git),
        ("rev-list --max-count=50 -- path", &revlist),
    ] {
        let argv = g().argv();
        report(
            &format!("{name}: std posix_spawn"),
            (0..reps).map(|_| direct(&git_dir, &argv, false)).collect(),
        );
        report(
            &format!("{name}: std fork"),
            (0..reps).map(|_| direct(&git_dir, &argv, true)).collect(),
        );
        report(
            &format!("{name}: Git::run"),
            (0..reps).map(|_| ran(&dog, g())).collect(),
        );
        report(
            &format!("{name}: Git::stream_lines"),
            (0..reps).map(|_| streamed(&dog, g())).collect(),
        );
    }
}
