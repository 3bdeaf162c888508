//! Bearer tokens with scopes on repository name patterns.
//!
//! Tokens are kept only as SHA-256 digests and compared in constant time against every
//! configured token (no early exit), so neither the comparison nor the position of a match
//! leaks through timing. With no token configured the service runs in open local mode.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use gitapi_core::{Error, ErrorKind, RepoName, Result};

/// What a token may do. Each scope includes the ones below it: `admin` ⊃ `write` ⊃ `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Read anything of a repository.
    Read,
    /// Move refs, commit, change workspaces.
    Write,
    /// Create and delete repositories, protect refs, gc, set config.
    Admin,
}

impl Scope {
    /// Parses `read`, `write` or `admin`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            "admin" => Ok(Self::Admin),
            other => Err(Error::invalid(format!(
                "scope {other:?} is not one of read, write, admin"
            ))),
        }
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }
}

/// A repository name pattern: `*` matches any run of characters, everything else itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoPattern(String);

impl RepoPattern {
    /// A pattern; it must be non-empty and use only repository-name characters and `*`.
    pub fn new(s: &str) -> Result<Self> {
        let ok = !s.is_empty()
            && s.len() <= 200
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'*'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::invalid(format!(
                "repository pattern {s:?} is not valid"
            )))
        }
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        glob_match(&self.0, name)
    }

    /// Whether this pattern matches every name (it is all `*`).
    pub fn matches_everything(&self) -> bool {
        self.0.bytes().all(|b| b == b'*')
    }
}

/// `*`-only glob matching, iterative (no exponential backtracking on hostile patterns).
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// One configured token: a name for logs, the secret, and what it may do where.
#[derive(Clone)]
pub struct TokenGrant {
    /// A name for logs (never the secret).
    pub name: String,
    digest: [u8; 32],
    /// The scope it has.
    pub scope: Scope,
    /// The repositories it applies to.
    pub repos: Vec<RepoPattern>,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("name", &self.name)
            .field("scope", &self.scope)
            .field("repos", &self.repos)
            .finish_non_exhaustive()
    }
}

impl TokenGrant {
    /// A grant for `secret`; secrets shorter than 16 bytes are refused as guessable.
    pub fn new(name: &str, secret: &str, scope: Scope, repos: Vec<RepoPattern>) -> Result<Self> {
        if secret.len() < 16 {
            return Err(Error::invalid(format!(
                "token {name:?} is shorter than 16 characters"
            )));
        }
        if repos.is_empty() {
            return Err(Error::invalid(format!(
                "token {name:?} names no repository"
            )));
        }
        Ok(Self {
            name: name.to_owned(),
            digest: Sha256::digest(secret.as_bytes()).into(),
            scope,
            repos,
        })
    }
}

/// Who is calling, as the service sees it.
#[derive(Debug, Clone)]
pub enum Principal {
    /// Open local mode: no token is configured, everything is allowed.
    Open,
    /// A caller that presented a configured token.
    Token(TokenGrant),
}

impl Principal {
    /// A name for logs.
    pub fn name(&self) -> &str {
        match self {
            Self::Open => "open",
            Self::Token(t) => &t.name,
        }
    }

    /// Whether this caller has `scope` on `repo`.
    pub fn allows(&self, scope: Scope, repo: &str) -> bool {
        match self {
            Self::Open => true,
            Self::Token(t) => t.scope >= scope && t.repos.iter().any(|p| p.matches(repo)),
        }
    }

    /// `Ok` when this caller has `scope` on `repo`, else `PermissionDenied`.
    pub fn require(&self, scope: Scope, repo: &RepoName) -> Result<()> {
        if self.allows(scope, repo.as_str()) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "{} scope on repository {:?} is required",
                    scope.as_str(),
                    repo.as_str()
                ),
            ))
        }
    }
}

impl Principal {
    /// `Ok` when this caller administers the whole server (engine switch, canary): admin scope
    /// on every repository (`repos = ["*"]`), or open local mode.
    pub fn require_server_admin(&self) -> Result<()> {
        let ok = match self {
            Self::Open => true,
            Self::Token(t) => {
                t.scope >= Scope::Admin && t.repos.iter().any(RepoPattern::matches_everything)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::PermissionDenied,
                "admin scope on every repository (repos = [\"*\"]) is required",
            ))
        }
    }
}

/// The token of HTTP Basic credentials, as git's credential helpers send it: the password
/// (any user name), or the user name when the password is empty (`https://TOKEN@host/`).
fn basic_secret(encoded: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim_ascii())
        .ok()?;
    let colon = raw.iter().position(|b| *b == b':')?;
    let (user, pass) = (&raw[..colon], &raw[colon + 1..]);
    let secret = if pass.is_empty() { user } else { pass };
    (!secret.is_empty()).then(|| secret.to_vec())
}

/// Checks tokens, sent as `Bearer` or as HTTP Basic credentials.
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    grants: Vec<TokenGrant>,
}

impl Authenticator {
    /// An authenticator over the configured grants (open local mode when empty).
    pub fn new(grants: Vec<TokenGrant>) -> Self {
        Self { grants }
    }

    /// Whether no token is configured.
    pub fn is_open(&self) -> bool {
        self.grants.is_empty()
    }

    /// Authenticates the value of an `Authorization` header: `Bearer <token>`, or HTTP Basic
    /// with the token as the password (what git sends from its credential helpers).
    ///
    /// In open local mode every caller is [`Principal::Open`], header or not. Otherwise a
    /// missing or unknown token is `Unauthenticated`.
    pub fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Principal> {
        if self.is_open() {
            return Ok(Principal::Open);
        }
        let unauthenticated = |why: &str| {
            Error::new(
                ErrorKind::Unauthenticated,
                format!("authentication failed: {why}"),
            )
        };
        let header = authorization.ok_or_else(|| unauthenticated("no token"))?;
        let basic;
        let secret: &[u8] = if let Some(b) = header
            .strip_prefix(b"Bearer ")
            .or_else(|| header.strip_prefix(b"bearer "))
        {
            b
        } else if let Some(b) = header
            .strip_prefix(b"Basic ")
            .or_else(|| header.strip_prefix(b"basic "))
        {
            basic = basic_secret(b).ok_or_else(|| {
                unauthenticated("the Basic credentials are not base64 of user:token")
            })?;
            &basic
        } else {
            return Err(unauthenticated(
                "the Authorization header is neither a bearer token nor Basic credentials",
            ));
        };
        let digest: [u8; 32] = Sha256::digest(secret).into();
        // Compare with every grant, without stopping at a match, so the time taken does not
        // depend on which token (if any) matched.
        let mut found: Option<&TokenGrant> = None;
        for grant in &self.grants {
            let equal: bool = grant.digest.ct_eq(&digest).into();
            if equal && found.is_none() {
                found = Some(grant);
            }
        }
        found
            .map(|g| Principal::Token(g.clone()))
            .ok_or_else(|| unauthenticated("unknown token"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match("*", "anything"));
        assert!(glob_match("team-*", "team-a"));
        assert!(!glob_match("team-*", "other"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
    }

    #[test]
    fn scopes_nest_and_patterns_limit() -> Result<()> {
        let grant = TokenGrant::new(
            "ci",
            "0123456789abcdef-secret",
            Scope::Write,
            vec![RepoPattern::new("team-*")?],
        )?;
        let auth = Authenticator::new(vec![grant]);
        let who = auth.authenticate(Some(b"Bearer 0123456789abcdef-secret"))?;
        assert!(who.allows(Scope::Read, "team-a"));
        assert!(who.allows(Scope::Write, "team-a"));
        assert!(!who.allows(Scope::Admin, "team-a"));
        assert!(!who.allows(Scope::Read, "other"));
        let err = auth
            .authenticate(Some(b"Bearer wrong-token-value-xx"))
            .err();
        assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Unauthenticated));
        let err = auth.authenticate(None).err();
        assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Unauthenticated));
        let err = auth.authenticate(Some(b"Basic abc")).err();
        assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Unauthenticated));
        // What git sends from a credential helper: user:token, or token as the user name.
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        for creds in ["git:0123456789abcdef-secret", "0123456789abcdef-secret:"] {
            let header = format!("Basic {}", b64(creds));
            let who = auth.authenticate(Some(header.as_bytes()))?;
            assert!(who.allows(Scope::Write, "team-a"), "{creds}");
        }
        let header = format!("Basic {}", b64("git:wrong-token-value-xx"));
        let err = auth.authenticate(Some(header.as_bytes())).err();
        assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::Unauthenticated));
        Ok(())
    }

    #[test]
    fn open_mode_allows_everything() -> Result<()> {
        let who = Authenticator::default().authenticate(None)?;
        assert!(who.allows(Scope::Admin, "x"));
        Ok(())
    }
}
