//! The `jobd` binary: see the crate's documentation (`jobd --help`).

fn main() {
    jobd::main()
}
