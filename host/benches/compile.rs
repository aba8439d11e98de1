//! Measures compile times on the sample models: natively (the
//! `malloy-compiler` crate called directly) and as the sandboxed component
//! through the server's wasmtime facade. Both read files and schemas
//! through a `PackageHost`, whose schema cache the warm-up call fills, so
//! the figures leave DuckDB out.
//!
//! Run it with `scripts/bench.sh` or
//! `cargo bench -p malloy-publisher --bench compile`. `BENCH_ITERATIONS`
//! sets the number of timed runs (default 30).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use malloy_compiler::{ModelOutput, Problem, QueryRequest, QuerySpec};
use malloy_publisher::db::PackageDatabase;
use malloy_publisher::package_host::PackageHost;
use malloy_publisher::sandbox::{PackageCompiler, Sandbox, SandboxLimits};

const DEFAULT_ITERATIONS: usize = 30;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("compile bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Percentiles of a set of timings.
#[derive(Debug, Clone, Copy)]
struct Timings {
    p50: Duration,
    p95: Duration,
}

impl Timings {
    /// Nearest-rank percentiles; `samples` must not be empty.
    fn of(mut samples: Vec<Duration>) -> Timings {
        samples.sort();
        let rank = |percent: usize| samples[(samples.len() * percent).div_ceil(100).max(1) - 1];
        Timings {
            p50: rank(50),
            p95: rank(95),
        }
    }

    /// Divides both figures by `count`, for a time per item.
    fn per(&self, count: usize) -> Timings {
        let count = count.max(1) as u32;
        Timings {
            p50: self.p50 / count,
            p95: self.p95 / count,
        }
    }

    fn cell(&self) -> String {
        format!("{:.3} / {:.3}", millis(self.p50), millis(self.p95))
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Times `iterations` calls of `work` after one untimed warm-up call.
fn measure<T, E: std::fmt::Display>(
    iterations: usize,
    mut work: impl FnMut() -> Result<T, E>,
) -> Result<Timings, String> {
    work().map_err(|error| error.to_string())?;
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        work().map_err(|error| error.to_string())?;
        samples.push(started.elapsed());
    }
    Ok(Timings::of(samples))
}

fn problem_text(problems: Vec<Problem>) -> String {
    problems
        .into_iter()
        .map(|problem| problem.message)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Builds a request for every view of every source, and for every named
/// query, that a model lists.
fn view_requests(model_path: &str, model: &ModelOutput) -> Vec<QueryRequest> {
    let request = |source_name: Option<String>, query_name: String| QueryRequest {
        model_path: model_path.to_string(),
        query: QuerySpec::Named {
            source_name,
            query_name,
        },
        restricted: false,
        default_row_limit: Some(1000),
    };
    let views = model.sources.iter().flat_map(|source| {
        source
            .views
            .iter()
            .map(|view| request(Some(source.name.clone()), view.name.clone()))
    });
    let queries = model
        .queries
        .iter()
        .map(|query| request(None, query.name.clone()));
    views.chain(queries).collect()
}

/// Figures for one model: the model compile and the compile of all its views.
struct ModelRow {
    label: String,
    view_count: usize,
    native_model: Result<Timings, String>,
    native_views: Result<Timings, String>,
    component_model: Option<Result<Timings, String>>,
    component_views: Option<Result<Timings, String>>,
}

fn cell(timings: Option<&Result<Timings, String>>, per_view: Option<usize>) -> String {
    match timings {
        None => "skipped".to_string(),
        Some(Err(_)) => "failed".to_string(),
        Some(Ok(timings)) => match per_view {
            Some(count) => timings.per(count).cell(),
            None => timings.cell(),
        },
    }
}

fn run() -> Result<()> {
    let iterations = match std::env::var("BENCH_ITERATIONS") {
        Ok(text) => text
            .parse::<usize>()
            .ok()
            .filter(|&count| count > 0)
            .with_context(|| format!("BENCH_ITERATIONS={text} is not a positive integer"))?,
        Err(_) => DEFAULT_ITERATIONS,
    };
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../malloy-samples");
    let wasm = std::env::var_os("MALLOY_COMPILER_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../target/wasm32-wasip2/release/malloy_compiler.wasm")
        });

    let sandbox = if wasm.is_file() {
        let started = Instant::now();
        let sandbox = Sandbox::load(&wasm, SandboxLimits::default())
            .with_context(|| format!("loading the compiler component {} failed", wasm.display()))?;
        println!(
            "component: {} loaded in {:.1} ms (machine code from wasmtime's cache when it is current)",
            wasm.display(),
            millis(started.elapsed())
        );
        Some(sandbox)
    } else {
        println!(
            "component: skipped, {} does not exist (build it with \
             `cargo build -p malloy-compiler --target wasm32-wasip2 --release`)",
            wasm.display()
        );
        None
    };

    let mut packages: Vec<PathBuf> = std::fs::read_dir(&samples)
        .with_context(|| format!("reading {} failed", samples.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.join("publisher.json").is_file())
        .collect();
    packages.sort();

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for package in &packages {
        let database = PackageDatabase::open(package)
            .with_context(|| format!("opening DuckDB for {} failed", package.display()))?;
        let host = Arc::new(PackageHost::new(Arc::new(database)));
        let component = sandbox
            .as_ref()
            .map(|sandbox| PackageCompiler::new(Arc::clone(sandbox), Arc::clone(&host)));

        let mut models: Vec<String> = std::fs::read_dir(package)?
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".malloy"))
            .collect();
        models.sort();
        let package_name = package.file_name().unwrap_or_default().to_string_lossy();

        for model_path in &models {
            let label = format!("{package_name}/{model_path}");
            let listing = malloy_compiler::compile_model(host.as_ref(), model_path);
            let requests = match &listing {
                Ok(model) => view_requests(model_path, model),
                Err(_) => Vec::new(),
            };

            let native_model = measure(iterations, || {
                malloy_compiler::compile_model(host.as_ref(), model_path).map_err(problem_text)
            });
            let native_views = measure(iterations, || {
                requests
                    .iter()
                    .try_for_each(|request| {
                        malloy_compiler::compile_query(host.as_ref(), request).map(drop)
                    })
                    .map_err(problem_text)
            });
            let component_model = component
                .as_ref()
                .map(|compiler| measure(iterations, || compiler.compile_model(model_path)));
            let component_views = component.as_ref().map(|compiler| {
                measure(iterations, || {
                    requests
                        .iter()
                        .try_for_each(|request| compiler.compile_query(request).map(drop))
                })
            });

            for (what, outcome) in [
                ("native model", Some(&native_model)),
                ("native views", Some(&native_views)),
                ("component model", component_model.as_ref()),
                ("component views", component_views.as_ref()),
            ] {
                if let Some(Err(message)) = outcome {
                    failures.push(format!("{label}, {what}: {message}"));
                }
            }
            rows.push(ModelRow {
                label,
                view_count: requests.len(),
                native_model,
                native_views,
                component_model,
                component_views,
            });
        }
    }

    println!();
    println!(
        "Compile time in milliseconds, p50 / p95 of {iterations} runs after one warm-up call."
    );
    println!("A view's time is one query compile: the time for all views divided by their number.");
    println!();
    println!(
        "| {:<22} | {:>5} | {:>17} | {:>17} | {:>17} | {:>17} |",
        "model",
        "views",
        "native model",
        "component model",
        "native per view",
        "component per view"
    );
    println!(
        "|{:-<24}|{:->7}|{:->19}|{:->19}|{:->19}|{:->20}|",
        "", "", "", "", "", ""
    );
    for row in &rows {
        println!(
            "| {:<22} | {:>5} | {:>17} | {:>17} | {:>17} | {:>18} |",
            row.label,
            row.view_count,
            cell(Some(&row.native_model), None),
            cell(row.component_model.as_ref(), None),
            cell(Some(&row.native_views), Some(row.view_count)),
            cell(row.component_views.as_ref(), Some(row.view_count)),
        );
    }
    if !failures.is_empty() {
        println!();
        println!("Failed compiles (the compiler does not support these models or views yet):");
        for failure in &failures {
            println!("  {failure}");
        }
    }
    Ok(())
}
