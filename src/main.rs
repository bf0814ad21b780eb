//! The `keel` binary: see `keel::cli` for the three entry points.

fn main() -> std::process::ExitCode {
    keel::cli::main_with_args(std::env::args_os())
}
