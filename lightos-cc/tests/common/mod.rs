//! Helpers the command-line test files share: running the `lightos-cc` binary and
//! reading its output.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `lightos-cc` with `args`.
pub fn cc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lightos-cc"))
        .args(args)
        .output()
        .expect("run lightos-cc")
}

/// The standard output of a run that must have succeeded.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "lightos-cc failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
