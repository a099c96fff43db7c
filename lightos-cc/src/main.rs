//! `lightos-cc`: compile ONNX models into LightOS artifacts, run and inspect them.

use std::process::ExitCode;

fn main() -> ExitCode {
    let command = match lightos_cc::cli::parse(std::env::args_os().collect()) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let mut stdout = std::io::stdout().lock();
    match lightos_cc::cli::execute(command, &mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
