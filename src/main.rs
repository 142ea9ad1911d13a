use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(meshpeers::error::main_with(|| {
        meshpeers::commands::run(std::env::args_os())
    }))
}
