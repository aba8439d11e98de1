//! Entry points for the compiler's WebAssembly builds. Each binding is a
//! thin layer over [`crate::compile_model`] and [`crate::compile_query`],
//! compiled only for its target.

#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
mod component;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod browser;
