//! Object text that both engines must produce byte for byte or read alike: commit payloads,
//! signatures, and the signature of a signed tag.

use crate::error::{Error, Result};
use crate::model::Signature;
use crate::oid::Oid;

/// Normalises a commit or tag message the way `git commit-tree -m` stores it: one trailing
/// newline. An empty message is refused, as `git commit` refuses it.
pub fn normalize_message(message: &str) -> Result<String> {
    check_message(message)?;
    let mut m = message.to_owned();
    if !m.ends_with('\n') {
        m.push('\n');
    }
    Ok(m)
}

/// Checks a message that is stored as it is, byte for byte: the message of a commit that is
/// picked again, which `git cherry-pick` copies verbatim (no newline added at the end, blanks
/// kept), so that the new commit has git's id. An empty message or one with a NUL byte is
/// refused, as for [`normalize_message`].
pub fn check_message(message: &str) -> Result<()> {
    if message.trim().is_empty() {
        return Err(Error::invalid("message is empty"));
    }
    if message.contains('\0') {
        return Err(Error::invalid("message holds a NUL byte"));
    }
    Ok(())
}

/// The text of a commit object without signature: what is hashed, and what a signer signs.
pub fn commit_payload(
    tree: Oid,
    parents: &[Oid],
    author: &Signature,
    committer: &Signature,
    message: &str,
) -> String {
    let mut out = format!("tree {tree}\n");
    for p in parents {
        out.push_str(&format!("parent {p}\n"));
    }
    out.push_str(&format!("author {}\n", author.to_header()));
    out.push_str(&format!("committer {}\n", committer.to_header()));
    out.push('\n');
    out.push_str(message);
    out
}

/// The lines that start a signature git appends to a signed tag's message (`gpg-interface.c`:
/// OpenPGP, X.509 and SSH formats).
const TAG_SIGNATURE_STARTS: [&str; 4] = [
    "-----BEGIN PGP SIGNATURE-----",
    "-----BEGIN PGP MESSAGE-----",
    "-----BEGIN SIGNED MESSAGE-----",
    "-----BEGIN SSH SIGNATURE-----",
];

/// Splits a tag object's message into the message and the signature appended to it, as git's
/// `parse_signed_buffer` does: the signature starts at the last line that begins one.
pub fn split_tag_signature(message: &str) -> (&str, Option<&str>) {
    let mut start = None;
    let mut at = 0;
    for line in message.split_inclusive('\n') {
        if TAG_SIGNATURE_STARTS.iter().any(|s| line.starts_with(s)) {
            start = Some(at);
        }
        at += line.len();
    }
    match start {
        Some(i) => (&message[..i], Some(&message[i..])),
        None => (message, None),
    }
}

/// Inserts a `gpgsig` header into a commit payload, after the last header line, as
/// `git commit -S` does.
pub fn insert_signature(payload: &str, signature: &str) -> Result<String> {
    let sig = signature.trim_end_matches('\n');
    if sig.is_empty() || sig.contains('\0') || sig.contains("\n\n") {
        return Err(Error::invalid("signature is empty or malformed"));
    }
    let split = payload
        .find("\n\n")
        .ok_or_else(|| Error::internal("commit payload has no header end"))?;
    let (headers, rest) = payload.split_at(split + 1);
    Ok(format!(
        "{headers}gpgsig {}\n{rest}",
        sig.replace('\n', "\n ")
    ))
}

/// Signs commit payloads with an SSH key in process (`gpg.format=ssh`, namespace `git`).
pub struct SshSigner {
    key: ssh_key::PrivateKey,
}

impl std::fmt::Debug for SshSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshSigner")
            .field("public_key", &self.key.public_key().to_openssh().ok())
            .finish()
    }
}

impl SshSigner {
    /// From an unencrypted OpenSSH private key file's text.
    pub fn from_openssh(text: &str) -> Result<Self> {
        let key = ssh_key::PrivateKey::from_openssh(text)
            .map_err(|e| Error::invalid(format!("signing key is not an openssh key: {e}")))?;
        if key.is_encrypted() {
            return Err(Error::invalid("signing key is encrypted"));
        }
        Ok(Self { key })
    }

    /// The armored SSH signature over `payload`.
    pub fn sign(&self, payload: &[u8]) -> Result<String> {
        let sig = self
            .key
            .sign("git", ssh_key::HashAlg::Sha512, payload)
            .map_err(|e| Error::internal(format!("signing failed: {e}")))?;
        sig.to_pem(ssh_key::LineEnding::LF)
            .map_err(|e| Error::internal(format!("encoding signature failed: {e}")))
    }

    /// The public key in `authorized_keys` form, for an allowed-signers file.
    pub fn public_key(&self) -> Result<String> {
        self.key
            .public_key()
            .to_openssh()
            .map_err(|e| Error::internal(format!("encoding public key failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_signature_starts_at_the_last_line_that_begins_one() {
        let pgp = "-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n";
        assert_eq!(
            split_tag_signature(&format!("v1\n\nnotes\n{pgp}")),
            ("v1\n\nnotes\n", Some(pgp))
        );
        // Quoted in the text, then appended: the last one is the signature.
        let quoted = format!("see\n{pgp}more\n{pgp}");
        assert_eq!(
            split_tag_signature(&quoted),
            (&quoted[..quoted.len() - pgp.len()], Some(pgp))
        );
        // Not at a line start: no signature.
        assert_eq!(
            split_tag_signature("x -----BEGIN PGP SIGNATURE-----\n").1,
            None
        );
        assert_eq!(split_tag_signature(""), ("", None));
    }

    #[test]
    fn payload_and_signature_layout() {
        let sig = Signature::new("A U Thor", "a@example.com", 1_700_000_000, 60).expect("valid");
        let p = commit_payload(Oid::ZERO, &[], &sig, &sig, "msg\n");
        assert_eq!(
            p,
            "tree 0000000000000000000000000000000000000000\n\
             author A U Thor <a@example.com> 1700000000 +0100\n\
             committer A U Thor <a@example.com> 1700000000 +0100\n\nmsg\n"
        );
        let signed =
            insert_signature(&p, "-----BEGIN X-----\nabc\n-----END X-----\n").expect("well formed");
        assert!(
            signed.contains("+0100\ngpgsig -----BEGIN X-----\n abc\n -----END X-----\n\nmsg\n")
        );
        assert!(normalize_message("  \n").is_err());
        assert_eq!(normalize_message("x").ok().as_deref(), Some("x\n"));
    }
}
