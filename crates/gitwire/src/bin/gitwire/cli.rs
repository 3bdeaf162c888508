//! Command-line definitions and their implementations over the gitwire library.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use gitwire::{
    Auth, Client, ClientOptions, CloneOptions, CompareOptions, LogOptions, Mode, Signature,
    StagedWriter, TransportOptions, WriterOptions,
};

/// Read and write Git repositories over Smart HTTP protocol v2, without a clone.
#[derive(Debug, Parser)]
#[command(name = "gitwire", version)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: Global,
}

#[derive(Debug, clap::Args)]
struct Global {
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Bearer token.
    #[arg(long, global = true, env = "GITWIRE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// User for basic auth.
    #[arg(long, global = true)]
    user: Option<String>,
    /// Password for basic auth.
    #[arg(long, global = true, env = "GITWIRE_PASSWORD", hide_env_values = true)]
    password: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List refs.
    LsRefs {
        /// Repository URL.
        url: String,
        /// Only refs starting with this prefix.
        #[arg(long)]
        prefix: Option<String>,
    },
    /// Print a file's content.
    Cat {
        /// Repository URL.
        url: String,
        /// REV:PATH.
        spec: String,
    },
    /// List a tree.
    LsTree {
        /// Repository URL.
        url: String,
        /// REV or REV:PATH.
        spec: String,
        /// Recurse into subtrees.
        #[arg(short = 'r')]
        recursive: bool,
    },
    /// Show history.
    Log {
        /// Repository URL.
        url: String,
        /// Start revision.
        rev: String,
        /// Only commits touching this path.
        #[arg(long)]
        path: Option<String>,
        /// At most this many commits.
        #[arg(short = 'n', long = "max-count")]
        max_count: Option<usize>,
        /// Follow only first parents.
        #[arg(long)]
        first_parent: bool,
    },
    /// Name and status of the files that differ between two revisions.
    Diff {
        /// Repository URL.
        url: String,
        /// Old revision.
        a: String,
        /// New revision.
        b: String,
    },
    /// Write a revision's files into a directory (no .git).
    Clone {
        /// Repository URL.
        url: String,
        /// Target directory.
        dir: PathBuf,
        /// Revision (default: HEAD).
        #[arg(long, default_value = "HEAD")]
        rev: String,
        /// Only paths matching these globs.
        #[arg(long)]
        include: Vec<String>,
        /// Skip paths matching these globs (wins over --include).
        #[arg(long)]
        exclude: Vec<String>,
    },
    /// Commit file changes to a branch and push them.
    Put {
        /// Repository URL.
        url: String,
        /// Branch to write.
        #[arg(long)]
        branch: String,
        /// Commit message.
        #[arg(long)]
        message: String,
        /// Author, "Name <email>".
        #[arg(long, default_value = "gitwire <gitwire@localhost>")]
        author: String,
        /// PATH=@FILE: write FILE's content at PATH.
        files: Vec<String>,
        /// Delete this path.
        #[arg(long)]
        delete: Vec<String>,
    },
}

fn client(url: &str, g: &Global) -> anyhow::Result<Client> {
    let auth = match (&g.token, &g.user) {
        (_, Some(user)) => Auth::Basic {
            user: user.clone(),
            password: g.password.clone().unwrap_or_default(),
        },
        (Some(t), None) => Auth::Bearer(t.clone()),
        (None, None) => Auth::None,
    };
    let options = ClientOptions {
        transport: TransportOptions {
            auth,
            ..TransportOptions::default()
        },
        ..ClientOptions::default()
    };
    Ok(Client::new(url, options)?)
}

fn split_spec(spec: &str) -> (&str, &str) {
    spec.split_once(':').unwrap_or((spec, ""))
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Runs one command.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let g = &args.global;
    match args.command {
        Command::LsRefs { url, prefix } => {
            let c = client(&url, g)?;
            let refs = c.ls_refs(prefix.as_deref()).await?;
            if g.json {
                return print_json(&refs);
            }
            let mut out = std::io::stdout().lock();
            for r in refs {
                match (r.oid, &r.symref_target) {
                    (Some(oid), _) => writeln!(out, "{oid}\t{}", r.name)?,
                    (None, Some(t)) => writeln!(out, "unborn\t{} -> {t}", r.name)?,
                    (None, None) => writeln!(out, "unborn\t{}", r.name)?,
                }
                if let Some(p) = r.peeled {
                    writeln!(out, "{p}\t{}^{{}}", r.name)?;
                }
            }
        }
        Command::Cat { url, spec } => {
            let (rev, path) = split_spec(&spec);
            if path.is_empty() {
                bail!("expected REV:PATH, got {spec:?}");
            }
            let c = client(&url, g)?;
            let commit = c.resolve(rev).await?;
            let data = c.get_blob_by_path(commit, path).await?;
            if g.json {
                return print_json(
                    &serde_json::json!({ "path": path, "size": data.len(), "content": String::from_utf8_lossy(&data) }),
                );
            }
            std::io::stdout().lock().write_all(&data)?;
        }
        Command::LsTree {
            url,
            spec,
            recursive,
        } => {
            let (rev, path) = split_spec(&spec);
            let c = client(&url, g)?;
            let commit = c.resolve(rev).await?;
            let entry = c.get_entry(commit, path).await?;
            if !entry.mode.is_tree() {
                bail!("{path:?} is not a directory");
            }
            let prefix = path.trim_matches('/');
            let mut entries = c.list_tree(entry.oid, recursive).await?;
            if !prefix.is_empty() {
                for e in &mut entries {
                    e.path = format!("{prefix}/{}", e.path);
                }
            }
            if g.json {
                return print_json(&entries);
            }
            let mut out = std::io::stdout().lock();
            for e in entries {
                writeln!(
                    out,
                    "{} {} {}\t{}",
                    e.mode,
                    e.mode.type_name(),
                    e.oid,
                    e.path
                )?;
            }
        }
        Command::Log {
            url,
            rev,
            path,
            max_count,
            first_parent,
        } => {
            let c = client(&url, g)?;
            let start = c.resolve(&rev).await?;
            let opt = LogOptions {
                path,
                limit: max_count,
                first_parent,
                ..LogOptions::default()
            };
            let commits = c.log(start, &opt).await?;
            if g.json {
                return print_json(&commits);
            }
            let mut out = std::io::stdout().lock();
            for commit in commits {
                writeln!(out, "{} {}", commit.oid, commit.summary())?;
            }
        }
        Command::Diff { url, a, b } => {
            let c = client(&url, g)?;
            let (a, b) = (c.resolve(&a).await?, c.resolve(&b).await?);
            let changes = c.compare(a, b, &CompareOptions::default()).await?;
            if g.json {
                return print_json(&changes);
            }
            let mut out = std::io::stdout().lock();
            for ch in changes {
                match &ch.old_path {
                    Some(old) => writeln!(out, "{}\t{old}\t{}", ch.status_letter(), ch.path)?,
                    None => writeln!(out, "{}\t{}", ch.status_letter(), ch.path)?,
                }
            }
        }
        Command::Clone {
            url,
            dir,
            rev,
            include,
            exclude,
        } => {
            let c = client(&url, g)?;
            let commit = c.resolve(&rev).await?;
            let opt = CloneOptions {
                include,
                exclude,
                ..CloneOptions::default()
            };
            let outcome = c.clone_into(commit, &dir, &opt).await?;
            if g.json {
                return print_json(&outcome);
            }
            println!(
                "{} files, {} bytes written to {}",
                outcome.files,
                outcome.bytes,
                dir.display()
            );
        }
        Command::Put {
            url,
            branch,
            message,
            author,
            files,
            delete,
        } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let now = i64::try_from(now).context("clock out of range")?;
            let author = Signature::from_name_email(&author, now)
                .with_context(|| format!("author {author:?} is not \"Name <email>\""))?;
            let c = client(&url, g)?;
            let mut w = StagedWriter::new(&c, &branch, WriterOptions::default()).await?;
            for f in &files {
                let Some((path, file)) = f.split_once("=@") else {
                    bail!("expected PATH=@FILE, got {f:?}");
                };
                let data = std::fs::read(file).with_context(|| format!("reading {file:?}"))?;
                let mode = is_executable(file).then_some(Mode::EXECUTABLE);
                w.put_file(path, data, mode)?;
            }
            for d in &delete {
                if w.exists(d) {
                    w.delete_file(d)?;
                } else {
                    w.delete_directory(d)?;
                }
            }
            let commit = w.commit(&message, &author, None)?;
            w.push().await?;
            if g.json {
                return print_json(&serde_json::json!({ "commit": commit, "ref": w.refname() }));
            }
            println!("{commit}");
        }
    }
    Ok(())
}

fn is_executable(file: &str) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(file).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        false
    }
}
