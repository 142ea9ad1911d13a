use std::process::ExitCode;

fn main() -> ExitCode {
    let code = match meshpeers::commands::run(std::env::args_os()) {
        Ok(code) => code,
        Err(err) => meshpeers::error::report(&err),
    };
    ExitCode::from(code)
}
