//! Tells the tests which `rustc` cargo builds with, so that the test of the
//! compiler's words (`the_compiler_says_which_message_type_is_not_routed`)
//! checks programs with the same compiler as the crates it links against.

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    println!("cargo:rustc-env=TB_TEST_RUSTC={rustc}");
    println!("cargo:rerun-if-env-changed=RUSTC");
}
