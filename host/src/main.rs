//! `malloy-publisher`: serves Malloy packages over the Malloy Publisher
//! REST API.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use malloy_publisher::catalog::Catalog;
use malloy_publisher::config::{self, Options};
use malloy_publisher::db::QueryCacheSettings;
use malloy_publisher::sandbox::{Sandbox, SandboxLimits};
use malloy_publisher::server::console::Console;
use malloy_publisher::server::{self, AppState};
use malloy_publisher::telemetry;

fn main() -> ExitCode {
    let options = Options::parse();
    let telemetry = telemetry::init();

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(options));
    drop(runtime);
    telemetry.shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> anyhow::Result<()> {
    let server_config = config::load(&options)?;
    let settings = config::load_settings(&options)?;
    let wasm = compiler_wasm(&options)?;
    let sandbox = Sandbox::load(&wasm, SandboxLimits::default())?;

    // DuckDB resolves a relative path that is missing from a package
    // against the working directory, so the server runs in an empty one.
    let empty_folder = tempfile::Builder::new()
        .prefix("malloy-publisher-")
        .tempdir()?;
    std::env::set_current_dir(empty_folder.path())?;

    malloy_publisher::db::set_max_result_bytes(
        usize::try_from(options.max_response_bytes).unwrap_or(usize::MAX),
    );
    let catalog = Arc::new(
        Catalog::new(server_config, sandbox)
            .with_query_timeout(Duration::from_millis(options.query_timeout_ms))
            .with_query_cache(QueryCacheSettings::from_megabytes(
                options.query_cache_mb,
                options.query_cache_ttl_seconds,
            ))
            .with_settings(settings),
    );
    let state = AppState {
        catalog: Arc::clone(&catalog),
        default_row_limit: options.default_row_limit,
    };
    let app = server::app_with_console(state, Console::from_options(&options));

    let mut listeners = Vec::new();
    let addresses = options.listen_addresses();
    for address in &addresses {
        match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => listeners.push(listener),
            // Without --host, a missing IPv6 loopback is not fatal.
            Err(error) if options.host.is_none() && address.is_ipv6() => {
                tracing::warn!(%address, %error, "cannot listen on the IPv6 loopback")
            }
            Err(error) => anyhow::bail!("cannot listen on {address}: {error}"),
        }
    }
    tokio::spawn(async move { catalog.load_all().await });

    let (stop_sender, stop_receiver) = tokio::sync::watch::channel(false);
    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        let address = listener.local_addr()?;
        tracing::info!(%address, "listening on http://{address}");
        let mut stop = stop_receiver.clone();
        let app = app.clone();
        servers.spawn(async move {
            server::serve(listener, app, async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            })
            .await
        });
    }

    shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop_sender.send(true);
    while let Some(finished) = servers.join_next().await {
        finished??;
    }
    drop(empty_folder);
    Ok(())
}

/// Finds the compiler component: `--compiler_wasm` or MALLOY_COMPILER_WASM.
fn compiler_wasm(options: &Options) -> anyhow::Result<PathBuf> {
    let Some(path) = &options.compiler_wasm else {
        anyhow::bail!(
            "MALLOY_COMPILER_WASM is not set: run `source scripts/env.sh`, or pass \
             --compiler_wasm with the path of malloy_compiler.wasm"
        );
    };
    if !path.is_file() {
        anyhow::bail!(
            "the compiler component {} does not exist: build it with scripts/setup.sh \
             (or `cargo build -p malloy-compiler --target wasm32-wasip2 --release`)",
            path.display()
        );
    }
    Ok(path.clone())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}
