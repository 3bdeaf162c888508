//! Caller values that look like git options never reach git as options: the builder puts them
//! after `--end-of-options` or `--`.

use std::ffi::OsString;
use std::path::Path;

use gitapi_gitcmd::{Git, Sub, Value};

fn strings(v: Vec<OsString>) -> Vec<String> {
    v.into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn builder_puts_hostile_values_after_end_of_options_and_dashdash() {
    let hostile = ["--output=/tmp/x", "-h", "--exec=id", "refs/heads/--foo"];
    let mut g = Git::in_repo(Path::new("/srv/r.git"), Sub::RevList)
        .flag("--first-parent")
        .opt("--max-count=", Value::Num(5));
    for h in hostile {
        g = g.arg(h);
    }
    for h in hostile {
        g = g.path(h);
    }
    let argv = strings(g.argv());
    let eoo = argv
        .iter()
        .position(|a| a == "--end-of-options")
        .expect("--end-of-options is there");
    let dd = argv.iter().position(|a| a == "--").expect("-- is there");
    assert!(eoo < dd);
    // Before --end-of-options: only this crate's own strings.
    for a in &argv[..eoo] {
        assert!(
            !hostile.contains(&a.as_str()),
            "{a} appears where git parses options: {argv:?}"
        );
    }
    assert_eq!(&argv[eoo + 1..dd], &hostile);
    assert_eq!(&argv[dd + 1..], &hostile);
}
