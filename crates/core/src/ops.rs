//! The one list of engine operations with their kinds, from which decorators of
//! [`crate::GitBackend`] (the canary, caches, instrumentation) are generated.
//!
//! [`with_backend_ops!`](crate::with_backend_ops) calls a macro of the caller's with every
//! operation of the trait, one per line:
//!
//! ```text
//! KIND NAME([REF_ARG: TYPE, ...] [VALUE_ARG: TYPE, ...]) -> ANSWER;
//! ```
//!
//! - `KIND` is `read` (answers from the repository's state, no side effect), `write` (changes
//!   refs, objects, a work tree or the index), `stream` (a read whose answer is a
//!   `BoxStream<'static, Result<ANSWER>>`) or `blob` (a read whose answer is a
//!   [`crate::BlobStream`]).
//! - Arguments passed by reference come first, in the first brackets, each written with its
//!   referent type (`repo: RepoName` for `repo: &RepoName`, `patch: str` for `patch: &str`);
//!   arguments passed by value follow in the second brackets.
//!
//! A decorator that forgets an operation does not compile (the trait's required methods), and
//! the three operations with default bodies are in the list too, so a decorator cannot
//! silently fall back to a default that reads more than the wrapped engine would.

/// Calls `$callback! { ... }` with every [`crate::GitBackend`] operation (see [`crate::ops`]).
#[macro_export]
macro_rules! with_backend_ops {
    ($callback:ident) => {
        $callback! {
            write init_repo([repo: RepoName] [opts: InitOptions]) -> RepoInfo;
            read repo_info([repo: RepoName] []) -> RepoInfo;
            write delete_repo([repo: RepoName] []) -> ();
            write clone_repo([repo: RepoName] [opts: CloneOptions]) -> RepoInfo;
            write sync_mirror([repo: RepoName] []) -> RepoInfo;
            write gc([repo: RepoName] []) -> GcOutcome;
            read config_get([repo: RepoName, key: ConfigKey] []) -> Option<String>;
            write config_set([repo: RepoName, key: ConfigKey, value: str] []) -> ();
            read config_list([repo: RepoName] []) -> Vec<ConfigEntry>;
            read list_refs([repo: RepoName] [query: ListRefs]) -> Page<Ref>;
            read get_ref([repo: RepoName, name: RefName] []) -> Ref;
            read resolve([repo: RepoName, rev: Rev] []) -> Oid;
            read read_tag([repo: RepoName] [oid: Oid]) -> TagObject;
            write create_branch([repo: RepoName, name: RefName, target: Rev] []) -> Ref;
            write create_tag([repo: RepoName] [tag: CreateTag]) -> Ref;
            write delete_ref([repo: RepoName, name: RefName] [expected: Option<Oid>]) -> ();
            write rename_branch([repo: RepoName, from: RefName, to: RefName] []) -> Ref;
            write update_refs([repo: RepoName] [updates: Vec<RefUpdate>]) -> ();
            read get_commit([repo: RepoName, rev: Rev] []) -> Commit;
            read get_commits([repo: RepoName, oids: [Oid]] []) -> Vec<Option<Commit>>;
            stream log([repo: RepoName] [query: LogQuery]) -> Commit;
            write commit_files([repo: RepoName] [req: CommitFiles]) -> Commit;
            read commit_payload([repo: RepoName] [req: CommitFiles]) -> String;
            write commit_index([repo: RepoName] [req: CommitIndex]) -> Commit;
            write cherry_pick([repo: RepoName] [req: PickCommit]) -> Commit;
            write revert([repo: RepoName] [req: PickCommit]) -> Commit;
            write amend([repo: RepoName] [req: Amend]) -> Commit;
            write reset([repo: RepoName] [req: Reset]) -> Oid;
            read list_tree([repo: RepoName] [query: ListTree]) -> Vec<TreeEntry>;
            read read_blob([repo: RepoName] [blob: BlobRef]) -> Blob;
            read blob_header([repo: RepoName] [blob: BlobRef]) -> BlobHeader;
            blob stream_blob([repo: RepoName] [blob: BlobRef]) -> BlobStream;
            write edit_workspace([repo: RepoName, ws: WorkspaceName]
                [edit: porcelain::workspace_edit::WorkspaceEdit]) -> ();
            write put_file([repo: RepoName, ws: WorkspaceName, path: RepoPath]
                [content: bytes::Bytes, mode: Option<FileMode>]) -> ();
            write delete_file([repo: RepoName, ws: WorkspaceName, path: RepoPath] []) -> ();
            write move_file([repo: RepoName, ws: WorkspaceName, from: RepoPath, to: RepoPath] [])
                -> ();
            write create_workspace([repo: RepoName, ws: WorkspaceName] [branch: Option<RefName>])
                -> WorkspaceInfo;
            read list_workspaces([repo: RepoName] []) -> Vec<WorkspaceInfo>;
            // These four may create `default` on first use; by the time a shadow runs them the
            // primary has created it, so they are compared like reads.
            read workspace([repo: RepoName, ws: WorkspaceName] []) -> WorkspaceInfo;
            write remove_workspace([repo: RepoName, ws: WorkspaceName] []) -> ();
            read status([repo: RepoName, ws: WorkspaceName] []) -> Vec<StatusEntry>;
            write stage([repo: RepoName, ws: WorkspaceName, path: RepoPath] []) -> ();
            write unstage([repo: RepoName, ws: WorkspaceName, path: RepoPath] []) -> ();
            write stage_patch([repo: RepoName, ws: WorkspaceName, patch: str] []) -> ();
            write discard([repo: RepoName, ws: WorkspaceName, path: RepoPath] []) -> ();
            read stash_list([repo: RepoName, ws: WorkspaceName] []) -> Vec<StashEntry>;
            write stash_save([repo: RepoName] [req: StashSave]) -> StashEntry;
            write stash_apply([repo: RepoName, ws: WorkspaceName] [index: usize]) -> ();
            write stash_drop([repo: RepoName, ws: WorkspaceName] [index: usize]) -> ();
            read diff([repo: RepoName] [req: DiffRequest]) -> Diff;
            read diff_by_id([repo: RepoName, id: DiffId] []) -> Diff;
            read blame([repo: RepoName] [query: BlameQuery]) -> Vec<BlameHunk>;
            write merge([repo: RepoName] [req: Merge]) -> MergeOutcome;
            write rebase([repo: RepoName] [req: Rebase]) -> RebaseOutcome;
            read merge_base([repo: RepoName, a: Rev, b: Rev] []) -> Option<Oid>;
            read is_ancestor([repo: RepoName, ancestor: Rev, descendant: Rev] []) -> bool;
            read ahead_behind([repo: RepoName, a: Rev, b: Rev] []) -> AheadBehind;
        }
    };
}
