//! Validated names: every user string becomes one of these at the edge, once.
//!
//! A value of these types is proof that the string passed validation, so engines never check
//! again and never see a string that git could take for an option or that could lead outside the
//! data directory.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident, $parse:path) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates `s`.
            pub fn new(s: impl Into<String>) -> Result<Self, Error> {
                let s = s.into();
                $parse(&s)?;
                Ok(Self(s))
            }

            /// The validated string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// Implements the OpenAPI schema of a type that serialises as one string: a named component
/// with a description of what validation accepts and, where a regular expression can say it,
/// a pattern.
#[cfg(feature = "openapi")]
macro_rules! string_schema {
    ($name:ident, $description:expr, $pattern:expr) => {
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::openapi::string_schema($description, $pattern)
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

#[cfg(feature = "openapi")]
string_schema!(
    RepoName,
    "A repository name: a letter or digit, then letters, digits, `.`, `_` or `-`; at most 100 \
     characters, not ending in `.git` or `.lock`.",
    Some("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
);
#[cfg(feature = "openapi")]
string_schema!(
    WorkspaceName,
    "A workspace name: the alphabet of a repository name, at most 64 characters.",
    Some("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
);
#[cfg(feature = "openapi")]
string_schema!(
    RefName,
    "A full ref name (`refs/heads/main`) that passes `git check-ref-format`.",
    Some("^refs/")
);
#[cfg(feature = "openapi")]
string_schema!(
    RepoPath,
    "A path in a repository: `/`-separated, no empty, `.` or `..` component and no `.git` \
     component.",
    None
);
#[cfg(feature = "openapi")]
string_schema!(
    Rev,
    "A revision (`main`, `v1^{}`, `HEAD~2`, an object id or a prefix of one); never starts \
     with `-`, holds no whitespace or `..`.",
    None
);
#[cfg(feature = "openapi")]
string_schema!(
    RevRange,
    "A revision, `A..B` (in B, not in A) or `A...B` (in either, not in both).",
    None
);
#[cfg(feature = "openapi")]
string_schema!(
    ConfigKey,
    "An allow-listed git config key such as `gc.auto`.",
    None
);
#[cfg(feature = "openapi")]
string_schema!(RemoteUrl, "A remote URL allowed by the clone policy.", None);

fn simple_name(what: &str, s: &str, max: usize) -> Result<(), Error> {
    let bad = || Error::invalid(format!("{what} {s:?} is not valid"));
    let bytes = s.as_bytes();
    let first_ok = bytes.first().is_some_and(|b| b.is_ascii_alphanumeric());
    if !first_ok || bytes.len() > max {
        return Err(bad());
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(bad());
    }
    let lower = s.to_ascii_lowercase();
    if lower.ends_with(".git") || lower.ends_with(".lock") {
        return Err(bad());
    }
    Ok(())
}

fn parse_repo_name(s: &str) -> Result<(), Error> {
    simple_name("repository name", s, 100)
}

fn parse_workspace_name(s: &str) -> Result<(), Error> {
    simple_name("workspace name", s, 64)
}

string_newtype!(
    /// A repository name: `[A-Za-z0-9][A-Za-z0-9._-]{0,99}`, not ending in `.git` or `.lock`.
    /// It is a single path component, so it can never lead outside the data directory.
    RepoName,
    parse_repo_name
);

string_newtype!(
    /// A workspace name: the same alphabet as a repository name, at most 64 characters.
    WorkspaceName,
    parse_workspace_name
);

impl WorkspaceName {
    /// The workspace every repository has.
    pub fn default_workspace() -> Self {
        Self("default".to_owned())
    }
}

impl Default for WorkspaceName {
    fn default() -> Self {
        Self::default_workspace()
    }
}

/// Whether `name` is a valid ref name by the rules of `git check-ref-format` with no options
/// (at least two components). Pure; compared with git itself by a property test.
pub fn check_ref_format(name: &str) -> bool {
    if name == "@" || name.is_empty() {
        return false;
    }
    let mut components = 0;
    for component in name.split('/') {
        components += 1;
        if component.is_empty() || component.starts_with('.') || component.ends_with(".lock") {
            return false;
        }
        let mut last = 0u8;
        for &b in component.as_bytes() {
            let bad = b < 0x20
                || b == 0x7f
                || matches!(b, b' ' | b'~' | b'^' | b':' | b'?' | b'*' | b'[' | b'\\')
                || (b == b'.' && last == b'.')
                || (b == b'{' && last == b'@');
            if bad {
                return false;
            }
            last = b;
        }
    }
    !name.ends_with('.') && components >= 2
}

/// The longest ref name component: a file name holds at most 255 bytes, and git writes
/// `<component>.lock` beside the ref while it updates it.
pub const MAX_REF_COMPONENT: usize = 250;

/// The namespaces under `refs/` that are directories in every repository, never refs.
const REF_NAMESPACES: &[&str] = &["refs/heads", "refs/tags", "refs/remotes", "refs/notes"];

fn parse_ref_name(s: &str) -> Result<(), Error> {
    if s.len() > 1024 || !s.starts_with("refs/") || !check_ref_format(s) {
        return Err(Error::invalid(format!(
            "ref name {s:?} is not a valid full ref name (refs/...)"
        )));
    }
    if s.split('/').any(|c| c.len() > MAX_REF_COMPONENT) {
        return Err(Error::invalid(format!(
            "ref name {s:?} has a component longer than {MAX_REF_COMPONENT} bytes"
        )));
    }
    if REF_NAMESPACES.contains(&s) {
        return Err(Error::invalid(format!(
            "{s:?} is a namespace of refs, not a ref"
        )));
    }
    Ok(())
}

string_newtype!(
    /// A full ref name (`refs/heads/main`) that passes `git check-ref-format` and starts with
    /// `refs/`, so it never starts with `-` and never names a file outside `refs/`.
    RefName,
    parse_ref_name
);

impl RefName {
    /// `refs/heads/<short>`.
    pub fn branch(short: &str) -> Result<Self, Error> {
        Self::new(format!("refs/heads/{short}"))
    }

    /// `refs/tags/<short>`.
    pub fn tag(short: &str) -> Result<Self, Error> {
        Self::new(format!("refs/tags/{short}"))
    }

    /// A full name as given, or a short branch name when it does not start with `refs/`. A
    /// short name may not start with `-`: `git check-ref-format --branch` refuses it, as git
    /// would read it as an option. This is how every door reads a branch a caller names.
    pub fn branch_or_full(name: &str) -> Result<Self, Error> {
        if name.starts_with('-') {
            return Err(Error::invalid(format!(
                "branch name {name:?} starts with '-'"
            )));
        }
        if name.starts_with("refs/") {
            Self::new(name)
        } else {
            Self::branch(name)
        }
    }

    /// Whether this is under `refs/heads/`.
    pub fn is_branch(&self) -> bool {
        self.0.starts_with("refs/heads/")
    }

    /// Whether this is under `refs/tags/`.
    pub fn is_tag(&self) -> bool {
        self.0.starts_with("refs/tags/")
    }

    /// The name without `refs/heads/`, `refs/tags/` or `refs/remotes/`; else the full name.
    pub fn short(&self) -> &str {
        ["refs/heads/", "refs/tags/", "refs/remotes/"]
            .iter()
            .find_map(|p| self.0.strip_prefix(p))
            .unwrap_or(&self.0)
    }
}

fn parse_repo_path(s: &str) -> Result<(), Error> {
    let bad = |why: &str| Error::invalid(format!("path {s:?} is not valid: {why}"));
    if s.is_empty() {
        return Err(bad("empty"));
    }
    if s.len() > 4096 {
        return Err(bad("longer than 4096 bytes"));
    }
    if s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(bad("control character"));
    }
    if s.starts_with('/') {
        return Err(bad("absolute"));
    }
    for component in s.split('/') {
        match component {
            "" => return Err(bad("empty component")),
            "." | ".." => return Err(bad("relative component")),
            c if is_dot_git(c) => return Err(bad("names .git")),
            c if c.len() > MAX_PATH_COMPONENT => {
                return Err(bad("a component is longer than 255 bytes"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// `.git` in any case, and the spellings that file systems fold into it, as git's own
/// `verify_path` refuses them with `core.protectHFS` and `core.protectNTFS` (`git fsck`
/// refuses such trees too):
/// - HFS+ ignores some code points in names: `.gi\u{200c}t` and `.git\u{feff}` open `.git`;
/// - NTFS drops trailing dots and spaces (`.git.`, `.git `), knows the short name `git~1`,
///   reads `.git::$INDEX_ALLOCATION` and `.git:$DATA` as streams of `.git`, and takes `\` as a
///   separator (`.git\config`).
fn is_dot_git(component: &str) -> bool {
    fs_folded(component)
        .iter()
        .any(|name| name == ".git" || name == "git~1")
}

/// The names a file system opens for `component`: HFS+'s ignorable code points dropped, in
/// lower case, split at NTFS's `\` separator, each without its NTFS `:stream` and trailing
/// dots and spaces. What git's `is_hfs_dot*` and `is_ntfs_dot*` checks compare.
fn fs_folded(component: &str) -> Vec<String> {
    let folded: String = component
        .chars()
        .filter(|&c| !is_hfs_ignorable(c))
        .collect::<String>()
        .to_lowercase();
    folded
        .split('\\')
        .map(|part| {
            let stream = part.split(':').next().unwrap_or(part);
            stream.trim_end_matches(['.', ' ']).to_owned()
        })
        .collect()
}

/// See [`RepoPath::is_gitmodules`]; `name` is one path component (or a `\`-separated run of
/// them, as NTFS reads it).
pub fn is_gitmodules_name(name: &str) -> bool {
    let Some(trimmed) = fs_folded(name).pop() else {
        return false;
    };
    let short = |prefix: &str, max: char| {
        trimmed
            .strip_prefix(prefix)
            .is_some_and(|d| d.len() == 1 && ('1'..=max).contains(&(d.as_bytes()[0] as char)))
    };
    trimmed == ".gitmodules" || short("gitmod~", '4') || short("gi7eba~", '9')
}

/// The code points HFS+ ignores when it compares names (git's `is_hfs_dotgit` list).
fn is_hfs_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{200c}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{206a}'..='\u{206f}' | '\u{feff}'
    )
}

/// The longest path component: what a file name can hold on the file systems work trees live
/// on. git can store a longer name in a tree, but no workspace could check it out.
pub const MAX_PATH_COMPONENT: usize = 255;

string_newtype!(
    /// A path inside a repository: relative, `/`-separated, no empty, `.` or `..` component, no
    /// `.git` component in any case, no control characters.
    RepoPath,
    parse_repo_path
);

impl RepoPath {
    /// The last component.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// Whether the last component is `.gitmodules` as git sees it on any file system: in any
    /// case, behind HFS+'s ignorable code points, or in an NTFS spelling (trailing dots and
    /// spaces, a `:stream`, the short names `gitmod~1`..`gitmod~4` and `gi7eba~1`..`gi7eba~9`),
    /// as git's `is_hfs_dotgitmodules` and `is_ntfs_dotgitmodules` fold them. git fsck checks
    /// the content of every such file as a `.gitmodules`, so the service must too.
    pub fn is_gitmodules(&self) -> bool {
        is_gitmodules_name(self.file_name())
    }

    /// The parent directory, `None` at the top.
    pub fn parent(&self) -> Option<RepoPath> {
        self.0.rsplit_once('/').map(|(p, _)| RepoPath(p.to_owned()))
    }

    /// `self/child`.
    pub fn join(&self, child: &str) -> Result<RepoPath, Error> {
        RepoPath::new(format!("{}/{child}", self.0))
    }

    /// The components.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

fn parse_rev(s: &str) -> Result<(), Error> {
    let bad = |why: &str| Error::invalid(format!("revision {s:?} is not valid: {why}"));
    if s.is_empty() {
        return Err(bad("empty"));
    }
    if s.len() > 1024 {
        return Err(bad("longer than 1024 bytes"));
    }
    if s.starts_with('-') {
        return Err(bad("starts with '-'"));
    }
    if s.bytes().any(|b| b <= 0x20 || b == 0x7f) {
        return Err(bad("whitespace or control character"));
    }
    if s.contains("..") {
        return Err(bad("'..' makes a range, not a revision"));
    }
    if s.starts_with(':') {
        // `:path` and `:0:path` name the index, which a bare repository has not; `:/text`
        // searches every commit message, unbounded. Neither is offered.
        return Err(bad(
            "':' revisions (the index, or a search of commit messages) are not supported",
        ));
    }
    if s.contains("^{/") {
        // `rev^{/text}` walks the whole history behind `rev` looking for a message, in the
        // engine, where no deadline can stop it (the same search as `:/text`).
        return Err(bad(
            "'^{/text}' (a search of commit messages) is not supported",
        ));
    }
    Ok(())
}

string_newtype!(
    /// A revision expression for rev-parse (`main`, `v1.0^{}`, `HEAD~2`, an oid or a prefix).
    /// Never starts with `-`, never holds whitespace or a range.
    Rev,
    parse_rev
);

impl From<crate::oid::Oid> for Rev {
    fn from(oid: crate::oid::Oid) -> Self {
        Rev(oid.to_string())
    }
}

impl From<&RefName> for Rev {
    fn from(r: &RefName) -> Self {
        Rev(r.0.clone())
    }
}

/// A commit range: one revision, `A..B` (reachable from B, not from A) or `A...B` (symmetric
/// difference).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RevRange {
    /// Everything reachable from one revision.
    Single(Rev),
    /// `A..B`.
    TwoDot(Rev, Rev),
    /// `A...B`.
    ThreeDot(Rev, Rev),
}

impl RevRange {
    /// Parses `rev`, `A..B` or `A...B`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        if let Some((a, b)) = s.split_once("...") {
            Ok(Self::ThreeDot(Rev::new(a)?, Rev::new(b)?))
        } else if let Some((a, b)) = s.split_once("..") {
            Ok(Self::TwoDot(Rev::new(a)?, Rev::new(b)?))
        } else {
            Ok(Self::Single(Rev::new(s)?))
        }
    }
}

impl fmt::Display for RevRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Single(r) => write!(f, "{r}"),
            Self::TwoDot(a, b) => write!(f, "{a}..{b}"),
            Self::ThreeDot(a, b) => write!(f, "{a}...{b}"),
        }
    }
}

impl Serialize for RevRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RevRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Config keys a caller may read and write. Everything that makes git run a program, read
/// another file or change where it writes (`core.hooksPath`, `core.fsmonitor`,
/// `core.sshCommand`, `core.pager`, `filter.*`, `diff.external`, `include.*`, …) is left out.
pub const CONFIG_ALLOW_LIST: &[&str] = &[
    "user.name",
    "user.email",
    "core.logallrefupdates",
    "core.compression",
    "core.bigfilethreshold",
    "gc.auto",
    "gc.autopacklimit",
    "gc.reflogexpire",
    "gc.pruneexpire",
    "receive.denynonfastforwards",
    "receive.denydeletes",
    "pack.compression",
    "merge.renamelimit",
    "diff.renamelimit",
    "diff.renames",
    "uploadpack.allowfilter",
    "uploadpack.allowanysha1inwant",
    "uploadpack.allowreachablesha1inwant",
    "gitapi.description",
];

fn parse_config_key(s: &str) -> Result<(), Error> {
    let lower = s.to_ascii_lowercase();
    if CONFIG_ALLOW_LIST.contains(&lower.as_str()) {
        Ok(())
    } else {
        Err(Error::new(
            crate::error::ErrorKind::PermissionDenied,
            format!("config key {s:?} is not on the allow-list"),
        ))
    }
}

string_newtype!(
    /// A config key from [`CONFIG_ALLOW_LIST`] (case-insensitive).
    ConfigKey,
    parse_config_key
);

impl ConfigKey {
    /// The key in git's canonical lowercase form.
    pub fn canonical(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// Checks a config value: no NUL or newline, at most 1024 bytes.
pub fn check_config_value(key: &ConfigKey, value: &str) -> Result<(), Error> {
    if value.len() > 1024 || value.bytes().any(|b| b == 0 || b == b'\n' || b == b'\r') {
        return Err(Error::invalid(
            "config value must be one line of at most 1024 bytes",
        ));
    }
    // A value git cannot parse breaks every later git command on the repository ("bad
    // numeric config value"), gc and clone included, so each key's value is checked against
    // the type git reads it as before it is written.
    let key_lower = key.as_str().to_ascii_lowercase();
    let ok = match key_lower.as_str() {
        "core.compression" | "pack.compression" => value
            .parse::<i8>()
            .is_ok_and(|level| (-1..=9).contains(&level)),
        "gc.auto" | "gc.autopacklimit" | "merge.renamelimit" | "diff.renamelimit" => {
            value.parse::<i32>().is_ok()
        }
        "core.bigfilethreshold" => is_git_size(value),
        "core.logallrefupdates" => is_git_bool(value) || value.eq_ignore_ascii_case("always"),
        "diff.renames" => {
            is_git_bool(value)
                || value.eq_ignore_ascii_case("copy")
                || value.eq_ignore_ascii_case("copies")
        }
        "gc.reflogexpire" | "gc.pruneexpire" => is_expiry(value),
        k if k.starts_with("receive.") || k.starts_with("uploadpack.") => is_git_bool(value),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{value:?} is not a value git accepts for {}",
            key.as_str()
        )))
    }
}

/// git's boolean spellings (`git config --type=bool`).
fn is_git_bool(v: &str) -> bool {
    ["true", "false", "yes", "no", "on", "off", "1", "0"]
        .iter()
        .any(|b| v.eq_ignore_ascii_case(b))
}

/// A byte count as git reads it: digits with an optional `k`, `m` or `g` suffix.
fn is_git_size(v: &str) -> bool {
    let digits = v.strip_suffix(['k', 'K', 'm', 'M', 'g', 'G']).unwrap_or(v);
    !digits.is_empty() && digits.len() <= 12 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The expiry forms gc documents: `now`, `never`, `all`, a relative `2.weeks.ago` and a date
/// `2026-01-31`. git's approxidate reads far more, but turns most text it does not know into
/// an error at gc time.
fn is_expiry(v: &str) -> bool {
    let v = v.to_ascii_lowercase();
    if ["now", "never", "all"].contains(&v.as_str()) {
        return true;
    }
    let parts: Vec<&str> = v.split('.').collect();
    if let [n, unit, "ago"] = parts.as_slice() {
        let units = [
            "second", "seconds", "minute", "minutes", "hour", "hours", "day", "days", "week",
            "weeks", "month", "months", "year", "years",
        ];
        return !n.is_empty()
            && n.len() <= 6
            && n.bytes().all(|b| b.is_ascii_digit())
            && units.contains(unit);
    }
    let date: Vec<&str> = v.split('-').collect();
    matches!(date.as_slice(), [y, m, d]
        if y.len() == 4 && m.len() == 2 && d.len() == 2
            && [y, m, d].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())))
}

/// Where a clone or mirror may come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClonePolicy {
    /// Allow `file://` URLs and loopback, private and link-local hosts (off by default: a
    /// service must not become a way to read the machine's own files or its private network).
    pub allow_local: bool,
}

/// A remote URL accepted for clone and mirror: `http(s)://host/path`, or `file:///abs/path`
/// when the policy allows local sources.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RemoteUrl(String);

/// Never shows a password or token that the URL carries.
impl std::fmt::Debug for RemoteUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RemoteUrl")
            .field(&redact_url(&self.0))
            .finish()
    }
}

/// `url` with its user information (`user:password@`, a token in place of the user) replaced
/// by `***`, for every message, log line and answer that shows a URL.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// `text` (an error message, a line of git's stderr) with the user information of every URL
/// in it replaced by `***`.
pub fn redact_urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#' | '\'' | '"' | '`') || c.is_whitespace())
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&tail[at..end]);
            }
            None => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

impl RemoteUrl {
    /// Validates `url` against `policy`.
    pub fn parse(url: &str, policy: ClonePolicy) -> Result<Self, Error> {
        let shown = redact_url(url);
        let bad = |why: &str| Error::invalid(format!("remote url {shown:?} is not allowed: {why}"));
        if url.len() > 2048 || url.bytes().any(|b| b <= 0x20 || b == 0x7f) {
            return Err(bad("whitespace, control characters or too long"));
        }
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("not a URL"))?;
        match scheme.to_ascii_lowercase().as_str() {
            "http" | "https" => {}
            "file" => {
                if !policy.allow_local {
                    return Err(denied(url, "local sources are disabled"));
                }
                if !rest.starts_with('/') || rest.split('/').any(|c| c == "..") {
                    return Err(bad("file URL must be an absolute path without '..'"));
                }
                return Ok(Self(url.to_owned()));
            }
            _ => return Err(bad("only http, https and file URLs")),
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host_port = authority.rsplit('@').next().unwrap_or("");
        let host = if let Some(v6) = host_port.strip_prefix('[') {
            v6.split(']').next().unwrap_or("")
        } else {
            host_port.split(':').next().unwrap_or("")
        };
        if host.is_empty() || host.starts_with('-') {
            return Err(bad("no host"));
        }
        if !policy.allow_local && is_local_host(host) {
            return Err(denied(
                url,
                "loopback, private and link-local hosts are disabled",
            ));
        }
        Ok(Self(url.to_owned()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn denied(url: &str, why: &str) -> Error {
    Error::new(
        crate::error::ErrorKind::PermissionDenied,
        format!("remote url {:?} is not allowed: {why}", redact_url(url)),
    )
}

/// Whether a host literal names this machine or a private network. Names other than
/// `localhost` are checked again after resolution by the service.
pub fn is_local_host(host: &str) -> bool {
    let lower = host.to_ascii_lowercase();
    if lower == "localhost" || lower.ends_with(".localhost") {
        return true;
    }
    match lower.parse::<IpAddr>() {
        Ok(ip) => is_local_ip(ip),
        Err(_) => false,
    }
}

/// Whether an address is loopback, private, link-local, unspecified or otherwise not public.
pub fn is_local_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 0
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let seg0 = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (seg0 & 0xfe00) == 0xfc00
                || (seg0 & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_local_ip(IpAddr::V4(v4)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_git_is_refused_in_every_spelling_a_file_system_folds() {
        for p in [
            ".git/x",
            ".GIT",
            ".git.",
            ".git ",
            "git~1/config",
            "a/.gi\u{200c}t/config",
            ".git\u{feff}",
            "\u{200e}.git",
            ".git::$INDEX_ALLOCATION/x",
            ".git:$DATA",
            ".git\\config",
            "a/.Git\\hooks\\pre-commit",
        ] {
            assert!(RepoPath::new(p).is_err(), "{p:?} is accepted");
        }
        for p in [
            ".github/x",
            ".gitignore",
            "git",
            "a.git/b",
            "x:y",
            "dir\\file",
            ".gitmodules",
        ] {
            assert!(RepoPath::new(p).is_ok(), "{p:?} is refused");
        }
        assert!(RepoPath::new("x".repeat(255)).is_ok());
        assert!(RepoPath::new(format!("d/{}", "x".repeat(256))).is_err());
    }

    #[test]
    fn refused_urls_never_show_their_credentials() {
        let strict = ClonePolicy::default();
        for url in [
            "https://alice:hunter2-secret@127.0.0.1/r.git",
            "http://ghp_tokentokentoken@localhost/r.git",
            "file://bob:hunter2-secret@/etc",
            "ftp://alice:hunter2-secret@example.com/r.git",
        ] {
            let err = RemoteUrl::parse(url, strict).expect_err("refused");
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!shown.contains("ghp_token"), "{shown}");
        }
        let ok = RemoteUrl::parse("https://u:hunter2-secret@example.com/r.git", strict)
            .expect("a public URL");
        assert_eq!(
            format!("{ok:?}"),
            "RemoteUrl(\"https://***@example.com/r.git\")"
        );
        assert_eq!(
            redact_url("https://example.com/a@b"),
            "https://example.com/a@b"
        );
        assert_eq!(
            redact_urls_in(
                "fatal: unable to access 'https://a:pw@h.example/r.git/': 403 at http://x@y z"
            ),
            "fatal: unable to access 'https://***@h.example/r.git/': 403 at http://***@y z"
        );
    }

    #[test]
    fn branch_or_full_refuses_a_short_name_that_reads_as_an_option() {
        assert!(RefName::branch_or_full("-x").is_err());
        assert_eq!(
            RefName::branch_or_full("main").map(|r| r.as_str().to_owned()),
            Ok("refs/heads/main".to_owned())
        );
        assert!(RefName::branch_or_full("refs/tags/v1").is_ok());
    }

    #[test]
    fn repo_names() {
        for ok in ["a", "A-b_c.d", "x1", &"a".repeat(100)] {
            assert!(RepoName::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "..",
            ".",
            ".git",
            "-x",
            "a/b",
            "a.git",
            "A.GIT",
            "x.lock",
            "a b",
            "%2e%2e",
            &"a".repeat(101),
            "é",
            "a\0",
        ] {
            assert!(RepoName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ref_names() {
        for ok in [
            "refs/heads/main",
            "refs/tags/v1.0",
            "refs/heads/a/b",
            "refs/heads/--foo",
        ] {
            assert!(RefName::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "main",
            "-h",
            "--upload-pack=x",
            "refs/heads/../../config",
            "refs/heads/a..b",
            "refs/heads/x.lock",
            "refs/heads/",
            "refs//heads/x",
            "refs/heads/x.",
            "refs/heads/a@{1}",
            "refs/heads/a b",
            "refs/heads/.hidden",
            "refs/heads/a\0b",
            "HEAD",
        ] {
            assert!(RefName::new(bad).is_err(), "{bad}");
        }
        assert_eq!(
            RefName::branch("x").map(|r| r.short().to_owned()).ok(),
            Some("x".into())
        );
    }

    #[test]
    fn repo_paths() {
        for ok in [
            "a",
            "a/b/c.txt",
            "dir/.gitignore",
            "x..y",
            ".github/workflows/ci.yml",
        ] {
            assert!(RepoPath::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../x",
            "a/../b",
            "/abs",
            ".git/config",
            "a/.GIT/x",
            ".Git",
            "a//b",
            "a/",
            "./a",
            "a\0b",
            ".git.",
            "GIT~1",
        ] {
            assert!(RepoPath::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn revs_and_ranges() {
        assert!(Rev::new("HEAD~2").is_ok());
        assert!(Rev::new("main^{tree}").is_ok());
        assert!(Rev::new("-h").is_err());
        assert!(Rev::new("--output=/tmp/x").is_err());
        assert!(Rev::new("a..b").is_err());
        // History searches, which no deadline could stop inside the engine.
        assert!(Rev::new(":/fix").is_err());
        assert!(Rev::new("main^{/fix}").is_err());
        assert!(matches!(RevRange::parse("a..b"), Ok(RevRange::TwoDot(..))));
        assert!(matches!(
            RevRange::parse("a...b"),
            Ok(RevRange::ThreeDot(..))
        ));
        assert!(matches!(RevRange::parse("main"), Ok(RevRange::Single(..))));
        assert!(RevRange::parse("a..-b").is_err());
    }

    #[test]
    fn gitmodules_in_every_spelling_git_folds() {
        for yes in [
            ".gitmodules",
            "dir/.GitModules",
            ".gitmodules.",
            ".gitmodules ",
            ".gitmodules:$DATA",
            "GITMOD~1",
            "gitmod~4",
            "gi7eba~9",
            ".git\u{200c}modules",
            "\u{feff}.gitmodules",
        ] {
            let p = RepoPath::new(yes).expect(yes);
            assert!(p.is_gitmodules(), "{yes:?} is .gitmodules");
        }
        for no in [
            "gitmodules",
            ".gitmodules.txt",
            "gitmod~5",
            "gi7eba~0",
            "x.gitmodules",
        ] {
            let p = RepoPath::new(no).expect(no);
            assert!(!p.is_gitmodules(), "{no:?} is not .gitmodules");
        }
    }

    #[test]
    fn config_values_are_checked_against_the_type_git_reads() {
        let key = |k: &str| ConfigKey::new(k).expect(k);
        for (k, v) in [
            ("gc.auto", "0"),
            ("gc.auto", "6700"),
            ("core.compression", "-1"),
            ("pack.compression", "9"),
            ("core.bigFileThreshold", "512m"),
            ("core.logAllRefUpdates", "always"),
            ("receive.denyDeletes", "true"),
            ("diff.renames", "copies"),
            ("gc.pruneExpire", "2.weeks.ago"),
            ("gc.reflogExpire", "never"),
            ("gc.pruneExpire", "2026-01-31"),
            ("user.name", "Any One"),
        ] {
            assert!(check_config_value(&key(k), v).is_ok(), "{k} = {v}");
        }
        for (k, v) in [
            ("gc.auto", "zz"),
            ("core.compression", "10"),
            ("core.bigFileThreshold", "lots"),
            ("receive.denyDeletes", "maybe"),
            ("gc.pruneExpire", "soon"),
            ("gc.pruneExpire", "2.fortnights.ago"),
            ("user.name", "two\nlines"),
        ] {
            assert!(check_config_value(&key(k), v).is_err(), "{k} = {v}");
        }
    }

    #[test]
    fn config_keys() {
        assert!(ConfigKey::new("user.name").is_ok());
        assert!(ConfigKey::new("GC.Auto").is_ok());
        for bad in [
            "core.hooksPath",
            "core.fsmonitor",
            "core.sshCommand",
            "core.pager",
            "filter.lfs.clean",
            "diff.external",
            "include.path",
        ] {
            let err = ConfigKey::new(bad).expect_err(bad);
            assert_eq!(err.kind(), crate::ErrorKind::PermissionDenied);
        }
    }

    #[test]
    fn remote_urls() {
        let open = ClonePolicy { allow_local: true };
        let strict = ClonePolicy::default();
        assert!(RemoteUrl::parse("https://example.com/a.git", strict).is_ok());
        for bad in [
            "file:///tmp/x",
            "http://127.0.0.1/x",
            "http://localhost:8080/x",
            "http://10.1.2.3/x",
            "http://192.168.0.1/x",
            "http://169.254.169.254/latest",
            "http://[::1]/x",
            "http://[fe80::1]/x",
            "ext::sh -c id",
            "ssh://host/x",
            "-u/x",
            "/abs/path",
        ] {
            assert!(RemoteUrl::parse(bad, strict).is_err(), "{bad}");
        }
        assert!(RemoteUrl::parse("file:///tmp/x", open).is_ok());
        assert!(RemoteUrl::parse("file:///tmp/../etc", open).is_err());
        assert!(RemoteUrl::parse("http://127.0.0.1:9/x", open).is_ok());
    }
}
