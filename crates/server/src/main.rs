//! `gitapi`: serves Git repositories over HTTP.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use gitapi_server::{Config, ConfigSource, Flags};

/// jemalloc, with its background purging thread (turned on first thing in `main`), gives
/// memory back to the system within seconds of a large request freeing it; glibc's malloc
/// kept a 40 MB diff's 150 MB resident for the life of the process (docs/architecture.md,
/// "Memory after a large request").
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// gitapi: a Git repository service. Keeps many bare repositories in one data directory and
/// serves every Git operation over a REST API (OpenAPI document at /openapi.json).
#[derive(Debug, Parser)]
#[command(name = "gitapi", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves the REST API (HTTP/1.1 and h2c on one port) until SIGINT or SIGTERM; in-flight
    /// requests finish first.
    ///
    /// Runs on embedded defaults: data in ./gitapi-data, listening on 127.0.0.1:8080, the
    /// libgit2 engine, and open local mode (no token) unless the config file names tokens.
    /// Settings come from the defaults, then the config file, then GITAPI_* environment
    /// variables (GITAPI_DATA_DIR, GITAPI_LISTEN, GITAPI_ALLOW_LOCAL_CLONE,
    /// GITAPI_MAX_BODY_BYTES, GITAPI_MAX_BLOB_BYTES, GITAPI_DEADLINE_SECS, GITAPI_MAX_LOG_PAGE,
    /// GITAPI_MAX_BLOCKING, GITAPI_CANARY_FRACTION, GITAPI_CANARY_MODE, GIT_BACKEND), then
    /// these flags. The engine (libgit2 or shell) and the canary can be changed while serving:
    /// edit the config file (it is watched) or send SIGHUP, or use PUT /v1/admin/backend.
    Serve(ServeArgs),
    /// Validates the configuration (file, environment, flags) and prints what would run.
    CheckConfig(ServeArgs),
    /// Prints the OpenAPI 3.1 document of the REST API.
    Openapi,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// The data directory (repositories, workspaces, service state).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// A TOML config file (version = 1).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Allow clones and mirrors from file:// URLs and loopback, private and link-local hosts.
    #[arg(long)]
    allow_local_clone: bool,
}

fn source(args: &ServeArgs) -> ConfigSource {
    ConfigSource {
        file: args.config.clone(),
        env: std::env::vars().collect::<HashMap<String, String>>(),
        flags: Flags {
            data_dir: args.data.clone(),
            listen: args.listen.clone(),
            allow_local_clone: args.allow_local_clone,
        },
    }
}

fn load(args: &ServeArgs) -> anyhow::Result<Config> {
    Ok(source(args).load()?)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Without the background thread, jemalloc purges freed pages only while the process keeps
    // allocating, so an idle server would hold a large request's memory.
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        eprintln!("gitapi: jemalloc's background purging is off: {e}");
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let config = load(&args)?;
            // Logs take the configured format; traces go to the collector, if one is named.
            let mut telemetry = gitapi_telemetry::init(&config.telemetry)?;
            // Before the port opens: a second server on the same data directory stops here.
            let dir = gitapi_server::DataDir::open(&config)?;
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("listening on {}", config.listen))?;
            let addr = listener.local_addr()?;
            let scheme = if config.tls.is_some() {
                "https"
            } else {
                "http"
            };
            eprintln!("gitapi listening on {scheme}://{addr}");
            gitapi_server::run_in(
                dir,
                config,
                listener,
                shutdown_signal(),
                Some(source(&args)),
            )
            .await?;
            // After the drain: the last requests' spans are sent before the process ends.
            telemetry.shutdown();
        }
        Command::CheckConfig(args) => {
            let config = load(&args)?;
            println!("{config:#?}");
        }
        Command::Openapi => {
            println!("{}", gitapi_server::openapi().to_pretty_json()?);
        }
    }
    Ok(())
}
