//! Path globs for clone filters: `*`, `?`, `[abc]`/`[a-z]`/`[!a]` within one component, `**`
//! across components. A pattern without `/` matches a file name at any depth; a pattern that
//! matches a directory matches everything below it.

/// A compiled glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    segments: Vec<String>,
}

impl Glob {
    /// Compiles a pattern.
    pub fn new(pattern: &str) -> Self {
        let trimmed = pattern.trim_start_matches('/');
        let mut segments: Vec<String> = trimmed
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if !pattern.contains('/') {
            segments.insert(0, "**".to_owned());
        }
        Glob { segments }
    }

    /// Whether `path` (`/`-separated, relative) or one of its parent directories matches.
    pub fn matches(&self, path: &str) -> bool {
        let comps: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        (1..=comps.len()).any(|n| match_segments(&self.segments, &comps[..n]))
    }
}

fn match_segments(pat: &[String], path: &[&str]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((p, rest)) if p == "**" => {
            (0..=path.len()).any(|skip| match_segments(rest, &path[skip..]))
        }
        Some((p, rest)) => match path.split_first() {
            Some((c, prest)) => {
                match_component(p.as_bytes(), c.as_bytes()) && match_segments(rest, prest)
            }
            None => false,
        },
    }
}

fn match_component(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| match_component(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && match_component(rest, &s[1..]),
        Some((b'[', rest)) => {
            let Some(close) = rest.iter().skip(1).position(|&c| c == b']').map(|i| i + 1) else {
                return s.first() == Some(&b'[') && match_component(rest, &s[1..]);
            };
            let Some(&c) = s.first() else { return false };
            let (negate, class) = match rest[..close].split_first() {
                Some((b'!' | b'^', cls)) => (true, cls),
                _ => (false, &rest[..close]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && match_component(&rest[close + 1..], &s[1..])
        }
        Some((&lit, rest)) => s.first() == Some(&lit) && match_component(rest, &s[1..]),
    }
}

/// Include/exclude filter: a path is kept if it matches some include (or there are none) and
/// no exclude; exclude wins.
#[derive(Debug, Clone, Default)]
pub struct PathFilter {
    include: Vec<Glob>,
    exclude: Vec<Glob>,
}

impl PathFilter {
    /// Builds a filter from pattern lists.
    pub fn new<S: AsRef<str>>(include: &[S], exclude: &[S]) -> Self {
        PathFilter {
            include: include.iter().map(|p| Glob::new(p.as_ref())).collect(),
            exclude: exclude.iter().map(|p| Glob::new(p.as_ref())).collect(),
        }
    }

    /// Whether `path` passes.
    pub fn accepts(&self, path: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| g.matches(path)))
            && !self.exclude.iter().any(|g| g.matches(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(Glob::new("*.rs").matches("src/deep/x.rs"));
        assert!(Glob::new("src/**/*.rs").matches("src/x.rs"));
        assert!(Glob::new("src/**/*.rs").matches("src/a/b/x.rs"));
        assert!(!Glob::new("src/**/*.rs").matches("lib/x.rs"));
        assert!(Glob::new("docs").matches("docs/a/b.md"));
        assert!(Glob::new("docs/**").matches("docs/a/b.md"));
        assert!(Glob::new("d[0-9]?/f*").matches("d12/f3.txt"));
        assert!(!Glob::new("d[!0-9]*").matches("d1"));
        let f = PathFilter::new(&["src/**"], &["**/*.md"]);
        assert!(f.accepts("src/a.rs"));
        assert!(!f.accepts("src/README.md"));
        assert!(!f.accepts("lib/a.rs"));
    }
}
