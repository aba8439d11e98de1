//! The compiler component under wasmtime: one engine and one compiled
//! component for the server, one sandboxed instance per package.
//!
//! Each instance has its own `Store` with a memory cap and a deadline per
//! call. Its `host` imports read from that package only (files inside the
//! package folder, schemas from the package's DuckDB), and its WASI imports
//! see an empty context: no files, no environment, no network, and stderr
//! captured in memory. A trap (memory cap, deadline, guest panic) fails the
//! call that caused it, and the next call gets a fresh instance.

mod bindings;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use malloy_compiler::{ModelOutput, Problem, QueryOutput, QueryRequest};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
    ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::package_host::PackageHost;
use bindings::{MalloyCompiler, MalloyCompilerPre};

/// How often the epoch advances; deadlines are rounded up to this.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Instances the pooling allocator reserves room for, one per package.
/// Each reserves virtual address space for its linear memory up front.
const MAX_INSTANCES: u32 = 256;

/// Bytes of guest stderr kept per instance, for panic messages.
const STDERR_CAPACITY: usize = 64 * 1024;

/// Resource limits for each package's compiler instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxLimits {
    /// Maximum size of the guest's linear memory, in bytes.
    pub memory_bytes: usize,
    /// Maximum wall-clock time of one compile call, host imports included.
    pub deadline: Duration,
}

impl Default for SandboxLimits {
    fn default() -> SandboxLimits {
        SandboxLimits {
            // Compiling the sample models takes a few MiB; the cap leaves
            // room for large models while bounding a runaway one.
            memory_bytes: 512 * 1024 * 1024,
            deadline: Duration::from_secs(10),
        }
    }
}

/// The reason a compile call failed.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The compiler rejected the model or query.
    #[error("{}", problem_summary(.0))]
    Problems(Vec<Problem>),
    /// The guest exceeded its memory cap.
    #[error("the compiler ran out of memory (limit {limit_mib} MiB)")]
    OutOfMemory { limit_mib: usize },
    /// The guest ran past its deadline.
    #[error("the compiler did not finish within {seconds:.1} s")]
    DeadlineExceeded { seconds: f64 },
    /// The guest trapped for another reason, such as a panic.
    #[error("the compiler failed: {0}")]
    Crashed(String),
}

/// Joins the messages of the errors among `problems` (of every problem if none is
/// an error), one per line.
fn problem_summary(problems: &[Problem]) -> String {
    let is_error = |problem: &&Problem| problem.severity == malloy_compiler::Severity::Error;
    let messages: Vec<&str> = if problems.iter().any(|problem| is_error(&problem)) {
        problems
            .iter()
            .filter(is_error)
            .map(|problem| problem.message.as_str())
            .collect()
    } else {
        problems
            .iter()
            .map(|problem| problem.message.as_str())
            .collect()
    };
    messages.join("\n")
}

/// The engine and the pre-instantiated compiler component, shared by all
/// packages.
pub struct Sandbox {
    engine: Engine,
    template: MalloyCompilerPre<GuestState>,
    limits: SandboxLimits,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Loads the compiler component from `wasm_path`.
    ///
    /// Compiled machine code is cached in a `wasmtime-cache` folder next to
    /// the `.wasm` file, so a restart with an unchanged component skips
    /// compilation.
    pub fn load(wasm_path: &Path, limits: SandboxLimits) -> anyhow::Result<Arc<Sandbox>> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(MAX_INSTANCES)
            .total_memories(MAX_INSTANCES * 2)
            .total_tables(MAX_INSTANCES * 8)
            .total_core_instances(MAX_INSTANCES * 8)
            .max_memory_size(limits.memory_bytes);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        if let Some(folder) = wasm_path.parent() {
            let cache_dir = folder.join("wasmtime-cache");
            let mut cache_config = CacheConfig::new();
            cache_config.with_directory(&cache_dir);
            match Cache::new(cache_config) {
                Ok(cache) => {
                    config.cache(Some(cache));
                }
                Err(error) => tracing::warn!(
                    %error,
                    cache_dir = %cache_dir.display(),
                    "compilation cache unavailable; compiling the component on every start"
                ),
            }
        }
        let engine = Engine::new(&config)?;

        let started = std::time::Instant::now();
        let component = Component::from_file(&engine, wasm_path).map_err(|error| {
            anyhow::anyhow!(
                "cannot load the compiler component {}: {error:#}",
                wasm_path.display()
            )
        })?;
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "compiler component loaded"
        );

        let mut linker = Linker::<GuestState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        MalloyCompiler::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
        let template = MalloyCompilerPre::new(linker.instantiate_pre(&component)?)?;

        spawn_epoch_ticker(&engine);
        Ok(Arc::new(Sandbox {
            engine,
            template,
            limits,
        }))
    }

    pub fn limits(&self) -> SandboxLimits {
        self.limits
    }

    fn instantiate(&self, host: &Arc<PackageHost>) -> wasmtime::Result<Instance> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
        let state = GuestState {
            host: Arc::clone(host),
            wasi,
            table: ResourceTable::new(),
            limits: GuestLimits::new(self.limits.memory_bytes),
            stderr,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(u64::MAX / 2);
        let bindings = self.template.instantiate(&mut store)?;
        Ok(Instance { store, bindings })
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is
/// dropped.
fn spawn_epoch_ticker(engine: &Engine) {
    let engine = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match engine.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        });
    if let Err(error) = spawned {
        // Without the ticker no deadline fires; compiles still work.
        tracing::error!(%error, "cannot start the epoch thread; compile deadlines are off");
    }
}

/// The data of one instance's `Store`.
struct GuestState {
    host: Arc<PackageHost>,
    wasi: WasiCtx,
    table: ResourceTable,
    limits: GuestLimits,
    stderr: MemoryOutputPipe,
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// `StoreLimits` that also records whether it denied a memory growth, so a
/// trap can be reported as running out of memory.
struct GuestLimits {
    inner: StoreLimits,
    memory_denied: bool,
}

impl GuestLimits {
    fn new(memory_bytes: usize) -> GuestLimits {
        GuestLimits {
            inner: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .trap_on_grow_failure(true)
                .build(),
            memory_denied: false,
        }
    }
}

impl ResourceLimiter for GuestLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum);
        if !matches!(allowed, Ok(true)) {
            self.memory_denied = true;
        }
        allowed
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory_denied = true;
        self.inner.memory_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

struct Instance {
    store: Store<GuestState>,
    bindings: MalloyCompiler,
}

/// The compiler of one package: a sandboxed instance whose imports see that
/// package only. Calls are serialized, because an instance runs one call at
/// a time.
pub struct PackageCompiler {
    sandbox: Arc<Sandbox>,
    host: Arc<PackageHost>,
    instance: Mutex<Option<Instance>>,
}

impl std::fmt::Debug for PackageCompiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackageCompiler")
            .field("root", &self.host.root())
            .finish_non_exhaustive()
    }
}

impl PackageCompiler {
    pub fn new(sandbox: Arc<Sandbox>, host: Arc<PackageHost>) -> PackageCompiler {
        PackageCompiler {
            sandbox,
            host,
            instance: Mutex::new(None),
        }
    }

    pub fn host(&self) -> &Arc<PackageHost> {
        &self.host
    }

    /// Compiles a model file. Blocks; call it from a blocking thread.
    #[tracing::instrument(level = "debug", skip(self), err(level = "info"))]
    pub fn compile_model(&self, model_path: &str) -> Result<ModelOutput, CompileError> {
        self.call(|instance| {
            let compiler = instance.bindings.malloy_compiler_compiler();
            compiler
                .call_compile_model(&mut instance.store, model_path)
                .map(|outcome| {
                    outcome
                        .map(bindings::model_output)
                        .map_err(bindings::problems)
                })
        })
    }

    /// Compiles a query against a model. Blocks; call it from a blocking
    /// thread.
    #[tracing::instrument(level = "debug", skip_all, fields(model = %request.model_path), err(level = "info"))]
    pub fn compile_query(&self, request: &QueryRequest) -> Result<QueryOutput, CompileError> {
        let wit_request = bindings::query_request(request);
        self.call(|instance| {
            let compiler = instance.bindings.malloy_compiler_compiler();
            compiler
                .call_compile_query(&mut instance.store, &wit_request)
                .map(|outcome| {
                    outcome
                        .map(bindings::query_output)
                        .map_err(bindings::problems)
                })
        })
    }

    /// Runs one export call on the package's instance, creating the
    /// instance first if there is none, and drops the instance if the call
    /// traps.
    fn call<T>(
        &self,
        export: impl FnOnce(&mut Instance) -> wasmtime::Result<Result<T, Vec<Problem>>>,
    ) -> Result<T, CompileError> {
        let mut slot = self.instance.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            let instance = self.sandbox.instantiate(&self.host).map_err(|error| {
                tracing::error!(error = %format!("{error:#}"), "cannot instantiate the compiler");
                CompileError::Crashed("cannot start the compiler".into())
            })?;
            *slot = Some(instance);
        }
        let Some(instance) = slot.as_mut() else {
            unreachable!("the instance was created above");
        };

        let ticks = self
            .sandbox
            .limits
            .deadline
            .as_millis()
            .div_ceil(EPOCH_TICK.as_millis())
            .max(1) as u64;
        instance.store.set_epoch_deadline(ticks);
        instance.store.data_mut().limits.memory_denied = false;
        let outcome = export(instance);
        // No deadline between calls: the epoch keeps advancing while idle.
        instance.store.set_epoch_deadline(u64::MAX / 2);

        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(problems)) => Err(CompileError::Problems(problems)),
            Err(trap) => {
                let error = self.trap_error(instance, &trap);
                tracing::warn!(error = %error, detail = %format!("{trap:#}"), "compiler trapped; its instance is replaced");
                *slot = None;
                Err(error)
            }
        }
    }

    fn trap_error(&self, instance: &Instance, trap: &wasmtime::Error) -> CompileError {
        let limits = self.sandbox.limits;
        if instance.store.data().limits.memory_denied {
            return CompileError::OutOfMemory {
                limit_mib: limits.memory_bytes / (1024 * 1024),
            };
        }
        if trap.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            return CompileError::DeadlineExceeded {
                seconds: limits.deadline.as_secs_f64(),
            };
        }
        let stderr = instance.store.data().stderr.contents();
        let reason = panic_message(&String::from_utf8_lossy(&stderr))
            .or_else(|| trap.downcast_ref::<Trap>().map(|trap| trap.to_string()))
            .unwrap_or_else(|| "internal error".to_string());
        CompileError::Crashed(reason)
    }
}

/// Extracts the message of a Rust panic from the guest's stderr: the lines
/// after `panicked at <location>:`, without the location (a source path of
/// the compiler) and without the backtrace hint.
fn panic_message(stderr: &str) -> Option<String> {
    let mut lines = stderr
        .lines()
        .skip_while(|line| !line.contains("panicked at"));
    lines.next()?;
    let message: Vec<&str> = lines
        .take_while(|line| !line.starts_with("note: "))
        .filter(|line| !line.trim().is_empty())
        .collect();
    (!message.is_empty()).then(|| message.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::panic_message;

    #[test]
    fn panic_message_drops_location_and_hint() {
        let stderr = "\nthread '<unnamed>' panicked at compiler-wasm/src/sql/expr.rs:10:5:\n\
                      index out of bounds: the len is 0\n\
                      note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("index out of bounds: the len is 0")
        );
        assert_eq!(panic_message("some other output\n"), None);
        assert_eq!(panic_message(""), None);
    }
}
