//! The reference daemon, `examples/jobd.rs`, built as a binary of this crate
//! so that the tests can run it as a process (`env!("CARGO_BIN_EXE_jobd")`):
//! the same source, compiled once more.

#[path = "../../../examples/jobd.rs"]
mod jobd;

fn main() {
    jobd::main()
}
