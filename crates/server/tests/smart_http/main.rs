//! The Smart HTTP door against real Git clients: the `git` CLI (clone, partial and shallow
//! clones, fetch, push, atomic push, ls-remote) on the real `gitapi` binary, protected refs,
//! tokens, events, and isomorphic-git from npm. After every push `git fsck --strict` runs on
//! the server's repository and REST reads are compared with what was pushed.

#[path = "../support/announce.rs"]
mod announce;
mod auth;
mod clients;
mod common;
mod events;
mod hostile;
mod protect;
