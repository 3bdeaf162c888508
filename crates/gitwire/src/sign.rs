//! Commit signing. [`SshSigner`] writes the SSH signatures git verifies with
//! `gpg.format=ssh`.

use crate::error::{Error, Result};

/// Signs commit payloads; the result goes into the commit's `gpgsig` header.
pub trait CommitSigner: Send + Sync + std::fmt::Debug {
    /// An armored signature of `payload` (the commit without its signature).
    fn sign(&self, payload: &[u8]) -> Result<String>;
}

/// Signs with an SSH private key (namespace `git`, SHA-512), as `git commit -S` does with
/// `gpg.format=ssh`.
#[derive(Debug)]
pub struct SshSigner {
    key: ssh_key::PrivateKey,
}

impl SshSigner {
    /// From an unencrypted OpenSSH private key (`-----BEGIN OPENSSH PRIVATE KEY-----`).
    pub fn from_openssh(pem: &str) -> Result<Self> {
        let key = ssh_key::PrivateKey::from_openssh(pem)
            .map_err(|e| Error::Signing(format!("reading the key: {e}")))?;
        if key.is_encrypted() {
            return Err(Error::Signing("the key is encrypted".into()));
        }
        Ok(SshSigner { key })
    }

    /// From a parsed key.
    pub fn new(key: ssh_key::PrivateKey) -> Self {
        SshSigner { key }
    }
}

impl CommitSigner for SshSigner {
    fn sign(&self, payload: &[u8]) -> Result<String> {
        let sig = self
            .key
            .sign("git", ssh_key::HashAlg::Sha512, payload)
            .map_err(|e| Error::Signing(e.to_string()))?;
        sig.to_pem(ssh_key::LineEnding::LF)
            .map_err(|e| Error::Signing(e.to_string()))
    }
}
