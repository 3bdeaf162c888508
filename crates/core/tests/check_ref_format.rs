//! `check_ref_format` agrees with `git check-ref-format` on generated names.
//!
//! The generator mixes ordinary characters with every character and sequence that git's rules
//! single out (`.`, `..`, `.lock`, `@{`, `/`, control characters, `~^:?*[\` and space), so most
//! cases sit near a rule's edge.

use std::process::Command;

use gitapi_core::names::check_ref_format;
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "a", "b", "Z", "0", "-", "_", "/", "/", "/", ".", "..", ".lock", "lock", "@", "@{", "{", "}",
    "~", "^", ":", "?", "*", "[", "]", "\\", " ", "\t", "\u{7f}", "\u{1}", "é", "refs/", "heads/",
    "x.lock/", "/.", "./", "//", "=", "+", "#",
];

fn git_accepts(name: &str) -> bool {
    Command::new("git")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .arg("check-ref-format")
        .arg(name)
        .status()
        .expect("git runs")
        .success()
}

fn name() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 1..10).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_git_check_ref_format(name in name()) {
        // git's own option parser takes a leading '-' as an option, so such names never reach
        // its ref-name rules; RefName refuses them anyway (it must start with "refs/").
        prop_assume!(!name.starts_with('-'));
        prop_assert_eq!(check_ref_format(&name), git_accepts(&name), "name {:?}", name);
    }
}

#[test]
fn fixed_cases_agree_with_git() {
    for name in [
        "refs/heads/main",
        "refs/heads/a..b",
        "refs/heads/x.lock",
        "refs/heads/.x",
        "a/b.",
        "a/@{b",
        "@",
        "a//b",
        "/a/b",
        "a/b/",
        "a/b c",
        "refs/heads/--foo",
        "a/é",
        "a/@",
        "a/b@c",
        "a/{b}",
        "a/.lock",
        "a/lock",
    ] {
        assert_eq!(check_ref_format(name), git_accepts(name), "{name:?}");
    }
}
