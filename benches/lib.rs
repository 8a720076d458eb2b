//! threadbutler's benchmarks live in this package's bench targets
//! (`cargo bench -p threadbutler-benches --bench mailbox`, ...); the
//! results and the machine are in `docs/benchmarks.md`. This library is
//! empty: the package exists so that criterion and rayon are dependencies
//! of the benchmarks alone.
#![forbid(unsafe_code)]
